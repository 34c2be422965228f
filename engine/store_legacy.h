/* engine/store_legacy.h — TRANSITIONAL (issue 17): SQL run directly on the SQLite backend's
 * connection, for the engine files not yet moved behind the backend interface. Each works only
 * on a SQLite store. A file that includes this is on the list in docs/ARCHITECTURE.md "The
 * store"; when the list is empty this header goes. */
#ifndef ACRE_ENGINE_STORE_LEGACY_H
#define ACRE_ENGINE_STORE_LEGACY_H

#include <sqlite3.h>

#include "store_int.h"

/* Prepares sql into *st, filling err with SQLite's message on failure. */
int acre_store_prepare(acre_store *s, sqlite3_stmt **st, const char *sql, acre_error *err);

/* Makes every text column of st's current row readable: sqlite3_column_text copies a value
 * that is not yet terminated, and returns NULL if that copy fails. After this returns 0 it
 * returns each text column without allocating. Returns 0, or ACRE_ENOMEM. */
int acre_store_row(acre_store *s, sqlite3_stmt *st, acre_error *err);

/* Runs one statement without parameters. */
int acre_store_exec(acre_store *s, const char *sql, acre_error *err);

/* Sets err from SQLite's last error, prefixed with `what`; returns ACRE_ENOMEM if SQLite ran out
 * of memory, else ACRE_EIO. */
int acre_store_fail(acre_store *s, const char *what, acre_error *err);

/* *out = a private in-memory copy of s, its commit guard off (simulate, audit --recompute). */
int acre_store_copy_memory(acre_store **out, acre_store *s, acre_error *err);

#endif
