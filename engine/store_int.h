/* engine/store_int.h — the store's insides, shared by the engine's files (internal). */
#ifndef ACRE_ENGINE_STORE_INT_H
#define ACRE_ENGINE_STORE_INT_H

#include <sqlite3.h>

#include "acre/store.h"

struct acre_store {
    sqlite3 *db;
    int committing; /* acre_store_commit is committing: the commit guard lets it through */
    /* The ledger key (engine/ledger_key.c), as HMAC uses it: a key longer than SHA-256's block
     * is its SHA-256 (RFC 2104), so 64 bytes hold any key. ledger_key_len 0: no key. */
    unsigned char ledger_key[64];
    size_t ledger_key_len;
};

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

/* Begins a write transaction, waiting for other writers up to the busy timeout. */
int acre_store_begin(acre_store *s, acre_error *err);
/* Commits the transaction acre_store_begin began; the only way anything is committed once the
 * store is open (see commit_guard in store.c). */
int acre_store_commit(acre_store *s, acre_error *err);
void acre_store_rollback(acre_store *s);

/* *out = a private in-memory copy of s, its commit guard off (simulate, audit --recompute). */
int acre_store_copy_memory(acre_store **out, acre_store *s, acre_error *err);

#endif
