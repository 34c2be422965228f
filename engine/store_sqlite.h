/* engine/store_sqlite.h — the SQLite backend's insides, shared by its files (internal). The
 * only engine header that includes sqlite3.h; only engine/store_sqlite*.c include it. */
#ifndef ACRE_ENGINE_STORE_SQLITE_H
#define ACRE_ENGINE_STORE_SQLITE_H

#include <sqlite3.h>

#include "acre/sys/store.h"

/* Statements done with and kept for the next prepare of the same SQL: SQLite's prepare is most
 * of what a short query costs (a server's token check, an ingest batch's statements). */
#define ACRE_SQLITE_CACHED 32

typedef struct sqlite_backend {
    acre_store_backend parent;
    sqlite3 *db;
    int committing; /* commit() is committing: the commit guard lets it through */
    int reader;     /* a read-only handle for a reader thread */
    acre_stmt *cached[ACRE_SQLITE_CACHED]; /* reset, oldest first */
    int ncached;
} sqlite_backend;

/* Sets err from the connection's last error, prefixed with `what`: ACRE_ENOMEM when SQLite ran
 * out of memory, else ACRE_EIO. */
int acre_sqlite_fail(sqlite3 *db, const char *what, acre_error *err);

/* Runs one statement without parameters or rows. */
int acre_sqlite_exec(sqlite3 *db, const char *sql, acre_error *err);

/* The query callbacks (engine/store_sqlite_query.c). */
int acre_sqlite_prepare(acre_store_backend *b, const acre_query *q, acre_stmt **out,
                        acre_error *err);
int acre_sqlite_run(acre_store_backend *b, acre_stmt *st, const acre_value *params, acre_row_fn fn,
                    void *ctx, acre_error *err);
void acre_sqlite_finalize(acre_store_backend *b, acre_stmt *st);
/* SQLite's version as loaded (sqlite3_libversion), for acre_library_versions. */
const char *acre_sqlite_version(void);
/* Finalizes the kept statements: before the connection is closed. */
void acre_sqlite_uncache(sqlite_backend *sb);

/* The schema (engine/store_sqlite_schema.c): reads the schema version, refuses a foreign file,
 * creates or migrates to ACRE_SCHEMA_VERSION, and creates the table of any record kind added
 * since. */
int acre_sqlite_schema(sqlite3 *db, const char *path, acre_error *err);

/* The connection of s when its backend is SQLite's, else NULL: for the tests that look at the
 * SQLite tables themselves (tests/test_ingest.c). */
struct acre_store;
sqlite3 *acre_sqlite_db(struct acre_store *s);

#endif
