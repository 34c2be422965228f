/* engine/store_sql.c — a query shape (include/acre/sys/store.h) as SQL, for the backends that
 * speak it (SQLite's, engine/store_sqlite_query.c; PostgreSQL's, engine/store_pg.c): names
 * from the table descriptors, never from a caller's data, and every value a parameter. */
#include <string.h>

#include "store_sql.h"

const acre_sql_dialect acre_sql_sqlite = {'?', 0, 0, NULL};
const acre_sql_dialect acre_sql_postgres = {'$', 1, 1, NULL};
const acre_sql_dialect acre_sql_postgres_sets = {'$', 1, 1, "k.p"};

/* Parameter n as the dialect writes it. */
static void param_sql(acre_buf *b, const acre_sql_dialect *d, int n)
{
    if (d->ref)
        acre_buf_printf(b, "%s%d", d->ref, n);
    else
        acre_buf_printf(b, "%c%d", d->param, n);
}

static int unknown(acre_error *err, const acre_query *q, const char *what, const char *name)
{
    return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "query on %s: no %s %s", q->table, what,
                          name ? name : "(none)");
}

static void cond_sql(acre_buf *b, const acre_sql_dialect *d, const acre_query *q, int *np)
{
    static const char *const ops[] = {" = ", " < ", " <= ", " > ", " >= ", " <> ", " IS NULL"};
    for (int i = 0; q->where[i].col; i++) {
        acre_buf_printf(b, "%s\"%s\"%s", i ? " AND " : " WHERE ", q->where[i].col,
                        ops[q->where[i].op]);
        if (q->where[i].op != ACRE_ISNULL)
            param_sql(b, d, ++*np);
    }
}

/* A versioned table's record key (its key but seq), comma-separated. */
static void key_cols(acre_buf *b, const acre_table *t)
{
    for (int i = 0; i < t->nkey - 1; i++)
        acre_buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[t->key[i]].name);
}

/* The columns a SELECT sorts by: its sort columns, then the key's others. */
static int order_col(const acre_table *t, const acre_query *q, int i, const char **name)
{
    int n = 0;
    while (q->order[n])
        n++;
    if (i < n) {
        *name = q->order[i];
        return 1;
    }
    for (int k = 0, at = n; k < t->nkey; k++) {
        const char *c = t->cols[t->key[k]].name;
        int listed = 0;
        for (int j = 0; q->order[j]; j++)
            listed |= strcmp(q->order[j], c) == 0;
        if (!listed && at++ == i) {
            *name = c;
            return 1;
        }
    }
    return 0;
}

void acre_sql_order(acre_buf *b, const acre_sql_dialect *d, const acre_table *t,
                    const acre_query *q, const char *qual)
{
    /* ties come in key order (in the same direction), so every backend gives the same rows in
     * the same order */
    const char *dir = q->desc ? (d->on_conflict ? " DESC NULLS LAST" : " DESC")
                              : (d->on_conflict ? " NULLS FIRST" : "");
    const char *c;
    for (int i = 0; order_col(t, q, i, &c); i++)
        acre_buf_printf(b, "%s%s\"%s\"%s", i ? ", " : "", qual, c, dir);
}

int acre_sql_order_selected(const acre_table *t, const acre_query *q)
{
    const char *c;
    for (int i = 0; order_col(t, q, i, &c); i++) {
        int in = 0;
        for (int j = 0; q->cols[j]; j++)
            in |= strcmp(q->cols[j], c) == 0;
        if (!in)
            return 0;
    }
    return 1;
}

int acre_sql_build(acre_buf *b, const acre_sql_dialect *d, const acre_table *t, const acre_query *q,
                   int *np, int *ncols, acre_error *err)
{
    *np = 0;
    *ncols = 0;
    for (int i = 0; q->cols[i]; i++)
        if (acre_table_col(t, q->cols[i]) < 0)
            return unknown(err, q, "column", q->cols[i]);
    for (int i = 0; q->where[i].col; i++)
        if (acre_table_col(t, q->where[i].col) < 0 || q->where[i].op < ACRE_EQ ||
            q->where[i].op > ACRE_ISNULL)
            return unknown(err, q, "column", q->where[i].col);
    for (int i = 0; q->order[i]; i++)
        if (acre_table_col(t, q->order[i]) < 0)
            return unknown(err, q, "column", q->order[i]);
    switch (q->kind) {
    case ACRE_Q_SELECT:
    case ACRE_Q_RECORDS:
        acre_buf_adds(b, "SELECT ");
        for (int i = 0; q->cols[i]; i++, ++*ncols)
            acre_buf_printf(b, "%s\"%s\"", i ? ", " : "", q->cols[i]);
        if (!*ncols)
            return unknown(err, q, "column", NULL);
        if (q->kind == ACRE_Q_RECORDS) {
            /* the records with a matching row (found on an index of its conditions), then each
             * one's rows up to the same seq, by key */
            int n = 0;
            while (q->where[n].col)
                n++;
            if (!t->versioned || !n || strcmp(q->where[n - 1].col, "seq") != 0 ||
                q->where[n - 1].op != ACRE_LE)
                return unknown(err, q, "records query ending with", "seq <= ?");
            if (d->lateral) {
                /* a nested loop the planner cannot turn into a hash join over the whole table
                 * (OFFSET 0 keeps the lateral subquery from being flattened) */
                acre_buf_adds(b, " FROM (SELECT r.* FROM (SELECT DISTINCT ");
                key_cols(b, t);
                acre_buf_printf(b, " FROM \"%s\"", t->name);
                cond_sql(b, d, q, np);
                acre_buf_printf(b, ") AS m, LATERAL (SELECT * FROM \"%s\" WHERE ", t->name);
                for (int i = 0; i < t->nkey - 1; i++)
                    acre_buf_printf(b, "\"%s\".\"%s\" = m.\"%s\" AND ", t->name,
                                    t->cols[t->key[i]].name, t->cols[t->key[i]].name);
                acre_buf_adds(b, "\"seq\" <= ");
                param_sql(b, d, *np);
                acre_buf_adds(b, " OFFSET 0) AS r) AS x");
            } else {
                acre_buf_printf(b, " FROM \"%s\" WHERE (", t->name);
                key_cols(b, t);
                acre_buf_adds(b, ") IN (SELECT ");
                key_cols(b, t);
                acre_buf_printf(b, " FROM \"%s\"", t->name);
                cond_sql(b, d, q, np);
                acre_buf_adds(b, ") AND \"seq\" <= ");
                param_sql(b, d, *np);
            }
        } else {
            acre_buf_printf(b, " FROM \"%s\"", t->name);
            cond_sql(b, d, q, np);
        }
        acre_buf_adds(b, " ORDER BY ");
        acre_sql_order(b, d, t, q, "");
        if (q->limit > 0)
            acre_buf_printf(b, " LIMIT %ld", q->limit);
        return 0;
    case ACRE_Q_INSERT:
    case ACRE_Q_REPLACE:
        acre_buf_printf(b, "INSERT%s INTO \"%s\"(",
                        q->kind == ACRE_Q_REPLACE && !d->on_conflict ? " OR REPLACE" : "", t->name);
        for (int i = 0; i < t->ncols; i++)
            acre_buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
        acre_buf_adds(b, ") VALUES(");
        for (int i = 0; i < t->ncols; i++) {
            acre_buf_adds(b, i ? ", " : "");
            param_sql(b, d, ++*np);
        }
        acre_buf_adds(b, ")");
        if (q->kind == ACRE_Q_REPLACE && d->on_conflict) {
            /* the row of the same key replaced: its other columns set to the new values */
            int others = 0;
            acre_buf_adds(b, " ON CONFLICT (");
            for (int i = 0; i < t->nkey; i++)
                acre_buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[t->key[i]].name);
            acre_buf_adds(b, ") DO ");
            for (int i = 0; i < t->ncols; i++) {
                int key = 0;
                for (int k = 0; k < t->nkey; k++)
                    key |= t->key[k] == i;
                if (!key)
                    acre_buf_printf(b, "%s\"%s\" = EXCLUDED.\"%s\"",
                                    others++ ? ", " : "UPDATE SET ", t->cols[i].name,
                                    t->cols[i].name);
            }
            if (!others)
                acre_buf_adds(b, "NOTHING");
        }
        return 0;
    case ACRE_Q_UPDATE:
        if (!q->cols[0])
            return unknown(err, q, "column", NULL);
        acre_buf_printf(b, "UPDATE \"%s\" SET ", t->name);
        for (int i = 0; q->cols[i]; i++) {
            ++*np;
            acre_buf_printf(b, "%s\"%s\" = ", i ? ", " : "", q->cols[i]);
            param_sql(b, d, *np);
        }
        cond_sql(b, d, q, np);
        return 0;
    case ACRE_Q_DELETE:
        acre_buf_printf(b, "DELETE FROM \"%s\"", t->name);
        cond_sql(b, d, q, np);
        return 0;
    }
    return unknown(err, q, "query kind", NULL);
}
