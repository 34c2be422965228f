/* acre/sys/store.h — the interface a storage backend implements (for acre's own backends and
 * tests; not part of the umbrella header).
 *
 * The engine never writes SQL. It describes its tables (acre_store_tables(): every record
 * kind's table and the close's state) and the few query shapes it needs (acre_query: read rows
 * matching equalities and ranges in a given order, insert, replace, update a column, delete),
 * and a backend runs them. The SQLite backend (engine/store_sqlite*.c) turns each shape into one
 * prepared statement; another backend may keep rows in any structure, as long as it answers the
 * same shapes with the same rows in the same order. Shaped like libgit2's git_refdb_backend: a
 * version, required and optional callbacks, a `free`, and private state by embedding
 * (`struct my_backend { acre_store_backend parent; ... }`).
 *
 * Versions. A record kind's table holds every version of every record: its primary key is the
 * record's key then `seq`, the store-wide sequence number, and rows are only ever added (simulate
 * and audit --recompute change rows only inside a transaction they roll back). So "the current
 * version of a key at watermark W" is the row with the highest seq <= W, and everything a close
 * with watermark W saw can be read again later by adding "seq <= W" to a query.
 *
 * Threads. A backend handle is used by one thread at a time. `reader` (optional) gives another
 * handle, for another thread, reading the same store; the close's reader threads each take one
 * and read only versions at or below the close's watermark, so they agree with the handle that
 * made them whatever is committed meanwhile. A backend without `reader` is read on the calling
 * thread. Several processes (or handles) may write one store: `begin(.., write=1)` waits for the
 * other writers (a backend chooses how long, and fails with ACRE_EIO after that).
 *
 * Errors. Every callback returns 0 or a negative acre error code with err set; ACRE_ENOMEM when
 * memory ran out (nothing half-done is left visible: the caller rolls the transaction back). */
#ifndef ACRE_SYS_STORE_H
#define ACRE_SYS_STORE_H

#include <stddef.h>

#include "acre/error.h"
#include "acre/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2: acre_store_backend.money_cents, ACRE_COL_MONEY and ACRE_VAL_CENTS (schema 6) */
/* 4: acre_store_backend.run_sets */
#define ACRE_STORE_BACKEND_VERSION 4

/* ---- tables ---- */

/* ACRE_COL_MONEY: a record's money amount. To the core it is text like ACRE_COL_TEXT (the
 * canonical decimal ingest wrote, read back byte for byte); a backend may hold it in another
 * form (SQLite: an integer of hundredths when it fits, docs/design.md "Money as integers"). */
enum { ACRE_COL_TEXT, ACRE_COL_INT, ACRE_COL_MONEY };

typedef struct acre_column {
    const char *name;
    int type;    /* ACRE_COL_TEXT, ACRE_COL_INT or ACRE_COL_MONEY */
    int notnull; /* NULL is refused (every key column is not null) */
    int month;   /* an ACRE_COL_INT holding a month number (year*12 + month-1): the audit's
                  * messages write it YYYY-MM where it is a key column */
} acre_column;

#define ACRE_Q_MAX 24

/* A table: rows are unique on its primary key `key` (column indexes).
 *
 * A close's state table (close_period set) holds rows that a close writes beside its ledger for
 * the closes after it: every row names the period of the close that wrote it in the column
 * close_period, and undoing the closes from period P on (simulate, audit --recompute) deletes
 * its rows with close_period >= P and sets its column close_marks (when set: a column that a
 * later close fills in a row an earlier one wrote, settled.clawed_period) back to NULL where it
 * is >= P. The core's tables and every rule kind's (acre_rule_kind.tables) are such tables; the
 * audit compares them, key columns and then the others, and finds rows of periods not closed. */
typedef struct acre_table {
    const char *name;
    const acre_column *cols;
    int ncols;
    int key[ACRE_Q_MAX], nkey;
    int versioned;                 /* a record kind's table: its key ends with "seq" */
    const char *index[ACRE_Q_MAX]; /* a hint: columns worth a secondary index (NULL-ended) */
    const char *close_period;      /* a close's state table: its period column; else NULL */
    const char *close_marks;       /* a column a later close sets (period >= its own), or NULL */
} acre_table;

/* Every table the engine uses, NULL-terminated: record kinds first, in engine/validate.c's
 * order, then the store's own (counter, ingest_batch, plan, close), then the close's state: the
 * affiliates' balances (close_affiliate), every rule kind's tables (acre_rule_kind.tables, in
 * acre_rule_kinds[] order), then the customers' (close_excluded, settled, counted). Code that
 * visits the state tables visits them in this order. Static after the first call;
 * thread-safe. */
const acre_table *const *acre_store_tables(void);
/* The table named `name`, or NULL. */
const acre_table *acre_store_table(const char *name);

/* ---- values and rows ---- */

/* ACRE_VAL_CENTS: a money column's value as an integer of hundredths in `i`, returned only on a
 * handle that asks for it (acre_store_backend.money_cents) by a backend that holds money so;
 * never a parameter. */
enum { ACRE_VAL_NULL, ACRE_VAL_INT, ACRE_VAL_TEXT, ACRE_VAL_CENTS };

typedef struct acre_value {
    int type;
    long long i;   /* ACRE_VAL_INT, ACRE_VAL_CENTS */
    const char *s; /* ACRE_VAL_TEXT: n bytes, NUL-terminated; borrowed */
    size_t n;
} acre_value;

static inline acre_value acre_val_int(long long i)
{
    acre_value v = {ACRE_VAL_INT, i, 0, 0};
    return v;
}
acre_value acre_val_text(const char *s); /* NULL gives ACRE_VAL_NULL */
static inline acre_value acre_val_null(void)
{
    acre_value v = {ACRE_VAL_NULL, 0, 0, 0};
    return v;
}

/* Called for each row of a read: row[0..n) are the query's columns, borrowed until it returns.
 * Returns 0 to go on, 1 to stop (the read then returns 0), or a negative error code with err
 * set (the read then returns it). */
typedef int (*acre_row_fn)(void *ctx, const acre_value *row, int n, acre_error *err);

/* ---- queries ---- */

enum {
    ACRE_Q_SELECT,  /* rows matching `where`, columns `cols`, in `order` */
    ACRE_Q_INSERT,  /* one row: params are every column in table order; a duplicate key fails */
    ACRE_Q_REPLACE, /* as INSERT, replacing a row with the same key */
    ACRE_Q_UPDATE,  /* set columns `cols` to the first params, where the rest match `where` */
    ACRE_Q_DELETE,  /* rows matching `where` */
    /* a versioned table's records, each with its versions: every row, with seq at or below the
     * last parameter, of each record (the key but seq) that has a row matching `where`, whose
     * last condition is "seq <= ?"; columns and order as SELECT. A transaction's date is not in
     * its key, so "the transactions dated in May" is this shape with all their versions. */
    ACRE_Q_RECORDS
};

enum { ACRE_EQ, ACRE_LT, ACRE_LE, ACRE_GT, ACRE_GE, ACRE_NE, ACRE_ISNULL };

/* One condition: column `col` compared to the next parameter (ACRE_ISNULL takes none). Text
 * compares bytewise (memcmp, then length), integers as integers; NULL matches nothing but
 * ACRE_ISNULL. */
typedef struct acre_cond {
    const char *col;
    int op;
} acre_cond;

/* A query shape, made once (usually static) and run many times with different parameters. */
typedef struct acre_query {
    int kind; /* ACRE_Q_* */
    const char *table;
    const char
        *cols[ACRE_Q_MAX]; /* SELECT: the columns returned; UPDATE: the columns set; NULL-ended */
    acre_cond where[ACRE_Q_MAX];   /* ANDed; {NULL} ends */
    const char *order[ACRE_Q_MAX]; /* SELECT: sort columns (NULL-ended); none: the primary key */
    int desc;                      /* SELECT: every sort column descending */
    long limit;                    /* SELECT: at most this many rows; 0: all */
} acre_query;

typedef struct acre_stmt acre_stmt; /* a backend's prepared query */

/* ---- the backend ---- */

typedef struct acre_store_backend acre_store_backend;

enum { ACRE_SAVEPOINT, ACRE_SAVEPOINT_RELEASE, ACRE_SAVEPOINT_ROLLBACK };

struct acre_store_backend {
    unsigned int version; /* ACRE_STORE_BACKEND_VERSION */
    const char *name;     /* "sqlite", "memory", ... */

    /* Required. A transaction: write = 1 takes the store's write lock (waiting for other
     * writers); write = 0 reads one consistent snapshot. Transactions do not nest (the engine
     * nests them itself). commit makes everything since begin durable at once, or nothing;
     * rollback forgets it (and is a no-op without a transaction). Outside a transaction each
     * query is its own. */
    int (*begin)(acre_store_backend *b, int write, acre_error *err);
    int (*commit)(acre_store_backend *b, acre_error *err);
    void (*rollback)(acre_store_backend *b);

    /* Required. Prepares q (q outlives *out); run executes it with params (as many as q's
     * conditions and columns take, in order: UPDATE's set values first), calling fn for each
     * row of a SELECT (fn is NULL for the others); finalize frees it (NULL-safe). Column and
     * table names are checked at prepare (ACRE_EUSAGE for an unknown one). */
    int (*prepare)(acre_store_backend *b, const acre_query *q, acre_stmt **out, acre_error *err);
    int (*run)(acre_store_backend *b, acre_stmt *st, const acre_value *params, acre_row_fn fn,
               void *ctx, acre_error *err);
    void (*finalize)(acre_store_backend *b, acre_stmt *st);

    /* Optional (NULL: the close reads on its own thread). Another handle on the same store for
     * another thread, read-only; freed with its `free`. */
    int (*reader)(acre_store_backend *b, acre_store_backend **out, acre_error *err);
    /* Optional. The backend's own integrity check (SQLite's quick_check): fn gets each problem
     * found (none: the store is whole). */
    int (*check)(acre_store_backend *b, void (*fn)(void *ctx, const char *problem), void *ctx,
                 acre_error *err);
    /* Optional. A consistent copy of the store in the new file `dest` (0600; an existing one is
     * refused with ACRE_EUSAGE), other writers going on meanwhile; on failure no dest is left. */
    int (*backup)(acre_store_backend *b, const char *dest, acre_error *err);

    /* Optional (NULL: no group commit, acre_store_group_begin refuses). Inside a write
     * transaction: op ACRE_SAVEPOINT marks a savepoint, ACRE_SAVEPOINT_RELEASE keeps what was
     * written since it and forgets the mark, ACRE_SAVEPOINT_ROLLBACK undoes what was written
     * since it and forgets the mark. One is open at a time. */
    int (*savepoint)(acre_store_backend *b, int op, acre_error *err);

    /* Required. Frees the handle (and rolls back an open transaction). */
    void (*free)(acre_store_backend *b);

    /* Set by the engine, not the backend: 1 on a reader handle whose rows the close's readers
     * take (engine/close_read.c), 0 on every other. A backend that holds money as integers may
     * then give a money column's value as ACRE_VAL_CENTS instead of its text; one that does not
     * ignores it. */
    int money_cents;

    /* Optional (NULL: run once per set). Runs st once for each of nsets parameter sets, set i's
     * parameters at params + i * stride, in order, as that many calls of run would: fn gets
     * each set's rows, *set holding the set's index while they are given. A fn that returns 1
     * stops every set; a failure stops them too. For a backend whose each run is a round trip
     * (PostgreSQL's pipelines the sets; the close reads a chunk's customers so): the sets may
     * all run before fn sees the first one's rows, so fn must not write what a later set
     * reads. */
    int (*run_sets)(acre_store_backend *b, acre_stmt *st, const acre_value *params, int stride,
                    long nsets, long *set, acre_row_fn fn, void *ctx, acre_error *err);
};

/* A store over backend b (taken: acre_store_free frees it, also on failure). The backend's
 * tables must already exist: a backend creates every table of acre_store_tables() when it makes
 * a new store, migrates an older one, and creates any table the store lacks (a record kind or a
 * rule kind's state table added since) when it opens it. The SQLite backend writes a missing
 * table's DDL from its acre_table (engine/store_sqlite_schema.c); the in-memory one of the tests
 * makes every table at once. */
int acre_store_open_backend(acre_store **out, acre_store_backend *b, acre_error *err);

/* The SQLite backend over the file `path` (":memory:" for a private in-memory database),
 * created 0600 when missing, migrated to ACRE_SCHEMA_VERSION; acre_store_open is this and
 * acre_store_open_backend. */
int acre_sqlite_backend(acre_store_backend **out, const char *path, acre_error *err);

/* The PostgreSQL backend over the database a libpq connection URI names
 * (postgresql://USER@HOST:PORT/DB): its schema made on first use (engine/store_pg.c).
 * acre_store_open takes it for a path starting postgresql:// or postgres://. */
int acre_pg_backend(acre_store_backend **out, const char *conninfo, acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
