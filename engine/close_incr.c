/* engine/close_incr.c — what an incremental close reads (docs/design.md "An incremental close").
 *
 * Let L be the last close and W its watermark. A record dated in a month after L is read by the
 * queries of class Q_A: the months since L, whole (a bonus event with every version,
 * ACRE_Q_RECORDS, since its date is not in its key; a transaction from the date index alone,
 * Q_AS, unless txn_versions lists it, and then by key with all its versions). A record dated in
 * L's period or before changes nothing unless
 *   - it has a version newer than W: ingest logged that version in late_version (it was dated
 *     in a closed period when stored); Q_C reads each logged record by its key;
 *   - its customer counts now but may not have counted at L (it changed since W, or its
 *     affiliate held no revenue plan at L, or it was excluded at L), or its customer's
 *     qualification is still computed (need_events): Q_B reads that customer's transactions and
 *     bonus events by customer, with every version;
 *   - activity of such customers is needed (a customer counting anew, or a plan with an
 *     activity threshold for a customer whose events are kept): Q_F reads the table's months
 *     before L + 1 whole, as a full read does, since activity has no index by customer.
 * A record may come from several queries; process() (engine/close.c) keeps it from the one its
 * class names and drops it from the others, so each record is processed once, as the full read
 * processes it. What process() does with a record does not depend on the order records come in
 * (acre_late is kept in table and key order, events sorted by time and ID), so the ledger is the
 * full read's byte for byte. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "close_int.h"
#include "datetime.h"
#include "store_int.h"

static const acre_query q_log = {ACRE_Q_SELECT,
                                 "late_version",
                                 {"tbl", "k1", "k2", "k3", "k4", NULL},
                                 {{"seq", ACRE_GT}, {"seq", ACRE_LE}},
                                 {"tbl", "k1", "k2", "k3", "k4", NULL},
                                 0,
                                 0};

/* Q_AS: the transaction versions dated in [lo, hi), in the order of their index; those of
 * transactions with more than one version (txn_versions) are dropped and read by key (Q_A) */
const acre_query acre_close_q_txn_dated = {
    ACRE_Q_SELECT,
    "txn",
    TX_COLS,
    {{"transaction_date", ACRE_GE}, {"transaction_date", ACRE_LT}, {"seq", ACRE_LE}},
    {"transaction_date", "transaction_id", "seq", NULL},
    0,
    0};
static const acre_query q_txn_versions = {
    ACRE_Q_SELECT,
    "txn_versions",
    {"transaction_id", NULL},
    {{"period", ACRE_GE}, {"period", ACRE_LE}, {"seq", ACRE_LE}},
    {"transaction_id", NULL},
    0,
    0};
/* Q_A: the Completed bonus events dated in [lo, hi), with every version */
static const acre_query q_bonus_dated = {
    ACRE_Q_RECORDS,
    "bonus_event",
    BE_COLS,
    {{"status", ACRE_EQ}, {"timestamp", ACRE_GE}, {"timestamp", ACRE_LT}, {"seq", ACRE_LE}},
    {"user_bonus_id", "status", "seq", NULL},
    0,
    0};
/* Q_C: one record by its key */
static const acre_query q_txn_key = {ACRE_Q_SELECT,
                                     "txn",
                                     TX_COLS,
                                     {{"transaction_id", ACRE_EQ}, {"seq", ACRE_LE}},
                                     {"transaction_id", "seq", NULL},
                                     0,
                                     0};
static const acre_query q_ga_key = {ACRE_Q_SELECT,
                                    "gaming_activity",
                                    GA_COLS,
                                    {{"date", ACRE_EQ},
                                     {"customer_id", ACRE_EQ},
                                     {"game_type", ACRE_EQ},
                                     {"currency", ACRE_EQ},
                                     {"seq", ACRE_LE}},
                                    GA_ORDER,
                                    0,
                                    0};
static const acre_query q_bonus_key = {
    ACRE_Q_SELECT,
    "bonus_event",
    BE_COLS,
    {{"user_bonus_id", ACRE_EQ}, {"status", ACRE_EQ}, {"seq", ACRE_LE}},
    {"user_bonus_id", "status", "seq", NULL},
    0,
    0};
/* Q_B: a customer's records, with every version (a transaction's customer may change) */
const acre_query acre_close_q_txn_cust = {ACRE_Q_RECORDS,
                                          "txn",
                                          TX_COLS,
                                          {{"customer_id", ACRE_EQ}, {"seq", ACRE_LE}},
                                          {"transaction_id", "seq", NULL},
                                          0,
                                          0};
static const acre_query q_bonus_cust = {
    ACRE_Q_RECORDS,
    "bonus_event",
    BE_COLS,
    {{"user_id", ACRE_EQ}, {"status", ACRE_EQ}, {"seq", ACRE_LE}},
    {"user_bonus_id", "status", "seq", NULL},
    0,
    0};

int acre_close_plan_reading(ctx *x, int full, acre_error *err)
{
    x->incr = 0;
    if (!full && x->ncloses) {
        long long from = -1, after = LLONG_MAX;
        int rc;
        if ((rc = acre_store_counter(x->s, "log_from", &from, err)) ||
            (rc = acre_store_counter(x->s, "log_after", &after, err)))
            return rc;
        /* every version stored after the last close is logged when it needs to be, and that
         * close was made by this acre (not before a migration from schema 4) */
        if (from >= 0 && x->closes[x->ncloses - 1].seq >= from &&
            x->closes[x->ncloses - 1].period > after) {
            x->incr = 1;
            x->last_seq = x->closes[x->ncloses - 1].seq;
            return 0;
        }
    }
    return acre_close_start_reading(x, err);
}

/* One streamed query of class cls, table tb; its parameters: *p (n of them), or the sets. */
static void add(ctx *x, const acre_query *q, int tb, int cls, const acre_value *p, int n,
                const acre_value *sets, int nsets, int nparams)
{
    acre_read_query *r = &x->rq[x->nrq];
    static const int ncol[TB_N] = {TX_N, GA_N, TA_N, BE_N}, nkey[TB_N] = {1, 4, 4, 2};
    if (nparams && !nsets)
        return; /* no key or customer to read */
    x->qcls[x->nrq++] = (unsigned char)cls;
    r->query = q;
    r->ncol = ncol[tb];
    r->nkey = nkey[tb];
    r->tag = tb;
    for (int i = 0; i < n; i++)
        r->params[i] = p[i];
    r->sets = sets;
    r->nsets = nsets;
    r->nparams = nparams;
}

/* A logged record: its table and where its key's texts start in x->sets_text. */
typedef struct logged {
    int tb;
    size_t off[4];
    int null[4];
} logged;

typedef struct log_read {
    ctx *x;
    logged *v;
    size_t n, cap;
} log_read;

/* A transaction with more than one version, with a version in the months read (rows come in ID
 * order): kept once in x->multi, its ID in x->sets_text. */
static int add_multi(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    log_read *l = arg;
    acre_buf *t = &l->x->sets_text;
    logged *g;
    (void)ncol;
    if (l->n && strcmp(t->p + l->v[l->n - 1].off[0], row[0].s) == 0)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        logged *n = acre_realloc(l->v, cap * sizeof *n);
        if (!n)
            return acre_close_oom(err);
        l->v = n;
        l->cap = cap;
    }
    g = &l->v[l->n++];
    memset(g, 0, sizeof *g);
    g->tb = -1; /* not a logged record */
    g->off[0] = t->len;
    g->null[1] = g->null[2] = g->null[3] = 1;
    acre_buf_add(t, row[0].s, row[0].n + 1);
    if (t->oom || acre_strset_put(&l->x->multi, row[0].s, row[0].n, 1))
        return acre_close_oom(err);
    return 0;
}

static int add_logged(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    log_read *l = arg;
    acre_buf *t = &l->x->sets_text;
    int tb = strcmp(row[0].s, "txn") == 0               ? TB_TXN
             : strcmp(row[0].s, "gaming_activity") == 0 ? TB_GAMING
             : strcmp(row[0].s, "bonus_event") == 0     ? TB_BONUS
                                                        : -1; /* trading: never needed */
    logged *g;
    (void)ncol;
    if (tb < 0 || (tb == TB_BONUS && (row[2].type != ACRE_VAL_TEXT ||
                                      strcmp(row[2].s, "Completed") != 0)))
        return 0;
    if (l->n && l->v[l->n - 1].tb == tb) {
        /* rows come in key order: a record logged again (several new versions) once */
        const logged *p = &l->v[l->n - 1];
        int same = 1;
        for (int i = 0; i < 4 && same; i++)
            same = row[1 + i].type == ACRE_VAL_TEXT
                       ? !p->null[i] && strcmp(t->p + p->off[i], row[1 + i].s) == 0
                       : p->null[i];
        if (same)
            return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        logged *n = acre_realloc(l->v, cap * sizeof *n);
        if (!n)
            return acre_close_oom(err);
        l->v = n;
        l->cap = cap;
    }
    g = &l->v[l->n++];
    g->tb = tb;
    for (int i = 0; i < 4; i++) {
        g->null[i] = row[1 + i].type != ACRE_VAL_TEXT;
        g->off[i] = t->len;
        if (!g->null[i])
            acre_buf_add(t, row[1 + i].s, row[1 + i].n + 1);
    }
    return t->oom ? acre_close_oom(err) : 0;
}

/* Whether customer cu counted at the last close (cu->counts there), as far as the store says
 * without reading its history: it existed then and has not changed since, its affiliate held a
 * plan that pays on revenue, and it was not excluded. */
static int counted_at_last(ctx *x, const acre_cust *cu)
{
    const closeinfo *l = &x->closes[x->ncloses - 1];
    const acre_plan *held;
    char k[ACRE_CLOSE_KEY];
    int n;
    if (cu->first_seq > l->seq || cu->seq > l->seq)
        return 0;
    held = acre_close_closed_plan(x, l->period, x->c.affs[cu->aff].id);
    if (!held || !held->valuer)
        return 0;
    n = snprintf(k, sizeof k, "%d" SEP "%s", l->period, cu->id);
    return n > 0 && (size_t)n < sizeof k && !acre_strset_get(&x->excluded, k, (size_t)n, NULL);
}

int acre_close_start_incremental(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    int from = c->last_closed + 1, nb = 0, nrev = 0, nev = 0, nbonus = 0, nbounds = 0;
    int split = acre_read_parallel(x->s);
    size_t ntxn = 0, nga = 0, nbe = 0, k = 0;
    log_read lr = {x, NULL, 0, 0}, mr = {x, NULL, 0, 0};
    acre_value *set;
    int rc;

    if (!x->incr)
        return 0;
    if (!(x->cust_b = acre_calloc((size_t)c->ncusts + 1, 1)))
        return acre_close_oom(err);
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        /* a customer stored after the last close has all its records in the months since
         * or logged (references are checked: no record comes before its customer) */
        if (cu->counts && cu->first_seq <= x->last_seq && !counted_at_last(x, cu)) {
            x->cust_b[i] = 1u << TB_TXN | 1u << TB_BONUS;
            nrev++;
            nbonus++;
        } else if (cu->need_events) {
            x->cust_b[i] = 1u << TB_TXN;
        }
        nev += cu->need_events;
        nb += x->cust_b[i] != 0;
    }
    if (nb > 64 && (nrev > c->ncusts / 8 || nb > c->ncusts / 2)) {
        /* reading so many customers' history costs more than reading it all: customers counting
         * anew bring their activity (whole) too; a customer whose events are kept only its
         * transactions, by the index, few for one that has not qualified yet */
        x->incr = 0;
        free(x->cust_b);
        x->cust_b = NULL;
        return acre_close_start_reading(x, err);
    }
    /* activity has no index by customer: read whole where a customer needs its history */
    x->full_tb[TB_GAMING] = nrev > 0 || (x->need_activity_events && nev > 0);
    x->full_tb[TB_TRADING] = x->need_activity_events && nev > 0;

    {
        acre_value p[2] = {acre_val_int(x->last_seq), acre_val_int(x->seq)};
        if ((rc = acre_store_query(x->s, &q_log, p, add_logged, &lr, "reading the late versions",
                                   err)))
            goto out;
    }
    {
        acre_value p[3] = {acre_val_int(from), acre_val_int(c->period), acre_val_int(x->seq)};
        if ((rc = acre_store_query(x->s, &q_txn_versions, p, add_multi, &mr,
                                   "reading the transactions with several versions", err)))
            goto out;
    }
    for (size_t i = 0; i < lr.n; i++) {
        ntxn += lr.v[i].tb == TB_TXN;
        nga += lr.v[i].tb == TB_GAMING && !x->full_tb[TB_GAMING];
        nbe += lr.v[i].tb == TB_BONUS;
    }
    /* the parameter sets: Q_C's keys and watermark, then Q_B's customers */
    x->nsets = mr.n * 2 + ntxn * 2 + nga * 5 + nbe * 3 + (size_t)nb * 2 + (size_t)nbonus * 3;
    if (!(x->sets = acre_calloc(x->nsets + 1, sizeof *x->sets)) ||
        !(x->set_cust[TB_TXN] = acre_calloc((size_t)nb + 1, sizeof(int))) ||
        !(x->set_cust[TB_BONUS] = acre_calloc((size_t)nbonus + 1, sizeof(int)))) {
        rc = acre_close_oom(err);
        goto out;
    }
    x->bounds = acre_calloc((size_t)(c->period - from) + 33, sizeof *x->bounds);
    x->rq = acre_calloc((size_t)(c->period - from) * 2 + 80, sizeof *x->rq);
    x->qcls = acre_calloc((size_t)(c->period - from) * 2 + 80, 1);
    x->cursor = acre_calloc((size_t)(c->period - from) * 2 + 80, sizeof *x->cursor);
    if (!x->bounds || !x->rq || !x->qcls || !x->cursor) {
        rc = acre_close_oom(err);
        goto out;
    }
    /* the months since the last close, split on two readers into its months and the period's
     * days: activity in [bounds[i-1], bounds[i]) */
    acre_date_of(x->from_date, acre_month_start(from));
    snprintf(x->from_dt, sizeof x->from_dt, "%sT00:00:00.000000000Z", x->from_date);
    acre_date_of(x->bounds[nbounds++], acre_month_start(from));
    if (split) {
        for (int p = from + 1; p < c->period; p++)
            acre_date_of(x->bounds[nbounds++], acre_month_start(p));
        for (int64_t d = acre_month_start(c->period) + (from < c->period ? 0 : 86400);
             d < acre_month_start(c->period + 1); d += 86400)
            acre_date_of(x->bounds[nbounds++], d);
    }
    acre_date_of(x->bounds[nbounds++], acre_month_start(c->period + 1));

    set = x->sets;
#define SETS_OF(tb_, nk_)                                                                          \
    for (size_t i = 0; i < lr.n; i++) {                                                            \
        if (lr.v[i].tb != (tb_))                                                                   \
            continue;                                                                              \
        for (int j = 0; j < (nk_); j++)                                                            \
            set[k++] = lr.v[i].null[j] ? acre_val_null()                                           \
                                       : acre_val_text(x->sets_text.p + lr.v[i].off[j]);           \
        set[k++] = acre_val_int(x->seq);                                                           \
    }
    {
        /* transactions */
        acre_value p[3] = {acre_val_text(x->from_dt), acre_val_text(c->next_start),
                           acre_val_int(x->seq)};
        size_t at = k;
        int nc = 0;
        add(x, &acre_close_q_txn_dated, TB_TXN, Q_AS, p, 3, NULL, 0, 0);
        for (size_t i = 0; i < mr.n; i++) {
            set[k++] = acre_val_text(x->sets_text.p + mr.v[i].off[0]);
            set[k++] = acre_val_int(x->seq);
        }
        add(x, &q_txn_key, TB_TXN, Q_A, NULL, 0, set + at, (int)mr.n, 2);
        at = k;
        SETS_OF(TB_TXN, 1);
        add(x, &q_txn_key, TB_TXN, Q_C, NULL, 0, set + at, (int)ntxn, 2);
        at = k;
        for (int i = 0; i < c->ncusts; i++)
            if (x->cust_b[i] & 1u << TB_TXN) {
                x->set_cust[TB_TXN][nc++] = i;
                set[k++] = acre_val_text(c->custs[i].id);
                set[k++] = acre_val_int(x->seq);
            }
        add(x, &acre_close_q_txn_cust, TB_TXN, Q_B, NULL, 0, set + at, nc, 2);
    }
    {
        /* gaming activity */
        acre_value p[3];
        size_t at = k;
        for (int i = 1; i < nbounds; i++) {
            p[0] = acre_val_text(x->bounds[i - 1]);
            p[1] = acre_val_text(x->bounds[i]);
            p[2] = acre_val_int(x->seq);
            add(x, &acre_close_q_ga, TB_GAMING, Q_A, p, 3, NULL, 0, 0);
        }
        if (x->full_tb[TB_GAMING]) {
            p[0] = acre_val_text(x->from_date);
            p[1] = acre_val_int(x->seq);
            add(x, &acre_close_q_ga_to, TB_GAMING, Q_F, p, 2, NULL, 0, 0);
        } else {
            SETS_OF(TB_GAMING, 4);
            add(x, &q_ga_key, TB_GAMING, Q_C, NULL, 0, set + at, (int)nga, 5);
        }
    }
    {
        /* trading activity: before the last close, only its events can matter */
        acre_value p[3];
        for (int i = 1; i < nbounds; i++) {
            p[0] = acre_val_text(x->bounds[i - 1]);
            p[1] = acre_val_text(x->bounds[i]);
            p[2] = acre_val_int(x->seq);
            add(x, &acre_close_q_ta, TB_TRADING, Q_A, p, 3, NULL, 0, 0);
        }
        if (x->full_tb[TB_TRADING]) {
            p[0] = acre_val_text(x->from_date);
            p[1] = acre_val_int(x->seq);
            add(x, &acre_close_q_ta_to, TB_TRADING, Q_F, p, 2, NULL, 0, 0);
        }
    }
    {
        /* Completed bonus events */
        acre_value p[4] = {acre_val_text("Completed"), acre_val_text(x->from_dt),
                           acre_val_text(c->next_start), acre_val_int(x->seq)};
        size_t at = k;
        int nc = 0;
        add(x, &q_bonus_dated, TB_BONUS, Q_A, p, 4, NULL, 0, 0);
        SETS_OF(TB_BONUS, 2);
        add(x, &q_bonus_key, TB_BONUS, Q_C, NULL, 0, set + at, (int)nbe, 3);
        at = k;
        for (int i = 0; i < c->ncusts; i++)
            if (x->cust_b[i] & 1u << TB_BONUS) {
                x->set_cust[TB_BONUS][nc++] = i;
                set[k++] = acre_val_text(c->custs[i].id);
                set[k++] = acre_val_text("Completed");
                set[k++] = acre_val_int(x->seq);
            }
        add(x, &q_bonus_cust, TB_BONUS, Q_B, NULL, 0, set + at, nc, 3);
    }
#undef SETS_OF
    rc = acre_read_start(x->s, x->rq, x->nrq, x->seq, &x->rd, err);
out:
    free(lr.v);
    free(mr.v);
    return rc;
}
