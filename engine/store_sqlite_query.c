/* engine/store_sqlite_query.c — the SQLite backend's queries: each acre_query shape becomes one
 * prepared statement (include/acre/sys/store.h), its parameters bound as ?1, ?2, ... in order.
 * Names come from the table descriptors, never from a caller's data; every value is bound. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "jsonval.h"
#include "number.h"
#include "store_sql.h"
#include "store_sqlite.h"

/* How a returned column is read: its declared type decides, so that a text column costs one
 * call (a stored integer column is never text: column affinity). A money column has no
 * affinity (store_sqlite_schema.c): an integer there is hundredths, given back as the canonical
 * text it was stored from; a text is given as it is. */
enum { READ_TEXT, READ_INT, READ_INT_OR_NULL, READ_MONEY };

struct acre_stmt {
    sqlite3_stmt *st;
    char *sql; /* its text: what a kept statement is found by */
    size_t sqllen;
    const acre_query *q;
    const acre_table *t;
    int nparams;
    int ncols;      /* SELECT: columns returned */
    uint64_t money; /* bit i: parameter i+1 is a money column's value */
    unsigned char read[ACRE_Q_MAX];
    char cents[ACRE_Q_MAX][24]; /* READ_MONEY: the text of this row's integer */
};

static void money_param(acre_stmt *s, const acre_table *t, const char *col, int param)
{
    int c = acre_table_col(t, col);
    if (c >= 0 && t->cols[c].type == ACRE_COL_MONEY && param < 64)
        s->money |= (uint64_t)1 << param;
}

/* s->money: the parameters that are money columns' values, in the order build() numbers them
 * (an insert's are the table's columns; an update's its columns set, then its conditions') */
static void money_params(acre_stmt *s, const acre_table *t, const acre_query *q)
{
    int n = 0;
    if (q->kind == ACRE_Q_INSERT || q->kind == ACRE_Q_REPLACE) {
        for (int i = 0; i < t->ncols; i++)
            money_param(s, t, t->cols[i].name, n++);
        return;
    }
    if (q->kind == ACRE_Q_UPDATE)
        for (int i = 0; q->cols[i]; i++)
            money_param(s, t, q->cols[i], n++);
    for (int i = 0; q->where[i].col; i++)
        if (q->where[i].op != ACRE_ISNULL)
            money_param(s, t, q->where[i].col, n++);
}

/* A kept statement of this SQL, taken from the cache, or NULL. */
static acre_stmt *cached(sqlite_backend *sb, const acre_buf *sql)
{
    for (int i = sb->ncached - 1; i >= 0; i--) {
        acre_stmt *s = sb->cached[i];
        if (s->sqllen == sql->len && memcmp(s->sql, sql->p, sql->len) == 0) {
            memmove(&sb->cached[i], &sb->cached[i + 1],
                    (size_t)(sb->ncached - i - 1) * sizeof sb->cached[0]);
            sb->ncached--;
            return s;
        }
    }
    return NULL;
}

int acre_sqlite_prepare(acre_store_backend *b, const acre_query *q, acre_stmt **out,
                        acre_error *err)
{
    sqlite_backend *sb = (sqlite_backend *)b;
    const acre_table *t = acre_store_table(q->table);
    acre_stmt *s;
    acre_buf sql = {0};
    int rc, nparams, ncols;

    *out = NULL;
    if (!t)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "query on %s: no table %s", q->table,
                              q->table);
    if ((rc = acre_sql_build(&sql, &acre_sql_sqlite, t, q, &nparams, &ncols, err))) {
        acre_buf_free(&sql);
        return rc;
    }
    if (sql.oom) {
        acre_buf_free(&sql);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    /* the same text is the same shape of the same table: all but q is as it was */
    if ((s = cached(sb, &sql))) {
        acre_buf_free(&sql);
        s->q = q;
        *out = s;
        return 0;
    }
    if (!(s = acre_calloc(1, sizeof *s))) {
        acre_buf_free(&sql);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    if (sqlite3_prepare_v3(sb->db, sql.p, (int)sql.len, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) !=
        SQLITE_OK) {
        rc = acre_sqlite_fail(sb->db, "preparing a statement", err);
        acre_buf_free(&sql);
        free(s);
        return rc;
    }
    s->sql = sql.p; /* taken */
    s->sqllen = sql.len;
    s->nparams = nparams;
    s->ncols = ncols;
    s->q = q;
    s->t = t;
    for (int i = 0; i < s->ncols; i++) {
        const acre_column *c = &t->cols[acre_table_col(t, q->cols[i])];
        s->read[i] = c->type == ACRE_COL_MONEY ? READ_MONEY
                     : c->type != ACRE_COL_INT ? READ_TEXT
                     : c->notnull              ? READ_INT
                                               : READ_INT_OR_NULL;
    }
    money_params(s, t, q);
    *out = s;
    return 0;
}

static void bind(sqlite3_stmt *st, int i, const acre_value *v, int money)
{
    long long cents;
    if (v->type == ACRE_VAL_INT)
        sqlite3_bind_int64(st, i, v->i);
    else if (v->type == ACRE_VAL_TEXT && money && acre_cents_parse(v->s, v->n, &cents))
        sqlite3_bind_int64(st, i, cents);
    else if (v->type == ACRE_VAL_TEXT)
        sqlite3_bind_text(st, i, v->s, (int)v->n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* An error for a value no acre writes in a money column (a real number, a blob, an integer
 * of more significant digits than a record's number has): the store was changed by something
 * else. Names the row by the key columns the query reads. */
static int bad_money(sqlite3_stmt *st, const acre_stmt *s, int i, acre_error *err)
{
    int type = sqlite3_column_type(st, i);
    acre_buf key = {0};
    for (int c = 0; c < s->ncols; c++)
        for (int k = 0; k < s->t->nkey; k++)
            if (strcmp(s->q->cols[c], s->t->cols[s->t->key[k]].name) == 0) {
                const char *v = (const char *)sqlite3_column_text(st, c);
                acre_buf_printf(&key, "%s%s=%s", key.len ? ", " : "", s->q->cols[c],
                                v ? v : "NULL");
            }
    acre_error_set(err, ACRE_EIO, s->q->cols[i], "stored_value",
                   "the store's %s row (%s) has %s in %s, not an amount acre stores: the store "
                   "was changed outside acre",
                   s->t->name, key.len && !key.oom ? key.p : "its key not read",
                   type == SQLITE_FLOAT     ? "a floating-point number"
                   : type == SQLITE_INTEGER ? "an integer of more than 15 significant digits"
                                            : "a blob",
                   s->q->cols[i]);
    acre_buf_free(&key);
    return ACRE_EIO;
}

int acre_sqlite_run(acre_store_backend *b, acre_stmt *s, const acre_value *params, acre_row_fn fn,
                    void *ctx, acre_error *err)
{
    sqlite_backend *sb = (sqlite_backend *)b;
    sqlite3_stmt *st = s->st;
    acre_value row[ACRE_Q_MAX];
    int rc;

    sqlite3_reset(st);
    for (int i = 0; i < s->nparams; i++)
        bind(st, i + 1, &params[i], i < 64 && (s->money >> i & 1));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int stop;
        if (s->q->kind != ACRE_Q_SELECT && s->q->kind != ACRE_Q_RECORDS)
            continue;
        for (int i = 0; i < s->ncols; i++) {
            acre_value *v = &row[i];
            v->s = NULL;
            v->n = 0;
            v->i = 0;
            if (s->read[i] == READ_MONEY) {
                int type = sqlite3_column_type(st, i);
                if (type == SQLITE_INTEGER) {
                    v->i = sqlite3_column_int64(st, i);
                    if (!acre_cents_ok(v->i)) {
                        rc = bad_money(st, s, i, err);
                        sqlite3_reset(st);
                        return rc;
                    }
                    if (b->money_cents) {
                        v->type = ACRE_VAL_CENTS;
                    } else {
                        v->type = ACRE_VAL_TEXT;
                        v->s = s->cents[i];
                        v->n = acre_cents_format(v->i, s->cents[i]);
                    }
                    continue;
                }
                if (type != SQLITE_TEXT && type != SQLITE_NULL) {
                    rc = bad_money(st, s, i, err);
                    sqlite3_reset(st);
                    return rc;
                }
            }
            if (s->read[i] == READ_INT || s->read[i] == READ_INT_OR_NULL) {
                /* a NULL reads as 0: only a 0 needs the type (one call less per row). SQLite's
                 * documentation leaves the type undefined after a conversion; its code reads a
                 * NULL as 0 without converting it, so the type stays NULL. settled.clawed_period
                 * is such a column, NULL on most rows: the clawback fixtures would change if
                 * it read as 0 */
                v->type = ACRE_VAL_INT;
                v->i = sqlite3_column_int64(st, i);
                if (!v->i && s->read[i] == READ_INT_OR_NULL &&
                    sqlite3_column_type(st, i) == SQLITE_NULL)
                    v->type = ACRE_VAL_NULL;
            } else if ((v->s = (const char *)sqlite3_column_text(st, i))) {
                v->type = ACRE_VAL_TEXT;
                v->n = strlen(v->s); /* one call per column: costs less than column_bytes */
            } else if (sqlite3_errcode(sb->db) == SQLITE_NOMEM) {
                /* sqlite3_column_text copies a value not yet terminated: NULL when that fails,
                 * and then sqlite3_errcode says so (SQLite's "Result Values From A Query");
                 * asking the errcode costs less than asking every NULL column's type. A NOMEM
                 * cannot be left from before: sqlite3_step sets the errcode to SQLITE_ROW on
                 * every row, and a NOMEM earlier in this row returned at once. (The type would
                 * not tell: the failed value is set to NULL.) */
                rc = acre_sqlite_fail(sb->db, NULL, err);
                sqlite3_reset(st);
                return rc;
            } else {
                v->type = ACRE_VAL_NULL;
            }
        }
        if ((stop = fn(ctx, row, s->ncols, err))) {
            sqlite3_reset(st);
            return stop > 0 ? 0 : stop;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = acre_sqlite_fail(sb->db, NULL, err);
        sqlite3_reset(st);
        return rc;
    }
    sqlite3_reset(st);
    return 0;
}

static void finalize(acre_stmt *s)
{
    sqlite3_finalize(s->st);
    free(s->sql);
    free(s);
}

/* Done with: kept, reset and its parameters cleared (a text bound is the caller's memory), for
 * the next prepare of its SQL; the oldest kept is finalized to make room. */
void acre_sqlite_finalize(acre_store_backend *b, acre_stmt *s)
{
    sqlite_backend *sb = (sqlite_backend *)b;
    if (!s)
        return;
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    if (sb->ncached == ACRE_SQLITE_CACHED) {
        finalize(sb->cached[0]);
        memmove(&sb->cached[0], &sb->cached[1], (ACRE_SQLITE_CACHED - 1) * sizeof sb->cached[0]);
        sb->ncached--;
    }
    sb->cached[sb->ncached++] = s;
}

void acre_sqlite_uncache(sqlite_backend *sb)
{
    for (int i = 0; i < sb->ncached; i++)
        finalize(sb->cached[i]);
    sb->ncached = 0;
}
