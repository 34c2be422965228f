/* engine/audit_logs.c — the logs an incremental close reads instead of the records (docs/design.md
 * "An incremental close"), rebuilt from the record tables and compared row by row:
 *   - late_version: every version stored after counter log_from, dated in a month closed before
 *     it was stored (the last close with a lower seq had its period at or after the version's
 *     month), and no other;
 *   - txn_versions: for every transaction version after its key's first, its month and its
 *     predecessor's month at its seq, and no other row.
 * A row missing from either would make an incremental close miss a record or count two versions
 * of one; a row too many only costs a read, but neither is what acre writes, so both are
 * reported. Reads every record version once (about as long as quick_check on such a store). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "audit_int.h"
#include "buf.h"
#include "close.h"
#include "datetime.h"
#include "store_int.h"

/* One log row, expected or stored: its seq, then text (table and key, or period and ID). */
typedef struct lrow {
    long long seq;
    long period; /* txn_versions */
    char *text;
} lrow;

typedef struct rows {
    lrow *v;
    size_t n, cap;
    int oom;
} rows;

typedef struct logs {
    FILE *out;
    int *nbad;
    long long *cseq; /* each close's watermark and period, in order */
    int *cper, ncloses;
    long long log_from;
    const char *table; /* the table being read */
    int nkey;
    rows want, have;
    /* txn_versions: the previous row of the transaction scan */
    acre_buf prev_id;
    long prev_period;
} logs;

static void push(rows *r, long long seq, long period, const char *text)
{
    lrow *n;
    if (r->oom)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        if (!(n = acre_realloc(r->v, cap * sizeof *n))) {
            r->oom = 1;
            return;
        }
        r->v = n;
        r->cap = cap;
    }
    n = &r->v[r->n];
    if (!(n->text = acre_strdup(text))) {
        r->oom = 1;
        return;
    }
    n->seq = seq;
    n->period = period;
    r->n++;
}

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].text);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int by_seq(const void *a, const void *b)
{
    const lrow *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_period(const void *a, const void *b)
{
    const lrow *x = a, *y = b;
    int d;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    if ((d = strcmp(x->text, y->text)))
        return d;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static long month_of(const char *d)
{
    return acre_month_of(d, d ? strlen(d) : 0);
}

/* "table k1/k2/..." of a row whose first n columns are the key. */
static void key_text(acre_buf *b, const char *table, const acre_value *row, int n)
{
    acre_buf_reset(b);
    acre_buf_adds(b, table);
    for (int i = 0; i < n; i++)
        if (row[i].type == ACRE_VAL_TEXT)
            acre_buf_printf(b, "%s%s", i ? "/" : " ", row[i].s);
}

/* A record version (key, date, seq): expected in late_version when stored after a close whose
 * period is at or after its month. */
static int want_late(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    logs *l = arg;
    long long seq = row[ncol - 1].i;
    long month = month_of(row[ncol - 2].s);
    int lo = 0, hi = l->ncloses;
    (void)err;
    while (lo < hi) { /* the first close at or after seq */
        int mid = (lo + hi) / 2;
        if (l->cseq[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && month >= 0 && month <= l->cper[lo - 1]) {
        acre_buf b = {0};
        key_text(&b, l->table, row, l->nkey);
        if (b.oom)
            l->want.oom = 1;
        else
            push(&l->want, seq, 0, b.p);
        acre_buf_free(&b);
    }
    return 0;
}

static int have_late(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    logs *l = arg;
    acre_buf b = {0};
    (void)ncol;
    (void)err;
    key_text(&b, row[1].s ? row[1].s : "", row + 2, 4);
    if (b.oom)
        l->have.oom = 1;
    else
        push(&l->have, row[0].i, 0, b.p);
    acre_buf_free(&b);
    return 0;
}

/* A transaction version, in (ID, seq) order: after its key's first, expected in txn_versions
 * under its month and its predecessor's. */
static int want_versions(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    logs *l = arg;
    long month = month_of(row[1].s);
    (void)ncol;
    (void)err;
    if (l->prev_id.p && strcmp(l->prev_id.p, row[0].s) == 0) {
        push(&l->want, row[2].i, month, row[0].s);
        if (l->prev_period != month)
            push(&l->want, row[2].i, l->prev_period, row[0].s);
    } else {
        acre_buf_reset(&l->prev_id);
        acre_buf_adds(&l->prev_id, row[0].s);
        if (l->prev_id.oom)
            l->want.oom = 1;
    }
    l->prev_period = month;
    return 0;
}

static int have_versions(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    logs *l = arg;
    (void)ncol;
    (void)err;
    push(&l->have, row[2].i, (long)row[0].i, row[1].s ? row[1].s : "");
    return 0;
}

static void bad(logs *l, const char *fmt, const lrow *r, const char *table)
{
    char when[8] = "-1";
    if (table && r->period >= 0)
        acre_period_text(when, (int)r->period);
    fprintf(l->out, "store\tFAIL\t");
    if (table)
        fprintf(l->out, fmt, table, when, r->text, r->seq);
    else
        fprintf(l->out, fmt, r->text, r->seq);
    fputc('\n', l->out);
    (*l->nbad)++;
}

/* Merges want and have (sorted by cmp) and reports the rows of either the other lacks. */
static void compare(logs *l, int (*cmp)(const void *, const void *), const char *table,
                    const char *missing, const char *extra)
{
    size_t i = 0, j = 0;
    if (l->want.n > 1)
        qsort(l->want.v, l->want.n, sizeof *l->want.v, cmp);
    if (l->have.n > 1)
        qsort(l->have.v, l->have.n, sizeof *l->have.v, cmp);
    while (i < l->want.n || j < l->have.n) {
        int d = i == l->want.n   ? 1
                : j == l->have.n ? -1
                                 : cmp(&l->want.v[i], &l->have.v[j]);
        if (!d && !table && strcmp(l->want.v[i].text, l->have.v[j].text) != 0)
            d = -2; /* late_version: the same seq logged for another record */
        if (d == 0) {
            i++, j++;
        } else if (d < 0) {
            bad(l, missing, &l->want.v[i++], table);
            if (d == -2)
                bad(l, extra, &l->have.v[j++], table);
        } else {
            bad(l, extra, &l->have.v[j++], table);
        }
    }
}

static int add_close(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    logs *l = arg;
    long long *s = acre_realloc(l->cseq, (size_t)(l->ncloses + 1) * sizeof *s);
    int *p = s ? acre_realloc(l->cper, (size_t)(l->ncloses + 1) * sizeof *p) : NULL;
    (void)ncol;
    if (s)
        l->cseq = s;
    if (!p)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    l->cper = p;
    l->cseq[l->ncloses] = row[1].i;
    l->cper[l->ncloses++] = (int)row[0].i;
    return 0;
}

int acre_audit_logs(acre_store *s, FILE *out, int *nbad, acre_error *err)
{
    static const acre_query q_closes = {
        ACRE_Q_SELECT, "close", {"period", "seq", NULL}, {{NULL, 0}}, {"period", NULL}, 0, 0};
    static const acre_query q_late = {ACRE_Q_SELECT,
                                      "late_version",
                                      {"seq", "tbl", "k1", "k2", "k3", "k4", NULL},
                                      {{NULL, 0}},
                                      {NULL},
                                      0,
                                      0};
    static const acre_query q_versions = {ACRE_Q_SELECT,
                                          "txn_versions",
                                          {"period", "transaction_id", "seq", NULL},
                                          {{NULL, 0}},
                                          {NULL},
                                          0,
                                          0};
    static const acre_query q_txn_all = {ACRE_Q_SELECT,
                                         "txn",
                                         {"transaction_id", "transaction_date", "seq", NULL},
                                         {{NULL, 0}},
                                         {"transaction_id", "seq", NULL},
                                         0,
                                         0};
    /* each streamed table's key, its date, its seq: the versions after log_from */
    static const acre_query q_dated[] = {
        {ACRE_Q_SELECT,
         "txn",
         {"transaction_id", "transaction_date", "seq", NULL},
         {{"seq", ACRE_GT}},
         {NULL},
         0,
         0},
        {ACRE_Q_SELECT,
         "gaming_activity",
         {"date", "customer_id", "game_type", "currency", "date", "seq", NULL},
         {{"seq", ACRE_GT}},
         {NULL},
         0,
         0},
        {ACRE_Q_SELECT,
         "trading_activity",
         {"date", "customer_id", "instrument", "currency", "date", "seq", NULL},
         {{"seq", ACRE_GT}},
         {NULL},
         0,
         0},
        {ACRE_Q_SELECT,
         "bonus_event",
         {"user_bonus_id", "status", "timestamp", "seq", NULL},
         {{"seq", ACRE_GT}},
         {NULL},
         0,
         0}};
    static const int nkey[] = {1, 4, 4, 2};
    logs l;
    int rc;

    memset(&l, 0, sizeof l);
    l.out = out;
    l.nbad = nbad;
    l.log_from = -1;
    if ((rc = acre_store_query(s, &q_closes, NULL, add_close, &l, "reading closes", err)) ||
        (rc = acre_store_counter(s, "log_from", &l.log_from, err)))
        goto out;
    if (l.log_from < 0) {
        fprintf(out, "store\tFAIL\tthe counter log_from is missing: no close can read "
                     "incrementally\n");
        (*nbad)++;
    } else {
        acre_value from = acre_val_int(l.log_from);
        for (size_t t = 0; t < sizeof q_dated / sizeof q_dated[0]; t++) {
            l.table = q_dated[t].table;
            l.nkey = nkey[t];
            if ((rc = acre_store_query(s, &q_dated[t], &from, want_late, &l,
                                       "reading the record versions", err)))
                goto out;
        }
        if ((rc = acre_store_query(s, &q_late, NULL, have_late, &l, "reading late_version",
                                   err)))
            goto out;
        if (l.want.oom || l.have.oom)
            goto oom;
        compare(&l, by_seq, NULL,
                "late_version has no row for %s (seq %lld), a version stored dated in a month "
                "closed before it: an incremental close would not read it",
                "late_version has a row for %s (seq %lld), which is not a version stored dated "
                "in a closed month");
        rows_free(&l.want);
        rows_free(&l.have);
    }
    if ((rc = acre_store_query(s, &q_txn_all, NULL, want_versions, &l, "reading transactions",
                               err)) ||
        (rc = acre_store_query(s, &q_versions, NULL, have_versions, &l, "reading txn_versions",
                               err)))
        goto out;
    if (l.want.oom || l.have.oom || l.prev_id.oom)
        goto oom;
    compare(&l, by_period, "txn_versions",
            "%s has no row (%s, %s, seq %lld) for a transaction stored in several versions: an "
            "incremental close would count two of them",
            "%s has a row (%s, %s, seq %lld) that no transaction's versions give");
    goto out;
oom:
    rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory: the audit stopped");
out:
    rows_free(&l.want);
    rows_free(&l.have);
    acre_buf_free(&l.prev_id);
    free(l.cseq);
    free(l.cper);
    return rc;
}
