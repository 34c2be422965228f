/* acre/version.h — which acre this is, and what it runs on. */
#ifndef ACRE_VERSION_H
#define ACRE_VERSION_H

/* The version of these headers (CMakeLists.txt reads it from here: one place to change). */
#define ACRE_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library linked, ACRE_VERSION when it was built: a program built against
 * other headers can tell. */
const char *acre_version(void);

/* The versions of the libraries acre runs on, as loaded at run time, e.g. "SQLite 3.40.1, GMP
 * 6.2.1, jansson 2.14, OpenSSL 3.0.19" (a static string). */
const char *acre_library_versions(void);

#ifdef __cplusplus
}
#endif

#endif
