/* engine/version.c — acre's version and those of the libraries it runs on (acre/version.h). */
#include <gmp.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>

#include "acre/version.h"
/* engine/store_sqlite.c: the one engine file that may ask SQLite, without sqlite3.h here */
const char *acre_sqlite_version(void);

const char *acre_version(void)
{
    return ACRE_VERSION;
}

static char versions[160];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void make_versions(void)
{
    snprintf(versions, sizeof versions, "SQLite %s, GMP %s, jansson %s, OpenSSL %s",
             acre_sqlite_version(), gmp_version, jansson_version_str(),
             OpenSSL_version(OPENSSL_VERSION_STRING));
}

const char *acre_library_versions(void)
{
    pthread_once(&once, make_versions);
    return versions;
}
