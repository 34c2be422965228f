/* engine/store_pg_sets.c — one statement run over many parameter sets on PostgreSQL
 * (acre_store_backend.run_sets; engine/store_pg.h): the close's per-customer reads,
 * qualification's, an ingest's reading ahead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "store_pg.h"
#include "store_sql.h"

/* ---- a read of at most a row a set: one statement over arrays of the sets' parameters ---- */

/* Sets in one statement of the array form: of a read of at most a row a set, 2,048 (keys of
 * about 40 bytes, 80 KB of parameters); of one of many rows a set (a customer's records), 256,
 * so that a chunk's rows held at once stay near what 128 pipelined sets held. */
#define ARRAY_SETS 2048
#define ARRAY_SETS_MANY 256

/* Whether s runs over many sets as one statement: a read that gives at most one row a set
 * (LIMIT 1), or one whose sort columns it returns, so that the rows can be put in set order
 * and, within a set, in the shape's order. A record's current version, whether a reference
 * exists, a customer's records: planning each on its own cost more than running it (40-60 us a
 * plan, pg_stat_statements, tools/bench/pg_profile.sh). */
static int array_form(const acre_stmt *s)
{
    return (s->q->kind == ACRE_Q_SELECT || s->q->kind == ACRE_Q_RECORDS) && s->nparams > 0 &&
           s->part < 0 && (s->q->limit == 1 || acre_sql_order_selected(s->t, s->q));
}

/* The array form's SQL: the shape's own query (engine/store_sql.c), its parameter i written
 * k.pI, run for each row of the sets' parameters unnested, in set order:
 *   SELECT k.o, v.* FROM unnest($1::text[], ...) WITH ORDINALITY AS k(p1, ..., o),
 *     LATERAL (SELECT ... WHERE "c1" = k.p1 ... LIMIT 1) AS v ORDER BY k.o
 * (then, for many rows a set, the shape's own sort columns of v). Each parameter's array has
 * the type of the column it is compared with. */
static int array_sql(acre_buf *b, const acre_stmt *s, acre_error *err)
{
    acre_buf inner = {0};
    int np, nc, rc, n = 0;
    if ((rc = acre_sql_build(&inner, &acre_sql_postgres_sets, s->t, s->q, &np, &nc, err))) {
        acre_buf_free(&inner);
        return rc;
    }
    acre_buf_adds(b, "SELECT k.o, v.* FROM unnest(");
    for (int i = 0; s->q->where[i].col; i++) {
        const acre_column *c = &s->t->cols[acre_table_col(s->t, s->q->where[i].col)];
        if (s->q->where[i].op == ACRE_ISNULL)
            continue;
        acre_buf_printf(b, "%s$%d::%s[]", n ? ", " : "", n + 1,
                        c->type == ACRE_COL_INT ? "bigint" : "text");
        n++;
    }
    acre_buf_adds(b, ") WITH ORDINALITY AS k(");
    for (int i = 0; i < n; i++)
        acre_buf_printf(b, "p%d, ", i + 1);
    acre_buf_printf(b, "o), LATERAL (%s) AS v ORDER BY k.o", inner.p ? inner.p : "");
    if (s->q->limit != 1) { /* within a set, the shape's own order */
        acre_buf_adds(b, ", ");
        acre_sql_order(b, &acre_sql_postgres_sets, s->t, s->q, "v.");
    }
    if (inner.oom)
        b->oom = 1;
    acre_buf_free(&inner);
    if (b->oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return n == np ? 0
                   : acre_error_set(err, ACRE_ERROR, NULL, "store", "query on %s: parameters",
                                    s->t->name);
}

void acre_pg_array_elem(acre_buf *b, const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    if (!s) {
        acre_buf_adds(b, "NULL");
        return;
    }
    acre_buf_adds(b, "\"");
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '"' && *q != '\\')
            q++;
        acre_buf_add(b, p, (size_t)(q - p));
        if (q < end) {
            char esc[2] = {'\\', *q};
            acre_buf_add(b, esc, 2);
            q++;
        }
        p = q;
    }
    acre_buf_adds(b, "\"");
}

/* The array literal of parameter i of sets [at, at + n): {"text",123,NULL}, a text's quote
 * and backslash escaped. */
static void array_literal(acre_buf *b, const acre_value *params, int stride, long at, long n, int i)
{
    acre_buf_reset(b);
    acre_buf_adds(b, "{");
    for (long k = 0; k < n; k++) {
        const acre_value *v = &params[(size_t)(at + k) * (size_t)stride + (size_t)i];
        if (k)
            acre_buf_adds(b, ",");
        if (v->type == ACRE_VAL_INT) {
            acre_buf_printf(b, "%lld", v->i);
        } else if (v->type == ACRE_VAL_CENTS) {
            char t[32];
            acre_cents_format(v->i, t);
            acre_buf_adds(b, t);
        } else if (v->type == ACRE_VAL_TEXT) {
            acre_pg_array_elem(b, v->s ? v->s : "", v->n);
        } else {
            acre_pg_array_elem(b, NULL, 0);
        }
    }
    acre_buf_adds(b, "}");
}

static int run_arrays(pg_backend *pb, acre_stmt *s, const acre_value *params, int stride,
                      long nsets, long *set, acre_row_fn fn, void *ctx, acre_error *err)
{
    acre_buf sql = {0}, lit[ACRE_MAX_COLS + 8];
    const char *vals[ACRE_MAX_COLS + 8];
    int rc;

    if (s->nparams > ACRE_MAX_COLS + 8)
        return acre_error_set(err, ACRE_ERROR, NULL, "store", "query on %s: parameters",
                              s->t->name);
    if ((rc = array_sql(&sql, s, err))) {
        acre_buf_free(&sql);
        return rc;
    }
    memset(lit, 0, sizeof lit);
    long chunk = s->q->limit == 1 ? ARRAY_SETS : ARRAY_SETS_MANY;
    for (long at = 0; at < nsets && !rc; at += chunk) {
        long n = nsets - at < chunk ? nsets - at : chunk;
        PGresult *r;
        int oom = 0;
        if ((rc = acre_pg_drain(pb, err))) /* a write fn sent ahead after the last chunk's rows */
            break;
        for (int i = 0; i < s->nparams; i++) {
            array_literal(&lit[i], params, stride, at, n, i);
            oom |= lit[i].oom;
            vals[i] = lit[i].p;
        }
        if (oom) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
        r = PQexecParams(pb->db, sql.p, s->nparams, NULL, vals, NULL, NULL, 0);
        if (!acre_pg_ok(r)) {
            rc = r ? acre_pg_result_fail(s, r, err) : acre_pg_fail(pb, "reading", err);
        } else if (fn) {
            for (int k = 0, rows = PQntuples(r); k < rows && !rc; k++) {
                *set = at + strtol(PQgetvalue(r, k, 0), NULL, 10) - 1;
                rc = acre_pg_deliver(s, r, k, k + 1, 1, fn, ctx, err);
            }
        }
        PQclear(r);
    }
    for (int i = 0; i < s->nparams; i++)
        acre_buf_free(&lit[i]);
    acre_buf_free(&sql);
    return rc < 0 ? rc : 0;
}

/* ---- any statement: the sets pipelined ---- */

/* Sets sent at once in pipeline mode: their queries (a hundred bytes each) fit the socket's
 * buffer, so all are sent before any result is read without the server blocking on us. */
#define PIPE_SETS 128

/* The sets pipelined (libpq's pipeline mode): PIPE_SETS queries sent, one sync, their results
 * read; then their rows given to fn, out of pipeline mode, so that fn may run queries of its
 * own. One round trip per PIPE_SETS sets instead of one per set. */
int acre_pg_run_sets(acre_store_backend *b, acre_stmt *s, const acre_value *params, int stride,
                     long nsets, long *set, acre_row_fn fn, void *ctx, acre_error *err)
{
    pg_backend *pb = (pg_backend *)b;
    PGresult *res[PIPE_SETS];
    int rc = 0;

    if ((rc = acre_pg_revive(pb, err)) || (rc = acre_pg_drain(pb, err)) ||
        (rc = acre_pg_ensure(pb, s, err)))
        return rc;
    if (s->part >= 0 || nsets < 2) { /* an insert may make a partition first: one at a time */
        for (*set = 0; *set < nsets && !rc; ++*set)
            rc = acre_pg_run(b, s, params + (size_t)*set * (size_t)stride, fn, ctx, err);
        return rc;
    }
    if (array_form(s))
        return run_arrays(pb, s, params, stride, nsets, set, fn, ctx, err);
    for (long at = 0; at < nsets && !rc; at += PIPE_SETS) {
        int n = nsets - at < PIPE_SETS ? (int)(nsets - at) : PIPE_SETS, sent = 0, got = 0;
        /* a write fn sent ahead after the last chunk's rows; a read of fn's that made the
         * connection again */
        if ((rc = acre_pg_drain(pb, err)) || (rc = acre_pg_ensure(pb, s, err)))
            break;
        if (!PQenterPipelineMode(pb->db))
            return acre_pg_fail(pb, "reading (a pipeline)", err);
        for (; sent < n && !rc; sent++) {
            pg_params p;
            if ((rc = acre_pg_params(&p, s, params + (size_t)(at + sent) * (size_t)stride, err)))
                break;
            if (!PQsendQueryPrepared(pb->db, s->name, p.n, p.vals, p.lens, NULL, 0))
                rc = acre_pg_fail(pb, "reading (a pipeline)", err);
            acre_pg_params_free(&p);
            if (rc)
                break;
        }
        if (!PQpipelineSync(pb->db) && !rc)
            rc = acre_pg_fail(pb, "reading (a pipeline)", err);
        acre_pg_pipe_results(pb, res, PIPE_SETS, &got);
        if (!PQexitPipelineMode(pb->db) && !rc)
            rc = acre_pg_fail(pb, "reading (a pipeline)", err);
        if (!rc && got < sent)
            rc = acre_pg_fail(pb, "reading (a pipeline)", err);
        for (int i = 0; i < got; i++) {
            if (!rc && !acre_pg_ok(res[i]))
                rc = acre_pg_result_fail(s, res[i], err);
            if (!rc && fn && PQresultStatus(res[i]) == PGRES_TUPLES_OK) {
                *set = at + i;
                rc = acre_pg_deliver(s, res[i], 0, -1, 0, fn, ctx, err);
            }
            PQclear(res[i]);
        }
    }
    return rc < 0 ? rc : 0;
}
