/* engine/store_pg.c — the PostgreSQL backend (SPEC 13, issue 22; docs/store-backends.md), on
 * libpq: a store is one database, named by --db postgresql://...
 *
 * Every query shape is one prepared statement (PQprepare, its SQL from engine/store_sql.c),
 * every value a text parameter (its run over many sets, engine/store_pg_sets.c, its cursor,
 * cursor_read, and inserts sent 256 rows at once, wb_flush, are unnamed ones: PQexecParams,
 * values as parameters still). Text columns
 * are COLLATE "C", so that ORDER BY sorts bytes as SQLite does and the ledgers are the same bytes;
 * money columns are text, the exact decimal acre wrote. A write transaction takes an advisory lock
 * first: writers are serialized as SQLite serializes them, across every process on the database.
 * Gaming and trading activity are partitioned by month (declarative partitioning), each month's
 * partition made the first time a row of that month is stored. The schema is made on first use. */
#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "number.h"
#include "store_sql.h"

int acre_pg_fail(pg_backend *pb, const char *what, acre_error *err)
{
    const char *m = PQerrorMessage(pb->db);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    return acre_error_set(err, ACRE_EIO, NULL, "store", "%s: %.*s", what, (int)n, m);
}

/* ---- writes sent ahead ---- */

/* A write transaction's inserts are sent without waiting for their answers (libpq's pipeline
 * mode), up to PIPE_WRITES at once: an ingest's inserts cost no round trip of their own. Their
 * answers are read (drain) before anything else goes to the server, so every read sees them
 * and the first failure among them fails that next step: a commit then rolls the transaction
 * back, a savepoint's release rolls its batch back. */
#define PIPE_WRITES 256

/* A pipeline's results up to its sync, in order, into res[0..cap) (*got of them; any past cap
 * cleared). 0, or -1 when the connection ended before the sync. */
int acre_pg_pipe_results(pg_backend *pb, PGresult **res, int cap, int *got)
{
    int nulls = 0;
    *got = 0;
    for (;;) {
        PGresult *r = PQgetResult(pb->db);
        if (!r) { /* each query's results end with a NULL; two in a row: nothing more comes */
            if (++nulls > 1 || PQstatus(pb->db) == CONNECTION_BAD)
                return -1;
            continue;
        }
        nulls = 0;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return 0;
        }
        if (*got < cap)
            res[(*got)++] = r;
        else
            PQclear(r);
    }
}

/* The first failure of what was sent ahead, kept as the cause (the rest follow from it). */
static void pipe_failure(pg_backend *pb, PGresult *r)
{
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(pb->db);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    if (!pb->pipe_failed)
        acre_error_set(&pb->pipe_err, ACRE_EIO, NULL, "store", "writing: %.*s", (int)n,
                       n ? m : "a write failed");
    pb->pipe_failed = 1; /* until the rollback */
}

/* Plain inserts into one table, up to WB_ROWS, go as one statement over arrays of their
 * values, INSERT INTO t(...) SELECT * FROM unnest($1::text[], ...): a row costs the server
 * about half what a statement a row did (its planning and executor start-up: 12 us a row; one
 * INSERT ... SELECT of 100,000 rows, 6.5 us). Held rows go before anything else is sent
 * (wb_flush from drain and from run_once), so every read sees them and the order of the
 * statements is kept; a rollback drops them (wb_forget). */
#define WB_ROWS 256

static void wb_forget(pg_backend *pb)
{
    for (int i = 0; i < ACRE_Q_MAX; i++) {
        acre_buf_reset(&pb->wb_lit[i]);
        pb->wb_lit[i].oom = 0;
    }
    pb->wb_rows = 0;
    pb->wb_t = NULL;
}

static int wb_flush(pg_backend *pb, acre_error *err)
{
    static const char *const types[] = {"text", "bigint", "text"};
    const acre_table *t = pb->wb_t;
    const char *vals[ACRE_Q_MAX];
    acre_buf sql = {0};
    int rc = 0, oom = 0;
    if (!pb->wb_rows)
        return 0;
    acre_buf_printf(&sql, "INSERT INTO \"%s\"(", t->name);
    for (int i = 0; i < t->ncols; i++)
        acre_buf_printf(&sql, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
    acre_buf_adds(&sql, ") SELECT * FROM unnest(");
    for (int i = 0; i < t->ncols; i++) {
        acre_buf_printf(&sql, "%s$%d::%s[]", i ? ", " : "", i + 1, types[t->cols[i].type]);
        acre_buf_adds(&pb->wb_lit[i], "}");
        oom |= pb->wb_lit[i].oom;
        vals[i] = pb->wb_lit[i].p;
    }
    acre_buf_adds(&sql, ")");
    if (oom || sql.oom)
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    else if (!pb->pending && !PQenterPipelineMode(pb->db))
        rc = acre_pg_fail(pb, "writing", err);
    else if (!PQsendQueryParams(pb->db, sql.p, t->ncols, NULL, vals, NULL, NULL, 0))
        rc = acre_pg_fail(pb, "writing", err);
    else
        pb->pending++;
    acre_buf_free(&sql);
    wb_forget(pb);
    return rc;
}

/* keep: the last query sent's result, kept for the caller in *keep (a read sent after the
 * writes, in the same round trip), NULL when it failed */
int acre_pg_drain_keep(pg_backend *pb, PGresult **keep, acre_error *err)
{
    PGresult *res[PIPE_WRITES + 1];
    int failed = 0, want, got = 0;
    acre_error held;
    if (keep)
        *keep = NULL;
    if (pb->wb_rows && wb_flush(pb, &held)) { /* failed as a write sent ahead fails */
        if (!pb->pipe_failed)
            pb->pipe_err = held;
        pb->pipe_failed = 1;
    }
    want = pb->pending;
    if (!pb->pending && !pb->pipe_failed)
        return 0;
    if (pb->pending) {
        pb->pending = 0;
        if (!PQpipelineSync(pb->db))
            failed = 1, pipe_failure(pb, NULL);
        if (acre_pg_pipe_results(pb, res, PIPE_WRITES + 1, &got) && !failed && got < want)
            failed = 1, pipe_failure(pb, NULL);
        for (int i = 0; i < got; i++) {
            if (keep && i == want - 1 && !failed) {
                *keep = res[i]; /* the read's */
                continue;
            }
            if (!failed && PQresultStatus(res[i]) != PGRES_COMMAND_OK)
                failed = 1, pipe_failure(pb, res[i]);
            PQclear(res[i]);
        }
        if (!PQexitPipelineMode(pb->db) && !failed)
            failed = 1, pipe_failure(pb, NULL);
        if (!failed)
            return 0;
    }
    if (keep && *keep) {
        PQclear(*keep);
        *keep = NULL;
    }
    if (err)
        *err = pb->pipe_err;
    return ACRE_EIO;
}

int acre_pg_drain(pg_backend *pb, acre_error *err)
{
    return acre_pg_drain_keep(pb, NULL, err);
}

/* Reads what was sent ahead and forgets whether it failed: before a rollback. */
static void drain_forget(pg_backend *pb)
{
    wb_forget(pb); /* held rows die with the rollback */
    acre_pg_drain(pb, NULL);
    pb->pipe_failed = 0;
}

int acre_pg_exec(pg_backend *pb, const char *sql, const char *what, acre_error *err)
{
    PGresult *r;
    int rc;
    if ((rc = acre_pg_drain(pb, err)))
        return rc;
    r = PQexec(pb->db, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok ? 0 : acre_pg_fail(pb, what, err);
}

/* ---- transactions ---- */

static int reconnect(pg_backend *pb, acre_error *err);

/* Outside a transaction, a connection known dropped is made again before anything is sent on
 * it (nothing is in flight, so nothing is lost). */
int acre_pg_revive(pg_backend *pb, acre_error *err)
{
    return !pb->in_tx && PQstatus(pb->db) == CONNECTION_BAD ? reconnect(pb, err) : 0;
}

static int begin(acre_store_backend *b, int write, acre_error *err)
{
    pg_backend *pb = (pg_backend *)b;
    const char *sql = write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    char lock[160];
    int rc;
    /* a connection the server dropped (it restarted) is made again before a transaction, and
     * once more if BEGIN finds it dropped: nothing was in flight */
    if (PQstatus(pb->db) == CONNECTION_BAD && (rc = reconnect(pb, err)))
        return rc;
    if ((rc = acre_pg_exec(pb, sql, "beginning a transaction", err)) &&
        PQstatus(pb->db) == CONNECTION_BAD && !(rc = reconnect(pb, err)))
        rc = acre_pg_exec(pb, sql, "beginning a transaction", err);
    if (rc)
        return rc;
    pb->in_tx = 1;
    if (!write && pb->snapshot[0]) {
        /* the close's snapshot (reader()); once it has ended, this reader's own */
        char sql[128];
        snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", pb->snapshot);
        if (acre_pg_exec(pb, sql, "importing the close's snapshot", NULL)) {
            pb->snapshot[0] = 0;
            acre_pg_exec(pb, "ROLLBACK", "rolling back", NULL);
            if ((rc = acre_pg_exec(pb, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                                   "beginning a transaction", err))) {
                pb->in_tx = 0;
                return rc;
            }
        }
    }
    snprintf(lock, sizeof lock, "SET LOCAL lock_timeout = '300s'; SELECT %s", WRITE_LOCK);
    if (write && (rc = acre_pg_exec(pb, lock, "waiting for the write lock", err))) {
        acre_pg_exec(pb, "ROLLBACK", "rolling back", NULL);
        pb->in_tx = 0;
    }
    return rc;
}

static int commit(acre_store_backend *b, acre_error *err)
{
    pg_backend *pb = (pg_backend *)b;
    PGresult *r;
    int done, ok, rc;
    if ((rc = acre_pg_drain(pb, err))) { /* a write failed: the transaction is gone */
        drain_forget(pb);
        acre_pg_exec(pb, "ROLLBACK", "rolling back", NULL);
        pb->in_tx = 0;
        pb->nmonths[0] = pb->nmonths[1] = 0;
        return rc;
    }
    r = PQexec(pb->db, "COMMIT");
    /* a transaction that failed part way "commits" as a rollback: that is a failure here */
    done = PQresultStatus(r) == PGRES_COMMAND_OK;
    ok = done && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    PQclear(r);
    pb->in_tx = 0;
    if (!ok)
        pb->nmonths[0] = pb->nmonths[1] = 0; /* its partitions may be gone with it */
    if (ok)
        return 0;
    if (done)
        return acre_error_set(err, ACRE_EIO, NULL, "store",
                              "committing: the transaction had failed and was rolled back");
    return acre_pg_fail(pb, "committing (whether it was stored is not known)", err);
}

static void rollback(acre_store_backend *b)
{
    pg_backend *pb = (pg_backend *)b;
    drain_forget(pb); /* what failed there is rolled back with the rest */
    if (pb->in_tx)
        acre_pg_exec(pb, "ROLLBACK", "rolling back", NULL);
    pb->in_tx = 0;
    /* a partition made in the transaction is gone with it: made again (IF NOT EXISTS) */
    pb->nmonths[0] = pb->nmonths[1] = 0;
}

static int savepoint(acre_store_backend *b, int op, acre_error *err)
{
    pg_backend *pb = (pg_backend *)b;
    if (op == ACRE_SAVEPOINT)
        return acre_pg_exec(pb, "SAVEPOINT acre", "a savepoint", err);
    if (op == ACRE_SAVEPOINT_RELEASE)
        return acre_pg_exec(pb, "RELEASE SAVEPOINT acre", "a savepoint", err);
    pb->nmonths[0] = pb->nmonths[1] = 0; /* as rollback() */
    drain_forget(pb);                    /* the batch's failed write goes with it */
    return acre_pg_exec(pb, "ROLLBACK TO SAVEPOINT acre; RELEASE SAVEPOINT acre", "a savepoint",
                        err);
}

/* ---- queries ---- */

static unsigned long sql_hash(const char *p)
{
    unsigned long h = 5381;
    while (*p)
        h = h * 33 + (unsigned char)*p++;
    return h;
}

static int prepare(acre_store_backend *b, const acre_query *q, acre_stmt **out, acre_error *err)
{
    pg_backend *pb = (pg_backend *)b;
    const acre_table *t = acre_store_table(q->table);
    acre_buf sql = {0};
    acre_stmt *s;
    PGresult *r;
    unsigned long hash;
    long id;
    int rc, np, nc;

    *out = NULL;
    if (!t)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "query on %s: no table %s", q->table,
                              q->table);
    if ((rc = acre_pg_revive(pb, err)))
        return rc;
    if ((rc = acre_sql_build(&sql, &acre_sql_postgres, t, q, &np, &nc, err))) {
        acre_buf_free(&sql);
        return rc;
    }
    if (sql.oom || !(s = acre_calloc(1, sizeof *s))) {
        acre_buf_free(&sql);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    s->q = q;
    s->t = t;
    s->nparams = np;
    s->ncols = nc;
    s->part = -1;
    for (int i = 0; i < nc; i++)
        s->is_int[i] = t->cols[acre_table_col(t, q->cols[i])].type == ACRE_COL_INT;
    if (q->kind == ACRE_Q_INSERT &&
        (strcmp(t->name, "gaming_activity") == 0 || strcmp(t->name, "trading_activity") == 0)) {
        s->part = t->name[0] == 'g' ? 0 : 1;
        s->date_param = acre_table_col(t, "date");
    }
    hash = sql_hash(sql.p);
    for (int i = 0; i < pb->ncache; i++)
        if (pb->cache[i].hash == hash && strcmp(pb->cache[i].sql, sql.p) == 0) {
            snprintf(s->name, sizeof s->name, "acre%ld", pb->cache[i].id);
            s->ci = i;
            acre_buf_free(&sql);
            *out = s;
            return 0;
        }
    s->ci = -1;
    s->gen = pb->gen;
    if ((rc = acre_pg_drain(pb, err))) { /* PQprepare is not for pipeline mode */
        acre_buf_free(&sql);
        free(s);
        return rc;
    }
    id = pb->next_stmt++;
    snprintf(s->name, sizeof s->name, "acre%ld", id);
    r = PQprepare(pb->db, s->name, sql.p, np, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        PQclear(r);
        acre_buf_free(&sql);
        free(s);
        return acre_pg_fail(pb, "preparing a statement", err);
    }
    PQclear(r);
    if (pb->ncache < MAX_CACHED) { /* full: prepared for this use only, as before */
        pb->cache[pb->ncache] = (pg_cached){sql.p, hash, id, np, pb->gen};
        s->ci = pb->ncache++;
        sql.p = NULL; /* kept by the cache */
    }
    acre_buf_free(&sql);
    *out = s;
    return 0;
}

/* s prepared on this connection: a kept statement prepared on one that was lost is prepared
 * again under its name (after reconnect). */
int acre_pg_ensure(pg_backend *pb, acre_stmt *s, acre_error *err)
{
    pg_cached *c;
    PGresult *r;
    int rc;
    if (s->ci < 0 || (c = &pb->cache[s->ci])->gen == pb->gen)
        return 0;
    if ((rc = acre_pg_drain(pb, err)))
        return rc;
    r = PQprepare(pb->db, s->name, c->sql, c->nparams, NULL);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : acre_pg_fail(pb, "preparing a statement", err);
    PQclear(r);
    if (!rc)
        c->gen = pb->gen;
    return rc;
}

/* The month partition of table `part` for the date text d ("YYYY-MM-DD"), made if missing. */
static int partition(pg_backend *pb, int part, const char *d, size_t n, acre_error *err)
{
    static const char *const names[2] = {"gaming_activity", "trading_activity"};
    char sql[400];
    int y, m, ym;
    if (n < 7 || sscanf(d, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12)
        return 0; /* not a date: the insert says so */
    ym = y * 12 + m - 1;
    for (int i = 0; i < pb->nmonths[part]; i++)
        if (pb->months[part][i] == ym)
            return 0;
    if (ym + 1 >= 10000 * 12) /* December 9999: no month after it */
        snprintf(sql, sizeof sql,
                 "CREATE TABLE IF NOT EXISTS \"%s_%04d_%02d\" PARTITION OF \"%s\" FOR VALUES "
                 "FROM ('%04d-%02d-01') TO (MAXVALUE)",
                 names[part], y, m, names[part], y, m);
    else
        snprintf(sql, sizeof sql,
                 "CREATE TABLE IF NOT EXISTS \"%s_%04d_%02d\" PARTITION OF \"%s\" FOR VALUES "
                 "FROM ('%04d-%02d-01') TO ('%04d-%02d-01')",
                 names[part], y, m, names[part], y, m, (ym + 1) / 12, (ym + 1) % 12 + 1);
    if (acre_pg_exec(pb, sql, "making a month's partition", err))
        return ACRE_EIO;
    if (pb->nmonths[part] < MAX_MONTHS)
        pb->months[part][pb->nmonths[part]++] = ym;
    return 0;
}

void acre_pg_params_free(pg_params *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->copies[i]);
    p->n = 0;
}

int acre_pg_params(pg_params *p, const acre_stmt *s, const acre_value *params, acre_error *err)
{
    p->n = s->nparams < ACRE_MAX_COLS + 8 ? s->nparams : ACRE_MAX_COLS + 8;
    memset(p->copies, 0, sizeof p->copies);
    for (int i = 0; i < p->n; i++) {
        const acre_value *v = &params[i];
        if (v->type == ACRE_VAL_INT) {
            snprintf(p->ints[i], sizeof p->ints[i], "%lld", v->i);
            p->vals[i] = p->ints[i];
        } else if (v->type == ACRE_VAL_CENTS) {
            acre_cents_format(v->i, p->ints[i]);
            p->vals[i] = p->ints[i];
        } else if (v->type == ACRE_VAL_TEXT) {
            /* libpq wants NUL-terminated text: a value is not always */
            if (!(p->copies[i] = acre_strndup(v->s ? v->s : "", v->n))) {
                acre_pg_params_free(p);
                return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            }
            p->vals[i] = p->copies[i];
        } else {
            p->vals[i] = NULL;
        }
        p->lens[i] = p->vals[i] ? (int)strlen(p->vals[i]) : 0;
    }
    return 0;
}

int acre_pg_result_fail(const acre_stmt *s, PGresult *r, acre_error *err)
{
    const char *m = PQresultErrorMessage(r);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    return acre_error_set(err, ACRE_EIO, NULL, "store", "%s: %.*s",
                          s->q->kind == ACRE_Q_SELECT || s->q->kind == ACRE_Q_RECORDS ? "reading"
                                                                                      : "writing",
                          (int)n, n ? m : "the statement failed");
}

int acre_pg_deliver(const acre_stmt *s, PGresult *r, int from, int to, int col0, acre_row_fn fn,
                    void *ctx, acre_error *err)
{
    acre_value row[ACRE_Q_MAX];
    int rows = to < 0 || to > PQntuples(r) ? PQntuples(r) : to;
    for (int k = from; k < rows; k++) {
        int stop;
        for (int c = 0; c < s->ncols; c++) {
            acre_value *v = &row[c];
            memset(v, 0, sizeof *v);
            if (PQgetisnull(r, k, col0 + c)) {
                v->type = ACRE_VAL_NULL;
            } else if (s->is_int[c]) {
                v->type = ACRE_VAL_INT;
                v->i = strtoll(PQgetvalue(r, k, col0 + c), NULL, 10);
            } else {
                v->type = ACRE_VAL_TEXT;
                v->s = PQgetvalue(r, k, col0 + c);
                v->n = (size_t)PQgetlength(r, k, col0 + c);
            }
        }
        if ((stop = fn(ctx, row, s->ncols, err)))
            return stop > 0 ? 1 : stop;
    }
    return 0;
}

int acre_pg_ok(PGresult *r)
{
    return PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
}

static int run_once(pg_backend *pb, acre_stmt *s, const acre_value *params, acre_row_fn fn,
                    void *ctx, int *delivered, acre_error *err);

int acre_pg_run(acre_store_backend *b, acre_stmt *s, const acre_value *params, acre_row_fn fn,
                void *ctx, acre_error *err)
{
    pg_backend *pb = (pg_backend *)b;
    int rc, delivered = 0;
    if ((rc = acre_pg_revive(pb, err)))
        return rc;
    rc = run_once(pb, s, params, fn, ctx, &delivered, err);
    /* a read outside a transaction on a connection the server dropped (it restarted) before
     * any row reached fn: once more on a new one, a kept statement prepared there again.
     * Nothing else is tried again: a write's fate is not known, and a transaction's reads
     * belong to its snapshot. */
    if (rc && !delivered && !pb->in_tx && s->ci >= 0 && PQstatus(pb->db) == CONNECTION_BAD &&
        (s->q->kind == ACRE_Q_SELECT || s->q->kind == ACRE_Q_RECORDS) && !reconnect(pb, NULL))
        rc = run_once(pb, s, params, fn, ctx, &delivered, err);
    return rc;
}

/* Whether s reads at most one row: every column of its table's key equal to a parameter (a
 * counter by its name), which needs no cursor. */
static int one_row(const acre_stmt *s)
{
    for (int k = 0; k < s->t->nkey; k++) {
        const char *c = s->t->cols[s->t->key[k]].name;
        int eq = 0;
        for (int i = 0; s->q->where[i].col && !eq; i++)
            eq = s->q->where[i].op == ACRE_EQ && strcmp(s->q->where[i].col, c) == 0;
        if (!eq)
            return 0;
    }
    return s->q->kind == ACRE_Q_SELECT;
}

/* Rows fetched at a time from a cursor (cursor_read). */
#define FETCH_ROWS 4096

/* A read that may give many rows, inside a transaction, through a cursor: FETCH_ROWS rows at a
 * time given to fn, so that a large one (the first close's month of transactions, a table acre
 * copy reads) is not held whole in memory. Between fetches the connection is free, so fn may
 * run queries of its own (libpq's single-row mode would hold it). Two round trips more than a
 * prepared statement's run (DECLARE, CLOSE); only for shapes without a LIMIT that may give
 * more than a row. */
static int cursor_read(pg_backend *pb, acre_stmt *s, const pg_params *p, acre_row_fn fn, void *ctx,
                       int *delivered, acre_error *err)
{
    char name[32], fetch[64];
    acre_buf sql = {0};
    PGresult *r;
    int rc = 0, n;
    snprintf(name, sizeof name, "acre_c%ld", pb->next_cursor++);
    acre_buf_printf(&sql, "DECLARE %s NO SCROLL CURSOR FOR %s", name, pb->cache[s->ci].sql);
    if (sql.oom) {
        acre_buf_free(&sql);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    r = PQexecParams(pb->db, sql.p, p->n, NULL, p->vals, p->lens, NULL, 0);
    acre_buf_free(&sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = r ? acre_pg_result_fail(s, r, err) : acre_pg_fail(pb, "reading", err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    snprintf(fetch, sizeof fetch, "FETCH FORWARD %d FROM %s", FETCH_ROWS, name);
    do {
        /* fn's own writes, sent ahead, answered first */
        if ((rc = acre_pg_drain(pb, err)))
            return rc;
        r = PQexec(pb->db, fetch);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = r ? acre_pg_result_fail(s, r, err) : acre_pg_fail(pb, "reading", err);
            PQclear(r);
            return rc;
        }
        n = PQntuples(r);
        if (n > 0)
            *delivered = 1;
        rc = acre_pg_deliver(s, r, 0, -1, 0, fn, ctx, err);
        PQclear(r);
    } while (rc == 0 && n == FETCH_ROWS);
    if (rc >= 0) {
        char close[48];
        int failed;
        snprintf(close, sizeof close, "CLOSE %s", name);
        failed = acre_pg_exec(pb, close, "reading", err);
        if (failed)
            return failed;
    }
    return rc < 0 ? rc : 0;
}

static int run_once(pg_backend *pb, acre_stmt *s, const acre_value *params, acre_row_fn fn,
                    void *ctx, int *delivered, acre_error *err)
{
    pg_params p;
    PGresult *r;
    int rc;

    if ((rc = acre_pg_ensure(pb, s, err)) || (rc = acre_pg_params(&p, s, params, err)))
        return rc;
    if (s->part >= 0 && s->date_param < p.n && p.vals[s->date_param] &&
        (rc = partition(pb, s->part, p.vals[s->date_param], (size_t)p.lens[s->date_param], err))) {
        acre_pg_params_free(&p);
        return rc;
    }
    if (!fn && pb->in_tx && (s->q->kind == ACRE_Q_INSERT || s->q->kind == ACRE_Q_REPLACE)) {
        /* sent ahead: its answer is read with the next step's (drain) */
        if (pb->pipe_failed) { /* an earlier one failed: the transaction can only roll back */
            acre_pg_params_free(&p);
            *err = pb->pipe_err;
            return ACRE_EIO;
        }
        if (s->q->kind == ACRE_Q_INSERT && p.n == s->t->ncols) {
            /* held, to go with the next ones into the same table (wb_flush) */
            if (pb->wb_rows && pb->wb_t != s->t)
                rc = wb_flush(pb, err);
            for (int i = 0; i < p.n && !rc; i++) {
                acre_buf_adds(&pb->wb_lit[i], pb->wb_rows ? "," : "{");
                acre_pg_array_elem(&pb->wb_lit[i], p.vals[i], p.vals[i] ? (size_t)p.lens[i] : 0);
            }
            acre_pg_params_free(&p);
            if (!rc) {
                pb->wb_t = s->t;
                if (++pb->wb_rows >= WB_ROWS)
                    rc = wb_flush(pb, err);
            }
        } else if (pb->wb_rows && (rc = wb_flush(pb, err))) {
            acre_pg_params_free(&p);
        } else {
            if (!pb->pending && !PQenterPipelineMode(pb->db))
                rc = acre_pg_fail(pb, "writing", err);
            else if (!PQsendQueryPrepared(pb->db, s->name, p.n, p.vals, p.lens, NULL, 0))
                rc = acre_pg_fail(pb, "writing", err);
            else
                pb->pending++;
            acre_pg_params_free(&p);
        }
        if (!rc && pb->pending >= PIPE_WRITES)
            rc = acre_pg_drain(pb, err);
        if (rc && pb->pending == 0 && PQpipelineStatus(pb->db) != PQ_PIPELINE_OFF)
            PQexitPipelineMode(pb->db);
        return rc;
    }
    if (pb->wb_rows && (rc = wb_flush(pb, err))) { /* the held rows go first */
        acre_pg_params_free(&p);
        return rc;
    }
    if (pb->pending) {
        /* after the writes sent ahead, in the same round trip */
        if (!PQsendQueryPrepared(pb->db, s->name, p.n, p.vals, p.lens, NULL, 0)) {
            acre_pg_params_free(&p);
            rc = acre_pg_fail(pb, "reading", err);
            acre_pg_drain(pb, NULL);
            return rc;
        }
        acre_pg_params_free(&p);
        pb->pending++;
        if ((rc = acre_pg_drain_keep(pb, &r, err)))
            return rc;
    } else {
        if ((rc = acre_pg_drain(pb, err))) { /* a write sent ahead failed */
            acre_pg_params_free(&p);
            return rc;
        }
        if (fn && pb->in_tx && s->ci >= 0 && s->q->limit == 0 && !one_row(s) &&
            (s->q->kind == ACRE_Q_SELECT || s->q->kind == ACRE_Q_RECORDS)) {
            rc = cursor_read(pb, s, &p, fn, ctx, delivered, err);
            acre_pg_params_free(&p);
            return rc;
        }
        r = PQexecPrepared(pb->db, s->name, p.n, p.vals, p.lens, NULL, 0);
        acre_pg_params_free(&p);
    }
    if (!acre_pg_ok(r))
        rc = r ? acre_pg_result_fail(s, r, err) : acre_pg_fail(pb, "reading", err);
    else if (fn && PQresultStatus(r) == PGRES_TUPLES_OK)
        *delivered = 1, rc = acre_pg_deliver(s, r, 0, -1, 0, fn, ctx, err);
    PQclear(r);
    return rc < 0 ? rc : 0;
}

static void finalize(acre_store_backend *b, acre_stmt *s)
{
    pg_backend *pb = (pg_backend *)b;
    char sql[64];
    if (!s)
        return;
    if (s->ci >= 0) {
        free(s);
        return;
    }
    if (s->gen != pb->gen) { /* prepared on a connection since lost: nothing to deallocate */
        free(s);
        return;
    }
    /* its writes sent ahead go first; a failure among them is said by the next step */
    acre_pg_drain(pb, NULL);
    snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
    /* inside a failed transaction this fails too; the connection forgets it at the end */
    PQclear(PQexec(pb->db, sql));
    free(s);
}

/* ---- handles ---- */

static void backend_free(acre_store_backend *b)
{
    pg_backend *pb = (pg_backend *)b;
    if (!pb)
        return;
    if (pb->db)
        PQfinish(pb->db);
    for (int i = 0; i < pb->ncache; i++)
        free(pb->cache[i].sql);
    for (int i = 0; i < ACRE_Q_MAX; i++)
        acre_buf_free(&pb->wb_lit[i]);
    free(pb->conninfo);
    free(pb);
}

static int connect_to(pg_backend **out, const char *conninfo, acre_error *err);

/* A reader for the close's threads: a connection of its own at the close's snapshot, exported
 * by the close's transaction (pg_export_snapshot) and imported by each read transaction the
 * reader begins while that one is open. Its reads are limited to the close's watermark too, so
 * a reader made outside a transaction, or one whose import fails, reads the same rows. */
static int reader(acre_store_backend *b, acre_store_backend **out, acre_error *err)
{
    pg_backend *pb = (pg_backend *)b, *r;
    int rc;
    *out = NULL;
    if ((rc = connect_to(&r, pb->conninfo, err)))
        return rc;
    if (pb->in_tx && !acre_pg_drain(pb, NULL)) {
        PGresult *x = PQexec(pb->db, "SELECT pg_export_snapshot()");
        const char *id =
            PQresultStatus(x) == PGRES_TUPLES_OK && PQntuples(x) == 1 ? PQgetvalue(x, 0, 0) : "";
        /* an id is hex digits and dashes ("00000003-0000001B-1") */
        if (*id && strlen(id) < sizeof r->snapshot && strspn(id, "0123456789ABCDEF-") == strlen(id))
            strcpy(r->snapshot, id);
        PQclear(x);
    }
    *out = &r->parent;
    return 0;
}

static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* pb->db: a new connection to pb->conninfo, set up. */
static int open_conn(pg_backend *pb, acre_error *err)
{
    pb->db = PQconnectdb(pb->conninfo);
    if (PQstatus(pb->db) != CONNECTION_OK)
        return acre_pg_fail(pb, "connecting to the store", err);
    /* notices (a partition that exists already) are not acre's output. Every run of a kept
     * statement is planned for its parameters and the table as it is then: a generic plan made
     * while an ingest's table was small (a sequential scan) stayed in use as the transaction
     * grew it to 100,000 rows, 15 ms a customer. No parallel plans: a customer's records by
     * index take 0.3 ms, and the planner, misled by a table grown inside the transaction,
     * preferred a parallel sequential scan of it (22 ms); the close reads in parallel itself
     * (its readers). A cursor (cursor_read) is planned for all its rows, as the statement
     * would be, not for a fast first tenth. No JIT: a table grown inside the transaction has
     * no statistics, its estimates (300 rows a transaction id) pass jit_above_cost, and
     * compiling took 134 ms of a 2,048-key read that runs in 7 ms; at the full benchmark month
     * each customer's records read was compiled too, and the ingest crawled. */
    PQsetNoticeProcessor(pb->db, quiet, NULL);
    acre_pg_exec(pb, "SET client_min_messages = warning; SET client_encoding = 'UTF8'",
                 "setting up the connection", NULL);
    acre_pg_exec(
        pb,
        "SET plan_cache_mode = force_custom_plan; SET max_parallel_workers_per_gather = 0; "
        "SET cursor_tuple_fraction = 1.0; SET jit = off",
        "setting up the connection", NULL);
    return 0;
}

/* A new connection for one the server dropped (a restart, a failover, an idle timeout): what
 * was open on the old one is gone, so the handle is outside any transaction, and the kept
 * statements are prepared again as they are next run (ensure). Only at a transaction's start
 * and for a read outside one: a transaction cut off fails, and its caller rolls back. */
static int reconnect(pg_backend *pb, acre_error *err)
{
    PQfinish(pb->db);
    pb->db = NULL;
    pb->gen++;
    pb->in_tx = 0;
    pb->pending = 0;
    pb->pipe_failed = 0;
    wb_forget(pb);
    pb->nmonths[0] = pb->nmonths[1] = 0;
    pb->snapshot[0] = 0;
    return open_conn(pb, err);
}

static int connect_to(pg_backend **out, const char *conninfo, acre_error *err)
{
    pg_backend *pb = acre_calloc(1, sizeof *pb);
    int rc;
    *out = NULL;
    if (!pb || !(pb->conninfo = acre_strdup(conninfo))) {
        free(pb);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    pb->parent.version = ACRE_STORE_BACKEND_VERSION;
    pb->parent.name = "postgresql";
    pb->parent.begin = begin;
    pb->parent.commit = commit;
    pb->parent.rollback = rollback;
    pb->parent.savepoint = savepoint;
    pb->parent.prepare = prepare;
    pb->parent.run = acre_pg_run;
    pb->parent.finalize = finalize;
    pb->parent.run_sets = acre_pg_run_sets;
    pb->parent.reader = reader;
    pb->parent.free = backend_free;
    if ((rc = open_conn(pb, err))) {
        backend_free(&pb->parent);
        return rc;
    }
    *out = pb;
    return 0;
}

int acre_pg_backend(acre_store_backend **out, const char *conninfo, acre_error *err)
{
    return acre_pg_open(out, conninfo, 1, err);
}

int acre_pg_open(acre_store_backend **out, const char *conninfo, int create, acre_error *err)
{
    pg_backend *pb;
    int rc;
    *out = NULL;
    if ((rc = connect_to(&pb, conninfo, err)))
        return rc;
    if ((rc = acre_pg_schema(pb, create, err))) {
        backend_free(&pb->parent);
        return rc;
    }
    *out = &pb->parent;
    return 0;
}
