/* engine/ingest_store.c — what an ingest reads and writes: a kind's versions, references, the
 * batch row, as query shapes (include/acre/sys/store.h).
 *
 * Shapes are built from the kind's row (table and column names from acre's own table, never
 * from input) and every value is a parameter. A kind's versions are rows keyed by its key and
 * `seq`; the current version of a key is its row with the highest seq (engine/store.c). */
#include "ingest_store.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "datetime.h"
#include "jsonval.h"
#include "store_int.h"
#include "strset.h"

struct acre_istore {
    acre_store *s;
    const acre_kind *k;
    acre_query qcurrent, qinsert, qexists[ACRE_MAX_REFS], qprefix;
    acre_stmt *current, *insert, *prefix; /* prefix: prepared on first use, for prefix_n */
    int prefix_n;
    acre_stmt *exists[ACRE_MAX_REFS];
    acre_buf text; /* the texts of the row acre_istore_current returned */
    /* a table the close streams: the column its period is read from, or -1; the last closed
     * period (-1: none), and the statement that logs a version dated in a closed period */
    int date_col, last_closed;
    acre_stmt *log;
    acre_stmt *versions; /* txn: a version after the first, under its months */
    /* transactions and activity: the customers whose records the batch stored a version of,
     * whose qualification is then evaluated (engine/events.c) */
    int cust_col;
    acre_strset changed;
    /* read ahead (acre_istore_ahead): the current versions of a chunk's keys, by the key's
     * bytes (key_bytes) to an index in ahead_e, kept as the chunk's inserts change them */
    acre_strset ahead;
    struct ahead_entry *ahead_e;
    long ahead_n, ahead_cap;
    acre_buf keyb;
};

/* A key read ahead: whether it has a version, and its current version (texts in `text`, one
 * block of the entry's own, NULL when none). */
typedef struct ahead_entry {
    int found;
    char *text;
    acre_cell row[ACRE_MAX_COLS];
} ahead_entry;

/* The tables whose records a close streams (engine/close_load.c), each with the column that
 * dates a record: a version stored dated in a closed period is logged in late_version, which is
 * what the next close reads of the months it does not close (docs/design.md "An incremental
 * close"). */
static const struct {
    const char *table, *date;
} dated[] = {{"txn", "transaction_date"},
             {"gaming_activity", "date"},
             {"trading_activity", "date"},
             {"bonus_event", "timestamp"}};

static const acre_query q_last_close = {
    ACRE_Q_SELECT, "close", {"period", NULL}, {{NULL, 0}}, {"period", NULL}, 1, 1};
static const acre_query q_log = {ACRE_Q_INSERT, "late_version", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
static const acre_query q_versions = {
    ACRE_Q_REPLACE, "txn_versions", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};

static acre_value value_of(const acre_cell *c)
{
    acre_value v = {ACRE_VAL_NULL, 0, NULL, 0};
    if (c->t == CELL_TEXT) {
        v.type = ACRE_VAL_TEXT;
        v.s = c->s;
        v.n = c->len;
    } else if (c->t == CELL_INT) {
        v.type = ACRE_VAL_INT;
        v.i = c->i;
    }
    return v;
}

static void cell_of(acre_cell *c, const acre_value *v)
{
    memset(c, 0, sizeof *c);
    if (v->type == ACRE_VAL_INT) {
        c->t = CELL_INT;
        c->i = v->i;
    } else if (v->type == ACRE_VAL_TEXT) {
        c->t = CELL_TEXT;
        c->s = v->s;
        c->len = v->n;
    }
}

/* q: SELECT every column of the kind (then seq) from its table. */
static void select_cols(acre_query *q, const acre_kind *k)
{
    memset(q, 0, sizeof *q);
    q->kind = ACRE_Q_SELECT;
    q->table = k->table;
    for (int i = 0; i < k->ncols; i++)
        q->cols[i] = k->cols[i].name;
    q->cols[k->ncols] = "seq";
}

int acre_istore_open(acre_istore **out, acre_store *s, const acre_kind *k, acre_error *err)
{
    acre_istore *is = acre_calloc(1, sizeof *is);
    int rc;

    *out = NULL;
    if (!is)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    is->s = s;
    is->k = k;
    if ((rc = acre_store_begin(s, err))) {
        free(is);
        return rc;
    }
    /* the newest version of a key */
    select_cols(&is->qcurrent, k);
    for (int i = 0; i < k->nkey; i++)
        is->qcurrent.where[i] = (acre_cond){k->cols[i].name, ACRE_EQ};
    is->qcurrent.order[0] = "seq";
    is->qcurrent.desc = 1;
    is->qcurrent.limit = 1;
    if ((rc = acre_store_stmt(s, &is->qcurrent, &is->current, err)))
        goto out;
    is->qinsert.kind = ACRE_Q_INSERT;
    is->qinsert.table = k->table;
    if ((rc = acre_store_stmt(s, &is->qinsert, &is->insert, err)))
        goto out;
    is->date_col = is->cust_col = -1;
    if (strcmp(k->table, "txn") == 0 || strcmp(k->table, "gaming_activity") == 0 ||
        strcmp(k->table, "trading_activity") == 0)
        is->cust_col = acre_kind_col(k, "customer_id");
    for (size_t i = 0; i < sizeof dated / sizeof dated[0]; i++)
        if (strcmp(k->table, dated[i].table) == 0)
            for (int c = 0; c < k->ncols; c++)
                if (strcmp(k->cols[c].name, dated[i].date) == 0)
                    is->date_col = c;
    if (is->date_col >= 0) {
        long long last = -1;
        /* inside the write transaction: no close commits before this batch does */
        if ((rc = acre_store_int(s, &q_last_close, NULL, &last, "reading the last close", err)) ||
            (rc = acre_store_stmt(s, &q_log, &is->log, err)))
            goto out;
        is->last_closed = (int)last;
        if (strcmp(k->table, "txn") == 0 &&
            (rc = acre_store_stmt(s, &q_versions, &is->versions, err)))
            goto out;
    }
    for (int i = 0; i < k->nrefs && i < ACRE_MAX_REFS; i++) {
        const acre_kind *to = k->refs[i].kind;
        acre_query *q = &is->qexists[i];
        q->kind = ACRE_Q_SELECT;
        q->table = to->table;
        q->cols[0] = to->cols[0].name;
        q->where[0] = (acre_cond){to->cols[0].name, ACRE_EQ};
        q->limit = 1;
        if ((rc = acre_store_stmt(s, q, &is->exists[i], err)))
            goto out;
    }
out:
    if (rc)
        acre_istore_abort(is);
    else
        *out = is;
    return rc;
}

static void forget_ahead(acre_istore *is)
{
    for (long i = 0; i < is->ahead_n; i++)
        free(is->ahead_e[i].text);
    is->ahead_n = 0;
    acre_strset_free(&is->ahead);
}

static void finalize(acre_istore *is)
{
    acre_store_done(is->s, is->current);
    acre_store_done(is->s, is->insert);
    acre_store_done(is->s, is->prefix);
    acre_store_done(is->s, is->log);
    acre_store_done(is->s, is->versions);
    for (int i = 0; i < ACRE_MAX_REFS; i++)
        acre_store_done(is->s, is->exists[i]);
    acre_buf_free(&is->text);
    acre_strset_free(&is->changed);
    forget_ahead(is);
    free(is->ahead_e);
    acre_buf_free(&is->keyb);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int acre_istore_customers(acre_istore *is, char ***ids, int *n, acre_error *err)
{
    char **v = NULL;
    int k = 0;
    *ids = NULL;
    *n = 0;
    if (!is->changed.n)
        return 0;
    if (!(v = acre_calloc(is->changed.n, sizeof *v)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    for (size_t i = 0; i < is->changed.cap; i++) {
        const char *key = acre_strset_key(&is->changed, i);
        if (key && !(v[k++] = acre_strndup(key, is->changed.slots[i].len))) {
            while (k > 0)
                free(v[--k]);
            free(v);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
    }
    qsort(v, (size_t)k, sizeof *v, by_text);
    *ids = v;
    *n = k;
    return 0;
}

int acre_istore_commit(acre_istore *is, acre_error *err)
{
    int rc;
    finalize(is); /* no statement open across the commit */
    rc = acre_store_commit(is->s, err); /* a failed commit has rolled its level back */
    free(is);
    return rc;
}

void acre_istore_abort(acre_istore *is)
{
    if (!is)
        return;
    finalize(is);
    acre_store_rollback(is->s);
    free(is);
}

typedef struct current {
    acre_istore *is;
    acre_cell *row;
    int found;
} current;

/* Keeps the row: its texts copied into is->text, so they outlive the read. */
static int keep_current(void *ctx, const acre_value *row, int n, acre_error *err)
{
    current *c = ctx;
    acre_buf *t = &c->is->text;
    size_t off[ACRE_MAX_COLS];
    int ncols = c->is->k->ncols;
    (void)n;
    acre_buf_reset(t);
    for (int i = 0; i < ncols; i++) {
        off[i] = t->len;
        if (row[i].type == ACRE_VAL_TEXT)
            acre_buf_add(t, row[i].s, row[i].n + 1);
    }
    if (t->oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    for (int i = 0; i < ncols; i++) {
        cell_of(&c->row[i], &row[i]);
        if (row[i].type == ACRE_VAL_TEXT)
            c->row[i].s = t->p + off[i];
    }
    c->found = 1;
    return 1;
}

/* ---- reading ahead --------------------------------------------------------------------- */

/* The bytes that name key[0..nkey) in is->ahead (in is->keyb): each column's type, then its
 * integer, or its length and text. 0, or ACRE_ENOMEM. */
static int key_bytes(acre_istore *is, const acre_cell *key)
{
    acre_buf *b = &is->keyb;
    acre_buf_reset(b);
    b->oom = 0;
    for (int i = 0; i < is->k->nkey; i++) {
        const acre_cell *c = &key[i];
        char t = (char)c->t;
        acre_buf_add(b, &t, 1);
        if (c->t == CELL_INT) {
            acre_buf_add(b, (const char *)&c->i, sizeof c->i);
        } else if (c->t == CELL_TEXT) {
            acre_buf_add(b, (const char *)&c->len, sizeof c->len);
            acre_buf_add(b, c->s, c->len);
        }
    }
    return b->oom ? ACRE_ENOMEM : 0;
}

/* e's row made a copy of cells[0..ncols): its texts, each NUL-terminated, in one new block.
 * 0, or ACRE_ENOMEM (e as it was). */
static int ahead_set(ahead_entry *e, const acre_cell *cells, int ncols)
{
    size_t need = 1, at = 0;
    char *text;
    for (int i = 0; i < ncols; i++)
        if (cells[i].t == CELL_TEXT)
            need += cells[i].len + 1;
    if (!(text = acre_malloc(need)))
        return ACRE_ENOMEM;
    for (int i = 0; i < ncols; i++) {
        e->row[i] = cells[i];
        if (cells[i].t == CELL_TEXT) {
            memcpy(text + at, cells[i].s, cells[i].len);
            text[at + cells[i].len] = '\0';
            e->row[i].s = text + at;
            at += cells[i].len + 1;
        }
    }
    free(e->text);
    e->text = text;
    e->found = 1;
    return 0;
}

typedef struct ahead_ctx {
    acre_istore *is;
    long set; /* the set whose row is given: the entry it was read for */
} ahead_ctx;

static int ahead_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    ahead_ctx *a = ctx;
    acre_cell cells[ACRE_MAX_COLS];
    int ncols = a->is->k->ncols;
    (void)n;
    for (int i = 0; i < ncols; i++)
        cell_of(&cells[i], &row[i]);
    if (ahead_set(&a->is->ahead_e[a->set], cells, ncols))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 0;
}

int acre_istore_ahead(acre_istore *is, long n, const acre_cell *cells, acre_error *err)
{
    const acre_kind *k = is->k;
    ahead_ctx a = {is, 0};
    acre_value *p = NULL;
    long nsets = 0;
    int rc = 0;

    forget_ahead(is);
    if (n <= 0)
        return 0;
    if (n > is->ahead_cap) {
        ahead_entry *e = acre_realloc(is->ahead_e, (size_t)n * sizeof *e);
        if (!e)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        is->ahead_e = e;
        is->ahead_cap = n;
    }
    if (!(p = acre_malloc((size_t)n * (size_t)k->nkey * sizeof *p)) ||
        acre_strset_reserve(&is->ahead, (size_t)n)) {
        rc = ACRE_ENOMEM;
        goto out;
    }
    for (long i = 0; i < n; i++) {
        const acre_cell *key = cells + (size_t)i * (size_t)k->ncols;
        if ((rc = key_bytes(is, key)))
            goto out;
        if (acre_strset_get(&is->ahead, is->keyb.p, is->keyb.len, NULL))
            continue; /* a key twice in the chunk: read once */
        if ((rc = acre_strset_put(&is->ahead, is->keyb.p, is->keyb.len, nsets)))
            goto out;
        is->ahead_e[nsets].found = 0;
        is->ahead_e[nsets].text = NULL;
        for (int c = 0; c < k->nkey; c++)
            p[(size_t)nsets * (size_t)k->nkey + (size_t)c] = value_of(&key[c]);
        is->ahead_n = ++nsets;
    }
    rc = acre_store_run_sets(is->s, is->current, p, k->nkey, nsets, &a.set, ahead_row, &a,
                             "reading the stored versions", err);
out:
    if (rc == ACRE_ENOMEM)
        acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (rc)
        forget_ahead(is);
    free(p);
    return rc;
}

/* The version just stored of a key read ahead becomes its current one there. */
static int ahead_stored(acre_istore *is, const acre_cell *cells, acre_error *err)
{
    long at;
    if (!is->ahead.n)
        return 0;
    if (key_bytes(is, cells) || (acre_strset_get(&is->ahead, is->keyb.p, is->keyb.len, &at) &&
                                 ahead_set(&is->ahead_e[at], cells, is->k->ncols)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 0;
}

typedef struct exists_ctx {
    char *found;
    long set;
} exists_ctx;

static int exists_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    exists_ctx *x = ctx;
    (void)row, (void)n, (void)err;
    x->found[x->set] = 1;
    return 0;
}

int acre_istore_exists_each(acre_istore *is, int ref, long n, const acre_cell *ids, char *found,
                            acre_error *err)
{
    exists_ctx x = {found, 0};
    acre_value *p;
    int rc;
    memset(found, 0, (size_t)n);
    if (n <= 0)
        return 0;
    if (!(p = acre_malloc((size_t)n * sizeof *p)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    for (long i = 0; i < n; i++)
        p[i] = value_of(&ids[i]);
    rc = acre_store_run_sets(is->s, is->exists[ref], p, 1, n, &x.set, exists_row, &x,
                             "looking up a reference", err);
    free(p);
    return rc;
}

/* ---- one key --------------------------------------------------------------------------- */

int acre_istore_current(acre_istore *is, const acre_cell *key, acre_cell *row, const char *what,
                        acre_error *err)
{
    acre_value p[ACRE_MAX_COLS];
    current c = {is, row, 0};
    long at;
    int rc;
    if (is->ahead.n) {
        if (key_bytes(is, key))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        if (acre_strset_get(&is->ahead, is->keyb.p, is->keyb.len, &at)) {
            const ahead_entry *e = &is->ahead_e[at];
            if (e->found)
                memcpy(row, e->row, (size_t)is->k->ncols * sizeof *row);
            return e->found;
        }
    }
    is->text.oom = 0;
    for (int i = 0; i < is->k->nkey; i++)
        p[i] = value_of(&key[i]);
    rc = acre_store_run(is->s, is->current, p, keep_current, &c, what, err);
    return rc ? rc : c.found;
}

static int same_key(const acre_value *a, const acre_value *b, int nkey)
{
    for (int i = 0; i < nkey; i++) {
        if (a[i].type != b[i].type)
            return 0;
        if (a[i].type == ACRE_VAL_INT && a[i].i != b[i].i)
            return 0;
        if (a[i].type == ACRE_VAL_TEXT && (a[i].n != b[i].n || memcmp(a[i].s, b[i].s, a[i].n) != 0))
            return 0;
    }
    return 1;
}

int acre_istore_each_current(acre_istore *is, int n, const acre_cell *key, acre_istore_row_fn fn,
                             void *ctx, const char *what, acre_error *err)
{
    const acre_kind *k = is->k;
    acre_value p[ACRE_MAX_COLS];
    acre_cell row[ACRE_MAX_COLS];
    acre_rows rows;
    int rc;

    if (is->prefix && is->prefix_n != n) {
        acre_store_done(is->s, is->prefix);
        is->prefix = NULL;
    }
    if (!is->prefix) {
        /* every version under the prefix, each key's together and oldest first: the last of
         * each key is its current version */
        select_cols(&is->qprefix, k);
        for (int i = 0; i < n; i++)
            is->qprefix.where[i] = (acre_cond){k->cols[i].name, ACRE_EQ};
        for (int i = 0; i < k->nkey; i++)
            is->qprefix.order[i] = k->cols[i].name;
        is->qprefix.order[k->nkey] = "seq";
        if ((rc = acre_store_stmt(is->s, &is->qprefix, &is->prefix, err)))
            return rc;
        is->prefix_n = n;
    }
    for (int i = 0; i < n; i++)
        p[i] = value_of(&key[i]);
    memset(&rows, 0, sizeof rows);
    /* kept whole: the current version of a key is known only at the next key */
    if ((rc = acre_store_rows_stmt(is->s, is->prefix, p, &rows, what, err)))
        return rc;
    for (long r = 0; r < rows.n && !rc; r++) {
        const acre_value *v = acre_row(&rows, r);
        if (r + 1 < rows.n && same_key(v, acre_row(&rows, r + 1), k->nkey))
            continue;
        for (int i = 0; i < k->ncols; i++)
            cell_of(&row[i], &v[i]);
        rc = fn(ctx, row);
    }
    acre_rows_free(&rows);
    return rc;
}

/* The month a stored date starts with (a date, or a UTC date-time), or -1. */
static int month_of(const acre_cell *d)
{
    return d->t == CELL_TEXT ? acre_month_of(d->s, d->len) : -1;
}

static int insert_version(acre_istore *is, const acre_cell *cells, const acre_cell *replaced,
                          long long seq, long long batch, acre_error *err)
{
    acre_value p[ACRE_MAX_COLS + 2];
    int n = is->k->ncols, rc, period;
    for (int i = 0; i < n; i++)
        p[i] = value_of(&cells[i]);
    p[n] = acre_val_int(seq);
    p[n + 1] = acre_val_int(batch);
    if ((rc = acre_store_run(is->s, is->insert, p, NULL, NULL, "storing a record", err)))
        return rc;
    if (is->cust_col >= 0 && cells[is->cust_col].t == CELL_TEXT &&
        acre_strset_put(&is->changed, cells[is->cust_col].s, cells[is->cust_col].len, 0))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (is->date_col < 0)
        return 0;
    period = month_of(&cells[is->date_col]);
    if (is->versions && replaced) {
        /* under its month and its predecessor's: a close reading a month finds every
         * transaction with a version in it that has more than one (docs/design.md) */
        int before = month_of(&replaced[is->date_col]);
        acre_value v[3] = {acre_val_int(period), value_of(&cells[0]), acre_val_int(seq)};
        if ((rc = acre_store_run(is->s, is->versions, v, NULL, NULL, "logging a version", err)))
            return rc;
        v[0] = acre_val_int(before);
        if (before != period &&
            (rc = acre_store_run(is->s, is->versions, v, NULL, NULL, "logging a version", err)))
            return rc;
    }
    if (is->last_closed < 0 || period < 0 || period > is->last_closed)
        return 0;
    {
        acre_value l[6];
        l[0] = acre_val_int(seq);
        l[1] = acre_val_text(is->k->table);
        for (int i = 0; i < 4; i++)
            l[2 + i] = i < is->k->nkey ? value_of(&cells[i]) : acre_val_null();
        return acre_store_run(is->s, is->log, l, NULL, NULL, "logging a late version", err);
    }
}

int acre_istore_insert(acre_istore *is, const acre_cell *cells, const acre_cell *replaced,
                       long long seq, long long batch, acre_error *err)
{
    int rc = insert_version(is, cells, replaced, seq, batch, err);
    /* after: `replaced` may be the entry's row, which this frees */
    return rc ? rc : ahead_stored(is, cells, err);
}

static int found(void *ctx, const acre_value *row, int n, acre_error *err)
{
    (void)row;
    (void)n;
    (void)err;
    *(int *)ctx = 1;
    return 1;
}

int acre_istore_exists(acre_istore *is, int ref, const acre_cell *id, acre_error *err)
{
    acre_value p = value_of(id);
    int yes = 0;
    int rc = acre_store_run(is->s, is->exists[ref], &p, found, &yes, "looking up a reference", err);
    return rc ? rc : yes;
}

static const acre_query q_last_batch = {
    ACRE_Q_SELECT, "ingest_batch", {"batch", NULL}, {{NULL, 0}}, {"batch", NULL}, 1, 1};
static const acre_query q_add_batch = {
    ACRE_Q_INSERT, "ingest_batch", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
static const acre_query q_end_batch = {ACRE_Q_UPDATE,
                                       "ingest_batch",
                                       {"sha256", "received", "inserted", "updated", "unchanged",
                                        "rejected", "first_seq", "last_seq", NULL},
                                       {{"batch", ACRE_EQ}},
                                       {NULL},
                                       0,
                                       0};

int acre_istore_batch_start(acre_istore *is, const char *source, const char *stored_at,
                            long long *seq, long long *batch, acre_error *err)
{
    long long last = 0;
    acre_value row[12];
    int rc;
    if ((rc = acre_store_seq(is->s, seq, err)) ||
        (rc = acre_store_int(is->s, &q_last_batch, NULL, &last, "recording the batch", err)))
        return rc;
    *batch = last + 1; /* the next of the batch numbers, as an SQLite rowid is given */
    row[0] = acre_val_int(*batch);
    row[1] = acre_val_text(is->k->name);
    row[2] = acre_val_text(source);
    row[3] = acre_val_text("");
    for (int i = 4; i < 9; i++)
        row[i] = acre_val_int(0);
    row[9] = row[10] = acre_val_null();
    row[11] = acre_val_text(stored_at);
    return acre_store_query(is->s, &q_add_batch, row, NULL, NULL, "recording the batch", err);
}

int acre_istore_batch_finish(acre_istore *is, long long batch, const char *sha,
                             const acre_ingest_summary *sum, long long first_seq,
                             long long last_seq, acre_error *err)
{
    int some = last_seq >= first_seq;
    acre_value p[9] = {acre_val_text(sha),
                       acre_val_int(sum->received),
                       acre_val_int(sum->inserted),
                       acre_val_int(sum->updated),
                       acre_val_int(sum->unchanged),
                       acre_val_int(sum->rejected),
                       some ? acre_val_int(first_seq) : acre_val_null(),
                       some ? acre_val_int(last_seq) : acre_val_null(),
                       acre_val_int(batch)};
    int rc = acre_store_query(is->s, &q_end_batch, p, NULL, NULL, "recording the batch", err);
    return rc ? rc : acre_store_set_seq(is->s, last_seq, err);
}

static const acre_query q_earlier = {ACRE_Q_SELECT,
                                     "ingest_batch",
                                     {"batch", "source", "stored_at", NULL},
                                     {{"kind", ACRE_EQ}, {"sha256", ACRE_EQ}, {"batch", ACRE_NE}},
                                     {"batch", NULL},
                                     0,
                                     1};

typedef struct earlier {
    const char *kind, *sha, *source;
} earlier;

static int refuse_resent(void *ctx, const acre_value *row, int n, acre_error *err)
{
    const earlier *e = ctx;
    const char *at = row[2].type == ACRE_VAL_TEXT ? row[2].s : NULL;
    (void)n;
    return acre_error_set(err, ACRE_EREJECTED, NULL, "resent",
                          "%s: the same bytes (sha256 %.12s) were already ingested as %s batch "
                          "%lld (%.200s) %s%.40s; sending a file again would roll later updates "
                          "back, so nothing of it is stored (--again ingests it anyway)",
                          e->source, e->sha, e->kind, row[0].i, row[1].s ? row[1].s : "",
                          at ? "at " : "at an unknown time", at ? at : "");
}

int acre_istore_resent(acre_istore *is, const char *sha, long long batch, const char *source,
                       acre_error *err)
{
    earlier e = {is->k->name, sha, source};
    acre_value p[3] = {acre_val_text(is->k->name), acre_val_text(sha), acre_val_int(batch)};
    return acre_store_query(is->s, &q_earlier, p, refuse_resent, &e, "looking for an earlier batch",
                            err);
}
