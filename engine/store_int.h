/* engine/store_int.h — the store as the engine's files use it (internal): a backend
 * (include/acre/sys/store.h) with nested transactions and helpers for running query shapes. No
 * SQL here: the SQLite backend is engine/store_sqlite*.c. */
#ifndef ACRE_ENGINE_STORE_INT_H
#define ACRE_ENGINE_STORE_INT_H

#include "acre/store.h"
#include "acre/sys/store.h"
#include "jsonval.h"

struct acre_store {
    acre_store_backend *b;
    int depth;   /* nested acre_store_begin calls open */
    int writing; /* the open transaction is a write transaction */
    int broken;  /* an inner transaction rolled back: the outermost can only roll back */
    /* The ledger key (engine/ledger_key.c), as HMAC uses it: a key longer than SHA-256's block
     * is its SHA-256 (RFC 2104), so 64 bytes hold any key. ledger_key_len 0: no key. */
    unsigned char ledger_key[64];
    size_t ledger_key_len;
};

/* A write transaction (waiting for other writers), or a read transaction (one snapshot).
 * Transactions nest: only the outermost commits, and a rollback inside makes the outermost
 * commit fail (its caller then rolls back). A failed commit ends its own level (the outermost's
 * rolls everything back), so its caller does not roll back after it. An inner rollback does not
 * undo the inner level's writes until the outermost rolls back: after one, the outer caller
 * may only roll back. simulate and audit --recompute compute inside a
 * write transaction they roll back, so nothing of theirs is ever written. */
int acre_store_begin(acre_store *s, acre_error *err);
int acre_store_begin_read(acre_store *s, acre_error *err);
int acre_store_commit(acre_store *s, acre_error *err);
void acre_store_rollback(acre_store *s);

/* Query shapes (acre_query): prepare once, run with parameters, finalize. acre_store_run
 * prefixes a failure of the store itself (not of fn) with `what` ("storing a plan: ..."). */
int acre_store_stmt(acre_store *s, const acre_query *q, acre_stmt **st, acre_error *err);
int acre_store_run(acre_store *s, acre_stmt *st, const acre_value *params, acre_row_fn fn,
                   void *ctx, const char *what, acre_error *err);
void acre_store_done(acre_store *s, acre_stmt *st);
/* The three at once. */
int acre_store_query(acre_store *s, const acre_query *q, const acre_value *params, acre_row_fn fn,
                     void *ctx, const char *what, acre_error *err);
/* *v = the first column of the first row when it is an integer (else *v is left). */
int acre_store_int(acre_store *s, const acre_query *q, const acre_value *params, long long *v,
                   const char *what, acre_error *err);

/* Every row of a query, kept: row i is v + i * ncol, its texts in `text`. */
typedef struct acre_rows {
    acre_value *v;
    int ncol;
    long n, cap;
    acre_buf text;
} acre_rows;

int acre_store_rows(acre_store *s, const acre_query *q, const acre_value *params, acre_rows *r,
                    const char *what, acre_error *err);
/* The same with a prepared shape. */
int acre_store_rows_stmt(acre_store *s, acre_stmt *st, const acre_value *params, acre_rows *r,
                         const char *what, acre_error *err);
static inline const acre_value *acre_row(const acre_rows *r, long i)
{
    return r->v + i * r->ncol;
}
void acre_rows_free(acre_rows *r);

/* The sequence counter: the highest seq given so far. */
int acre_store_seq(acre_store *s, long long *seq, acre_error *err);
int acre_store_set_seq(acre_store *s, long long seq, acre_error *err);
/* Counter `name`'s value into *v, which is left as it is when the store has no such counter
 * (log_from and log_after: docs/design.md "An incremental close"). */
int acre_store_counter(acre_store *s, const char *name, long long *v, acre_error *err);

/* Whether the store gives reader handles for other threads (acre_store_reader). */
int acre_store_parallel(const acre_store *s);
/* *out = a read-only store on the same data, for another thread; acre_store_free it. */
int acre_store_reader(acre_store *s, acre_store **out, acre_error *err);

/* The backend's integrity check: fn gets each problem (none: whole). 0 without a check. */
int acre_store_check(acre_store *s, void (*fn)(void *ctx, const char *problem), void *ctx,
                     acre_error *err);

/* Column index by name in t, or -1 (engine/store_schema.c). */
int acre_table_col(const acre_table *t, const char *name);

#endif
