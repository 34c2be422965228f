/* tests/memstore.c — a second storage backend, in memory, written only against
 * include/acre/sys/store.h: the proof that the seam is real (tests/test_memstore.c replays every
 * fixture through it and compares each answer with the SQLite backend's).
 *
 * Each table is an array of rows kept sorted by its primary key; a query filters by a linear
 * scan and sorts what it returns. A transaction copies every table at begin and puts the copy
 * back at rollback. Values are kept in the column's type, as SQLite's column affinity keeps
 * them: an integer column turns an integer-looking text into an integer, a text column turns an
 * integer into its digits. Small and slow on purpose: it is a test backend. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/store.h"
#include "memstore.h"

typedef struct mrow {
    acre_value *v; /* ncols values; texts owned */
} mrow;

typedef struct mtable {
    const acre_table *t;
    mrow **rows;
    long n, cap;
} mtable;

typedef struct mem {
    acre_store_backend parent;
    mtable *tables;
    int ntables;
    mtable *saved; /* the tables at begin, or NULL outside a transaction */
} mem;

struct acre_stmt {
    const acre_query *q;
    mtable *tab; /* index resolved at prepare: tables move between transactions, so by index */
    int ti;
    int cols[ACRE_Q_MAX], ncols;
    int where[ACRE_Q_MAX], nwhere;
    int order[ACRE_Q_MAX], norder;
};

static int oom(acre_error *err)
{
    return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
}

/* ---- values ---- */

static int cmp(const acre_value *a, const acre_value *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1; /* NULL < integer < text, as SQLite orders them */
    if (a->type == ACRE_VAL_INT)
        return a->i < b->i ? -1 : a->i > b->i;
    if (a->type == ACRE_VAL_TEXT) {
        size_t n = a->n < b->n ? a->n : b->n;
        int d = memcmp(a->s, b->s, n);
        return d ? (d < 0 ? -1 : 1) : a->n < b->n ? -1 : a->n > b->n;
    }
    return 0;
}

/* v as the column keeps it (its affinity); out's text is a copy. */
static int keep(acre_value *out, const acre_value *v, int type)
{
    char digits[24];
    *out = *v;
    if (v->type == ACRE_VAL_TEXT && type == ACRE_COL_INT && v->n > 0 && v->n < 20) {
        char buf[24], *end;
        long long i;
        memcpy(buf, v->s, v->n);
        buf[v->n] = '\0';
        errno = 0;
        i = strtoll(buf, &end, 10);
        if (!errno && *end == '\0' && (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9'))) {
            *out = acre_val_int(i);
            return 0;
        }
    }
    if (v->type == ACRE_VAL_INT && type != ACRE_COL_INT) {
        int n = snprintf(digits, sizeof digits, "%lld", v->i);
        out->type = ACRE_VAL_TEXT;
        out->s = digits;
        out->n = (size_t)n;
    }
    if (out->type == ACRE_VAL_TEXT) {
        char *s = malloc(out->n + 1);
        if (!s)
            return -1;
        memcpy(s, out->s, out->n);
        s[out->n] = '\0';
        out->s = s;
    }
    return 0;
}

static void row_free(mrow *r, int ncols)
{
    if (!r)
        return;
    for (int i = 0; i < ncols; i++)
        if (r->v[i].type == ACRE_VAL_TEXT)
            free((char *)r->v[i].s);
    free(r->v);
    free(r);
}

static mrow *row_copy(const mrow *r, const acre_table *t)
{
    mrow *c = calloc(1, sizeof *c);
    if (!c || !(c->v = calloc((size_t)t->ncols, sizeof *c->v))) {
        free(c);
        return NULL;
    }
    for (int i = 0; i < t->ncols; i++)
        if (keep(&c->v[i], &r->v[i], t->cols[i].type)) {
            row_free(c, i);
            return NULL;
        }
    return c;
}

static int key_cmp(const acre_table *t, const mrow *a, const mrow *b)
{
    for (int i = 0; i < t->nkey; i++) {
        int d = cmp(&a->v[t->key[i]], &b->v[t->key[i]]);
        if (d)
            return d;
    }
    return 0;
}

/* The position of r's key in m: *found when a row has it. */
static long position(const mtable *m, const mrow *r, int *found)
{
    long lo = 0, hi = m->n;
    *found = 0;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        int d = key_cmp(m->t, m->rows[mid], r);
        if (d == 0) {
            *found = 1;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- tables ---- */

static void tables_free(mtable *ts, int n)
{
    if (!ts)
        return;
    for (int i = 0; i < n; i++) {
        for (long r = 0; r < ts[i].n; r++)
            row_free(ts[i].rows[r], ts[i].t->ncols);
        free(ts[i].rows);
    }
    free(ts);
}

static mtable *tables_copy(const mtable *ts, int n)
{
    mtable *c = calloc((size_t)n, sizeof *c);
    if (!c)
        return NULL;
    for (int i = 0; i < n; i++) {
        c[i].t = ts[i].t;
        c[i].cap = ts[i].n;
        if (ts[i].n && !(c[i].rows = calloc((size_t)ts[i].n, sizeof *c[i].rows)))
            goto fail;
        for (long r = 0; r < ts[i].n; r++) {
            if (!(c[i].rows[r] = row_copy(ts[i].rows[r], ts[i].t)))
                goto fail;
            c[i].n++;
        }
    }
    return c;
fail:
    tables_free(c, n);
    return NULL;
}

/* ---- transactions ---- */

static int begin(acre_store_backend *b, int write, acre_error *err)
{
    mem *m = (mem *)b;
    (void)write; /* one handle, one thread: a read is as good as a write */
    if (m->saved)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "memstore: nested begin");
    if (!(m->saved = tables_copy(m->tables, m->ntables)))
        return oom(err);
    return 0;
}

static int commit(acre_store_backend *b, acre_error *err)
{
    mem *m = (mem *)b;
    if (!m->saved)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "memstore: no transaction");
    tables_free(m->saved, m->ntables);
    m->saved = NULL;
    return 0;
}

static void rollback(acre_store_backend *b)
{
    mem *m = (mem *)b;
    if (!m->saved)
        return;
    tables_free(m->tables, m->ntables);
    m->tables = m->saved;
    m->saved = NULL;
}

/* ---- queries ---- */

static int col_of(const acre_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

static int prepare(acre_store_backend *b, const acre_query *q, acre_stmt **out, acre_error *err)
{
    mem *m = (mem *)b;
    acre_stmt *st = calloc(1, sizeof *st);
    const acre_table *t = NULL;
    *out = NULL;
    if (!st)
        return oom(err);
    st->q = q;
    st->ti = -1;
    for (int i = 0; i < m->ntables; i++)
        if (strcmp(m->tables[i].t->name, q->table) == 0) {
            st->ti = i;
            t = m->tables[i].t;
        }
    if (!t) {
        free(st);
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "memstore: no table %s", q->table);
    }
#define RESOLVE(list, n, name)                                                                     \
    do {                                                                                           \
        if ((list[n] = col_of(t, (name))) < 0) {                                                   \
            free(st);                                                                              \
            return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "memstore: no column %s.%s",    \
                                  q->table, (name));                                               \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
    for (int i = 0; q->cols[i]; i++)
        RESOLVE(st->cols, st->ncols, q->cols[i]);
    for (int i = 0; q->where[i].col; i++)
        RESOLVE(st->where, st->nwhere, q->where[i].col);
    for (int i = 0; q->order[i]; i++)
        RESOLVE(st->order, st->norder, q->order[i]);
    if (!st->norder)
        for (int i = 0; i < t->nkey; i++)
            st->order[st->norder++] = t->key[i];
    *out = st;
    return 0;
}

/* Whether r matches the query's conditions; *p walks the parameters. */
static int matches(const acre_stmt *st, const mrow *r, const acre_value *params)
{
    const acre_table *t = st->tab->t;
    int k = 0;
    for (int i = 0; i < st->nwhere; i++) {
        const acre_value *v = &r->v[st->where[i]];
        int op = st->q->where[i].op, d;
        acre_value p;
        if (op == ACRE_ISNULL) {
            if (v->type != ACRE_VAL_NULL)
                return 0;
            continue;
        }
        if (keep(&p, &params[k++], t->cols[st->where[i]].type))
            return -1;
        d = cmp(v, &p);
        if (p.type == ACRE_VAL_TEXT)
            free((char *)p.s);
        if (v->type == ACRE_VAL_NULL || p.type == ACRE_VAL_NULL)
            return 0; /* NULL compares to nothing */
        if (!(op == ACRE_EQ   ? d == 0
              : op == ACRE_NE ? d != 0
              : op == ACRE_LT ? d < 0
              : op == ACRE_LE ? d <= 0
              : op == ACRE_GT ? d > 0
                              : d >= 0))
            return 0;
    }
    return 1;
}

static const acre_stmt *sorting;

static int order_cmp(const void *x, const void *y)
{
    const mrow *a = *(mrow *const *)x, *b = *(mrow *const *)y;
    for (int i = 0; i < sorting->norder; i++) {
        int d = cmp(&a->v[sorting->order[i]], &b->v[sorting->order[i]]);
        if (d)
            return sorting->q->desc ? -d : d;
    }
    /* ties in key order, in the same direction (qsort is not stable) */
    return sorting->q->desc ? -key_cmp(sorting->tab->t, a, b) : key_cmp(sorting->tab->t, a, b);
}

/* a and b compared on their table's key but its last column (seq) */
static int prefix_cmp(const acre_table *t, const mrow *a, const mrow *b)
{
    for (int i = 0; i < t->nkey - 1; i++) {
        int d = cmp(&a->v[t->key[i]], &b->v[t->key[i]]);
        if (d)
            return d;
    }
    return 0;
}

/* The rows matching st, in its order (a new array of borrowed rows). */
static int select_rows(const acre_stmt *st, const acre_value *params, mrow ***out, long *n)
{
    mtable *m = st->tab;
    mrow **v = malloc((size_t)(m->n + 1) * sizeof *v);
    *n = 0;
    if (!v)
        return -1;
    for (long r = 0; r < m->n; r++) {
        int ok = matches(st, m->rows[r], params);
        if (ok < 0) {
            free(v);
            return -1;
        }
        if (ok)
            v[(*n)++] = m->rows[r];
    }
    if (st->q->kind == ACRE_Q_RECORDS) {
        /* a record's rows are together (rows are kept in key order, seq last): each record
         * with a matching row, all its rows up to the last parameter's seq */
        const acre_table *t = m->t;
        int np = 0, seq = t->key[t->nkey - 1];
        long kept = 0;
        mrow **w = malloc((size_t)(m->n + 1) * sizeof *w);
        if (!w) {
            free(v);
            return -1;
        }
        for (int i = 0; i < st->nwhere; i++)
            np += st->q->where[i].op != ACRE_ISNULL;
        for (long r = 0, i = 0; r < m->n;) {
            long end = r + 1, any = 0;
            while (end < m->n && prefix_cmp(t, m->rows[r], m->rows[end]) == 0)
                end++;
            for (; i < *n && prefix_cmp(t, v[i], m->rows[r]) <= 0; i++)
                any |= prefix_cmp(t, v[i], m->rows[r]) == 0;
            for (long k = r; any && k < end; k++)
                if (m->rows[k]->v[seq].i <= params[np - 1].i)
                    w[kept++] = m->rows[k];
            r = end;
        }
        free(v);
        v = w;
        *n = kept;
    }
    if (st->q->kind == ACRE_Q_SELECT || st->q->kind == ACRE_Q_RECORDS) {
        sorting = st;
        qsort(v, (size_t)*n, sizeof *v, order_cmp);
        sorting = NULL;
    }
    *out = v;
    return 0;
}

static int insert(mtable *m, const acre_value *params, int replace, acre_error *err)
{
    const acre_table *t = m->t;
    mrow src = {(acre_value *)params}, *r;
    long at;
    int found;
    for (int i = 0; i < t->ncols; i++)
        if (t->cols[i].notnull && params[i].type == ACRE_VAL_NULL)
            return acre_error_set(err, ACRE_EIO, NULL, "store", "NOT NULL constraint failed: %s.%s",
                                  t->name, t->cols[i].name);
    if (!(r = row_copy(&src, t)))
        return oom(err);
    at = position(m, r, &found);
    if (found && !replace) {
        row_free(r, t->ncols);
        return acre_error_set(err, ACRE_EIO, NULL, "store", "UNIQUE constraint failed: %s",
                              t->name);
    }
    if (found) {
        row_free(m->rows[at], t->ncols);
        m->rows[at] = r;
        return 0;
    }
    if (m->n == m->cap) {
        long cap = m->cap ? m->cap * 2 : 16;
        mrow **v = realloc(m->rows, (size_t)cap * sizeof *v);
        if (!v) {
            row_free(r, t->ncols);
            return oom(err);
        }
        m->rows = v;
        m->cap = cap;
    }
    memmove(&m->rows[at + 1], &m->rows[at], (size_t)(m->n - at) * sizeof *m->rows);
    m->rows[at] = r;
    m->n++;
    return 0;
}

static int run(acre_store_backend *b, acre_stmt *st, const acre_value *params, acre_row_fn fn,
               void *ctx, acre_error *err)
{
    mem *m = (mem *)b;
    const acre_query *q = st->q;
    mrow **rows;
    long n;
    int rc = 0;

    st->tab = &m->tables[st->ti];
    switch (q->kind) {
    case ACRE_Q_INSERT:
    case ACRE_Q_REPLACE:
        return insert(st->tab, params, q->kind == ACRE_Q_REPLACE, err);
    case ACRE_Q_SELECT:
    case ACRE_Q_RECORDS:
        if (select_rows(st, params, &rows, &n))
            return oom(err);
        for (long i = 0; i < n && (q->limit <= 0 || i < q->limit) && !rc; i++) {
            acre_value out[ACRE_Q_MAX];
            for (int c = 0; c < st->ncols; c++)
                out[c] = rows[i]->v[st->cols[c]];
            rc = fn(ctx, out, st->ncols, err);
        }
        free(rows);
        return rc > 0 ? 0 : rc;
    case ACRE_Q_UPDATE:
        if (select_rows(st, params + st->ncols, &rows, &n))
            return oom(err);
        for (long i = 0; i < n; i++)
            for (int c = 0; c < st->ncols; c++) {
                acre_value *v = &rows[i]->v[st->cols[c]];
                acre_value nv;
                if (keep(&nv, &params[c], st->tab->t->cols[st->cols[c]].type)) {
                    free(rows);
                    return oom(err);
                }
                if (v->type == ACRE_VAL_TEXT)
                    free((char *)v->s);
                *v = nv;
            }
        free(rows);
        /* a key column changed: sort again */
        sorting = st;
        for (long i = 1; i < st->tab->n; i++)
            if (key_cmp(st->tab->t, st->tab->rows[i - 1], st->tab->rows[i]) > 0) {
                qsort(st->tab->rows, (size_t)st->tab->n, sizeof *st->tab->rows, order_cmp);
                break;
            }
        sorting = NULL;
        return 0;
    case ACRE_Q_DELETE: {
        /* which rows go is decided first, so that a failure leaves the table whole */
        char *gone = calloc((size_t)st->tab->n + 1, 1);
        long kept = 0;
        if (!gone)
            return oom(err);
        for (long i = 0; i < st->tab->n; i++) {
            int ok = matches(st, st->tab->rows[i], params);
            if (ok < 0) {
                free(gone);
                return oom(err);
            }
            gone[i] = (char)ok;
        }
        for (long i = 0; i < st->tab->n; i++) {
            if (gone[i])
                row_free(st->tab->rows[i], st->tab->t->ncols);
            else
                st->tab->rows[kept++] = st->tab->rows[i];
        }
        st->tab->n = kept;
        free(gone);
        return 0;
    }
    }
    return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "memstore: unknown query kind");
}

static void finalize(acre_store_backend *b, acre_stmt *st)
{
    (void)b;
    free(st);
}

static void backend_free(acre_store_backend *b)
{
    mem *m = (mem *)b;
    if (!m)
        return;
    tables_free(m->saved, m->ntables);
    tables_free(m->tables, m->ntables);
    free(m);
}

int memstore_backend(acre_store_backend **out, acre_error *err)
{
    const acre_table *const *all = acre_store_tables();
    mem *m = calloc(1, sizeof *m);
    int n = 0;
    *out = NULL;
    while (all[n])
        n++;
    if (!m || !(m->tables = calloc((size_t)n, sizeof *m->tables))) {
        free(m);
        return oom(err);
    }
    m->ntables = n;
    for (int i = 0; i < n; i++)
        m->tables[i].t = all[i];
    m->parent.version = ACRE_STORE_BACKEND_VERSION;
    m->parent.name = "memory";
    m->parent.begin = begin;
    m->parent.commit = commit;
    m->parent.rollback = rollback;
    m->parent.prepare = prepare;
    m->parent.run = run;
    m->parent.finalize = finalize;
    m->parent.free = backend_free;
    /* a new store: the sequence counter at 0, as every backend starts it */
    {
        acre_value row[2] = {acre_val_text("seq"), acre_val_int(0)};
        acre_value from[2] = {acre_val_text("log_from"), acre_val_int(0)};
        acre_value after[2] = {acre_val_text("log_after"), acre_val_int(-1)};
        for (int i = 0; i < n; i++)
            if (strcmp(m->tables[i].t->name, "counter") == 0 &&
                (insert(&m->tables[i], row, 0, err) || insert(&m->tables[i], from, 0, err) ||
                 insert(&m->tables[i], after, 0, err))) {
                backend_free(&m->parent);
                return ACRE_ENOMEM;
            }
    }
    *out = &m->parent;
    return 0;
}

int memstore_open(acre_store **out, const char *path, acre_error *err)
{
    acre_store_backend *b;
    int rc;
    (void)path;
    if ((rc = memstore_backend(&b, err)))
        return rc;
    return acre_store_open_backend(out, b, err);
}
