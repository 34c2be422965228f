/* engine/store_pg.h — what the PostgreSQL backend's files share (internal): the handle, a
 * statement, and the steps the query runners and the schema build on. engine/store_pg.c is
 * the connection, its transactions, the writes sent ahead and one statement's runs;
 * engine/store_pg_sets.c runs a statement over many parameter sets; engine/store_pg_schema.c
 * makes and checks the schema. */
#ifndef ACRE_ENGINE_STORE_PG_H
#define ACRE_ENGINE_STORE_PG_H

#include <libpq-fe.h>

#include "record.h"
#include "store_int.h"

/* pg_advisory_xact_lock's keys ("acre", 1): one writer at a time, waited for at most 5 minutes
 * (a writer here takes longer than SQLite's: a round trip per record; SQLite waits 30 s) */
#define WRITE_LOCK "pg_advisory_xact_lock(1634887013, 1)"
#define MAX_MONTHS 512 /* partitions remembered as made, per handle */
#define MAX_CACHED 256 /* statements kept prepared, per connection */

/* A statement prepared on the connection and kept: PostgreSQL keeps a prepared statement for
 * the session (a rollback does not undo it), so a query shape run again is not prepared again,
 * which saves two round trips (PREPARE, DEALLOCATE) of every acre_store_query. */
typedef struct pg_cached {
    char *sql;
    unsigned long hash;
    long id;
    int nparams;
    long gen; /* the connection it was prepared on (pg_backend.gen) */
} pg_cached;

typedef struct pg_backend {
    acre_store_backend parent;
    PGconn *db;
    char *conninfo;
    long next_stmt;
    long next_cursor; /* cursor_read's names */
    int in_tx;
    int months[2][MAX_MONTHS]; /* partitions known made: gaming, trading */
    int nmonths[2];
    pg_cached cache[MAX_CACHED];
    int ncache;
    long gen; /* connections made: a reconnection (reconnect) forgets every prepared statement */
    char snapshot[64]; /* a reader's: the close's exported snapshot, imported by begin */
    int pending;       /* writes sent ahead, their answers not read (drain) */
    /* plain inserts into one table held to go as one statement (store_pg.c, wb_flush): each
     * column's values so far, elements of an array literal */
    const acre_table *wb_t;
    int wb_rows;
    acre_buf wb_lit[ACRE_Q_MAX];
    int pipe_failed;     /* one of them failed: every step fails until a rollback */
    acre_error pipe_err; /* the first of them that failed */
} pg_backend;

struct acre_stmt {
    char name[32];
    const acre_query *q;
    const acre_table *t;
    int nparams, ncols;
    int part;       /* an INSERT into a partitioned table: 0 gaming, 1 trading; else -1 */
    int date_param; /* its date's parameter */
    int ci;         /* kept prepared on the connection: its pg_cached (finalize keeps it); or -1 */
    long gen;       /* not kept (ci -1): the connection it was prepared on */
    unsigned char is_int[ACRE_Q_MAX];
};

/* One run's parameters as libpq takes them: text, NUL-terminated. */
typedef struct pg_params {
    const char *vals[ACRE_MAX_COLS + 8];
    int lens[ACRE_MAX_COLS + 8];
    char ints[ACRE_MAX_COLS + 8][24];
    char *copies[ACRE_MAX_COLS + 8];
    int n;
} pg_params;

int acre_pg_fail(pg_backend *pb, const char *what, acre_error *err);
/* sql run (a round trip) after what was sent ahead: 0, or the failure, `what` naming it */
int acre_pg_exec(pg_backend *pb, const char *sql, const char *what, acre_error *err);
/* The answers of the writes sent ahead read: 0, or the first failure among them (then every
 * step fails until a rollback). drain_keep: the last query sent's result kept in *keep. */
int acre_pg_drain(pg_backend *pb, acre_error *err);
int acre_pg_drain_keep(pg_backend *pb, PGresult **keep, acre_error *err);
/* A pipeline's results up to its sync, in order, into res[0..cap) (*got of them). 0, or -1
 * when the connection ended before the sync. */
int acre_pg_pipe_results(pg_backend *pb, PGresult **res, int cap, int *got);
/* Outside a transaction, a connection known dropped made again. */
int acre_pg_revive(pg_backend *pb, acre_error *err);
/* s prepared on this connection (again, after a reconnection). */
int acre_pg_ensure(pg_backend *pb, acre_stmt *s, acre_error *err);
int acre_pg_params(pg_params *p, const acre_stmt *s, const acre_value *params, acre_error *err);
void acre_pg_params_free(pg_params *p);
int acre_pg_ok(PGresult *r);
/* Appends text s[0..n) (NULL: SQL's NULL) to b as an array literal's element, its quote and
 * backslash escaped. */
void acre_pg_array_elem(acre_buf *b, const char *s, size_t n);
int acre_pg_result_fail(const acre_stmt *s, PGresult *r, acre_error *err);
/* r's rows [from, to) (to -1: to the last), their columns from column `col0` on, to fn: 0,
 * fn's negative code, or 1 when fn stopped. */
int acre_pg_deliver(const acre_stmt *s, PGresult *r, int from, int to, int col0, acre_row_fn fn,
                    void *ctx, acre_error *err);
/* The backend's run and run_sets (acre_store_backend). */
int acre_pg_run(acre_store_backend *b, acre_stmt *s, const acre_value *params, acre_row_fn fn,
                void *ctx, acre_error *err);
int acre_pg_run_sets(acre_store_backend *b, acre_stmt *s, const acre_value *params, int stride,
                     long nsets, long *set, acre_row_fn fn, void *ctx, acre_error *err);
/* The database's schema checked, and made or migrated; create 0: a database without acre's
 * schema is a missing store (SPEC 13). */
int acre_pg_schema(pg_backend *pb, int create, acre_error *err);

#endif
