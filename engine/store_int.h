/* engine/store_int.h — the store as the engine's files use it (internal): a backend
 * (include/acre/sys/store.h) with nested transactions and helpers for running query shapes. No
 * SQL here: the SQLite backend is engine/store_sqlite*.c. */
#ifndef ACRE_ENGINE_STORE_INT_H
#define ACRE_ENGINE_STORE_INT_H

#include "acre/store.h"
#include "acre/sys/store.h"
#include "jsonval.h"
#include "strset.h"

/* Ids of a table found stored by earlier batches (engine/ingest.c's reference checks). */
#define ACRE_KNOWN_TABLES 4
#define ACRE_KNOWN_MAX 1000000 /* ids kept per table at most: past it the table's are forgotten */
typedef struct acre_known {
    const char *table; /* static (an acre_kind's) */
    acre_strset ids;
} acre_known;

struct acre_store {
    acre_store_backend *b;
    int depth;   /* nested acre_store_begin calls open */
    int writing; /* the open transaction is a write transaction */
    int broken;  /* an inner transaction rolled back: the outermost can only roll back */
    int group;   /* the outermost is a group (acre_store_group_begin): each level 2 a savepoint */
    int group_broken; /* a savepoint could not be released or rolled back: the group fails */
    /* Records are never deleted, so an id found stored stays stored: a batch's reference checks
     * remember the ids they found here when it commits, and the next batch on this handle asks
     * the store only for the others (the HTTP API writes a thousand records a batch). Forgotten
     * whenever anything rolls back, since an id found may have been written by what rolled
     * back. */
    acre_known known[ACRE_KNOWN_TABLES];
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

/* 1 when an earlier batch on s found the id stored in table, else 0. */
int acre_store_known(const acre_store *s, const char *table, const char *id, size_t len);
/* Remembers the ids a batch found stored in table (its commit has succeeded); 0 or ACRE_ENOMEM
 * (then nothing more is remembered for table). */
int acre_store_know(acre_store *s, const char *table, const acre_strset *ids);
/* Forgets every id remembered (anything rolled back). */
void acre_store_forget(acre_store *s);

/* Query shapes (acre_query): prepare once, run with parameters, finalize. acre_store_run
 * prefixes a failure of the store itself (not of fn) with `what` ("storing a plan: ..."). */
int acre_store_stmt(acre_store *s, const acre_query *q, acre_stmt **st, acre_error *err);
int acre_store_run(acre_store *s, acre_stmt *st, const acre_value *params, acre_row_fn fn,
                   void *ctx, const char *what, acre_error *err);
/* st run for each of nsets parameter sets (set i's at params + i * stride), in order, *set the
 * index of the set whose rows fn is given (acre_store_backend.run_sets; else a run a set). fn
 * returning 1 stops every set. */
int acre_store_run_sets(acre_store *s, acre_stmt *st, const acre_value *params, int stride,
                        long nsets, long *set, acre_row_fn fn, void *ctx, const char *what,
                        acre_error *err);
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

/* The PostgreSQL backend (engine/store_pg.c); create 0: a database without acre's schema is
 * refused (rule "missing_store") and nothing is written. */
int acre_pg_open(acre_store_backend **out, const char *conninfo, int create, acre_error *err);

/* Column index by name in t, or -1 (engine/store_schema.c). */
int acre_table_col(const acre_table *t, const char *name);

#endif
