/* engine/close_load.c — what a close reads from the store before it streams the records.
 *
 * In the close's transaction: the closes so far and the sequence watermark, every stored plan,
 * then the current affiliates, assignments, customers, flags and rates at the watermark and the
 * state the previous closes left (balances, the plan each affiliate held, excluded and settled
 * customers, late judgments), into the ctx; what a rule kind keeps is its own (its load hook).
 * Also the queries the reader threads stream (engine/close_read.c), the customer as it was at
 * an earlier close (for late data) and a stored ledger. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "close_int.h"
#include "datetime.h"
#include "store_int.h"

int acre_close_begin(acre_store *s, int store, acre_error *err)
{
    /* a preview reads one consistent snapshot; a close holds the write lock throughout */
    return store ? acre_store_begin(s, err) : acre_store_begin_read(s, err);
}

static const acre_query q_closes = {
    ACRE_Q_SELECT, "close", {"period", "seq", "digest", NULL}, {{NULL, 0}}, {"period", NULL}, 0, 0};

static int add_close(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    ctx *x = arg;
    closeinfo *n = acre_realloc(x->closes, (size_t)(x->ncloses + 1) * sizeof *n);
    (void)ncol;
    if (n)
        x->closes = n;
    if (!n || row[2].type != ACRE_VAL_TEXT || !(n[x->ncloses].digest = acre_strdup(row[2].s)))
        return acre_close_oom(err);
    n[x->ncloses].period = (int)row[0].i;
    n[x->ncloses].seq = row[1].i;
    x->ncloses++;
    return 0;
}

int acre_close_load_closes(ctx *x, acre_error *err)
{
    return acre_store_query(x->s, &q_closes, NULL, add_close, x, "reading closes", err);
}

int acre_close_load_seq(ctx *x, acre_error *err)
{
    return acre_store_seq(x->s, &x->seq, err);
}

/* The streamed queries, each limited to versions at or below the watermark; activity is split
 * by date into [lo, hi). */
const acre_query acre_close_q_txn = {
    ACRE_Q_SELECT, "txn", TX_COLS, {{"seq", ACRE_LE}}, {"transaction_id", "seq", NULL}, 0, 0};
const acre_query acre_close_q_bonus = {ACRE_Q_SELECT,
                                       "bonus_event",
                                       BE_COLS,
                                       {{"status", ACRE_EQ}, {"seq", ACRE_LE}},
                                       {"user_bonus_id", "status", "seq", NULL},
                                       0,
                                       0};
const acre_query acre_close_q_ga_to = {ACRE_Q_SELECT,
                                   "gaming_activity",
                                   GA_COLS,
                                   {{"date", ACRE_LT}, {"seq", ACRE_LE}},
                                   GA_ORDER,
                                   0,
                                   0};
const acre_query acre_close_q_ga = {ACRE_Q_SELECT,
                                "gaming_activity",
                                GA_COLS,
                                {{"date", ACRE_GE}, {"date", ACRE_LT}, {"seq", ACRE_LE}},
                                GA_ORDER,
                                0,
                                0};
const acre_query acre_close_q_ta_to = {ACRE_Q_SELECT,
                                   "trading_activity",
                                   TA_COLS,
                                   {{"date", ACRE_LT}, {"seq", ACRE_LE}},
                                   TA_ORDER,
                                   0,
                                   0};
const acre_query acre_close_q_ta = {ACRE_Q_SELECT,
                                "trading_activity",
                                TA_COLS,
                                {{"date", ACRE_GE}, {"date", ACRE_LT}, {"seq", ACRE_LE}},
                                TA_ORDER,
                                0,
                                0};

/* at most this many months before the period get a query each; older ones share one */
#define SPLIT_MONTHS 24

/* One streamed query: its parameters are lo and hi when given, then the watermark. */
static void add_query(ctx *x, const acre_query *query, int ncol, int nkey, int tag, const char *lo,
                      const char *hi)
{
    acre_read_query *q = &x->rq[x->nrq++];
    int n = 0;
    q->query = query;
    q->ncol = ncol;
    q->nkey = nkey;
    q->tag = tag;
    if (query == &acre_close_q_bonus)
        q->params[n++] = acre_val_text("Completed");
    if (lo)
        q->params[n++] = acre_val_text(lo);
    if (hi)
        q->params[n++] = acre_val_text(hi);
    q->params[n] = acre_val_int(x->seq);
}

int acre_close_start_reading(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    int first = c->first_closed, nb = 0, split = acre_read_parallel(x->s);
    if (first < c->period - SPLIT_MONTHS)
        first = c->period - SPLIT_MONTHS;
    x->bounds = acre_calloc((size_t)(c->period - first) + 33, sizeof *x->bounds);
    x->rq = acre_calloc((size_t)(c->period - first) * 2 + 70, sizeof *x->rq);
    x->cursor = acre_calloc((size_t)(c->period - first) * 2 + 70, sizeof *x->cursor);
    if (!x->bounds || !x->rq || !x->cursor)
        return acre_close_oom(err);
    if (split) {
        for (int p = first; p < c->period; p++)
            acre_date_of(x->bounds[nb++], acre_month_start(p));
        for (int64_t d = acre_month_start(c->period); d < acre_month_start(c->period + 1);
             d += 86400)
            acre_date_of(x->bounds[nb++], d);
    }
    acre_date_of(x->bounds[nb++], acre_month_start(c->period + 1));
    add_query(x, &acre_close_q_txn, TX_N, 1, TB_TXN, NULL, NULL);
    add_query(x, &acre_close_q_ga_to, GA_N, 4, TB_GAMING, NULL, x->bounds[0]);
    for (int i = 1; i < nb; i++)
        add_query(x, &acre_close_q_ga, GA_N, 4, TB_GAMING, x->bounds[i - 1], x->bounds[i]);
    add_query(x, &acre_close_q_ta_to, TA_N, 4, TB_TRADING, NULL, x->bounds[0]);
    for (int i = 1; i < nb; i++)
        add_query(x, &acre_close_q_ta, TA_N, 4, TB_TRADING, x->bounds[i - 1], x->bounds[i]);
    add_query(x, &acre_close_q_bonus, BE_N, 2, TB_BONUS, NULL, NULL);
    return acre_read_start(x->s, x->rq, x->nrq, x->seq, &x->rd, err);
}

int acre_close_stored(acre_dec *d, const char *text, acre_error *err, const char *fmt, ...)
{
    char where[ACRE_CLOSE_KEY + 100];
    va_list ap;
    int rc = acre_dec_parse_stored(d, text, err);
    if (rc != ACRE_ERROR)
        return rc;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    return acre_error_set(err, ACRE_ERROR, "store", "stored_value",
                          "the store is damaged: %s is %.60s%s, not an exact number", where,
                          text ? text : "NULL", text && strlen(text) > 60 ? "..." : "");
}

static const acre_query q_plans = {
    ACRE_Q_SELECT, "plan", {"plan_id", "version", "body", "seq", NULL}, {{NULL, 0}}, {NULL}, 0, 0};

static int add_plan(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    ctx *x = arg;
    const char *body = row[2].s ? row[2].s : "";
    size_t n = row[2].n;
    json_error_t je;
    json_t *doc;
    acre_numtab t = {0};
    acre_plan *p = NULL, **np;
    int rc = 0;
    (void)ncol;
    doc = acre_json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!doc || (rc = acre_numtab_build(&t, doc, body, n)) ||
        (rc = acre_plan_parse(&p, doc, &t, err))) {
        int nomem = rc == ACRE_ENOMEM || (!doc && json_error_code(&je) == json_error_out_of_memory);
        if (!nomem)
            acre_error_set(err, ACRE_ERROR, "plan", "stored_plan",
                           "the stored plan %s@%lld cannot be read", row[0].s ? row[0].s : "",
                           row[1].i);
        json_decref(doc);
        acre_numtab_free(&t);
        return nomem ? acre_close_oom(err) : ACRE_ERROR;
    }
    json_decref(doc);
    acre_numtab_free(&t);
    if (!(np = acre_realloc(x->c.plans, (size_t)(x->c.nplans + 1) * sizeof *np))) {
        acre_plan_free(p);
        return acre_close_oom(err);
    }
    x->c.plans = np;
    np[x->c.nplans++] = p;
    /* "the newest version" is the newest stored by this close's watermark */
    if (acre_strset_put(&x->c.plan_index, p->label, strlen(p->label), x->c.nplans - 1) ||
        (row[3].i <= x->seq &&
         acre_strset_put(&x->plan_newest, p->plan_id, strlen(p->plan_id), p->version)))
        return acre_close_oom(err);
    return 0;
}

static int load_plans(ctx *x, acre_error *err)
{
    return acre_store_query(x->s, &q_plans, NULL, add_plan, x, "reading plans", err);
}

typedef int (*row_fn)(ctx *x, const acre_value *row, acre_error *err);

typedef struct each {
    ctx *x;
    row_fn fn;
} each;

static int each_one(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    each *e = arg;
    (void)ncol;
    return e->fn(e->x, row, err);
}

/* Runs q with params and calls fn per row. */
static int each_row(ctx *x, const acre_query *q, const acre_value *params, row_fn fn,
                    acre_error *err)
{
    each e = {x, fn};
    return acre_store_query(x->s, q, params, each_one, &e, "reading the store", err);
}

static int same_value(const acre_value *a, const acre_value *b)
{
    return a->type == b->type &&
           (a->type == ACRE_VAL_INT    ? a->i == b->i
            : a->type == ACRE_VAL_TEXT ? a->n == b->n && memcmp(a->s, b->s, a->n) == 0
                                       : 1);
}

/* Calls fn for the newest version, at the close's watermark, of each record q returns: q reads
 * versions at or below the watermark (its one parameter), the record's key in its first nkey
 * columns, in an order that keeps each key's versions together, oldest first. */
static int each_current(ctx *x, const acre_query *q, int nkey, row_fn fn, acre_error *err)
{
    acre_value wm = acre_val_int(x->seq);
    acre_rows rows;
    int rc = acre_store_rows(x->s, q, &wm, &rows, "reading the store", err);
    for (long r = 0; !rc && r < rows.n; r++) {
        const acre_value *row = acre_row(&rows, r);
        int same = 0;
        if (r + 1 < rows.n) {
            const acre_value *next = acre_row(&rows, r + 1);
            same = 1;
            for (int k = 0; k < nkey && same; k++)
                same = same_value(&row[k], &next[k]);
        }
        if (!same)
            rc = fn(x, row, err);
    }
    acre_rows_free(&rows);
    return rc;
}

/* A text column, or NULL. */
static const char *col_text(const acre_value *row, int k)
{
    return row[k].type == ACRE_VAL_TEXT ? row[k].s : NULL;
}

#define TXT(k) col_text(row, (k))

static int add_aff(ctx *x, const acre_value *row, acre_error *err)
{
    acre_close *c = &x->c;
    acre_aff *a, *n = acre_realloc(c->affs, (size_t)(c->naffs + 1) * sizeof *n);
    if (!n)
        return acre_close_oom(err);
    c->affs = n;
    a = &n[c->naffs];
    memset(a, 0, sizeof *a);
    a->id = acre_strdup(TXT(0));
    a->parent = TXT(1) ? acre_strdup(TXT(1)) : NULL;
    snprintf(a->currency, sizeof a->currency, "%s", TXT(2));
    acre_dec_init(&a->min_payout);
    acre_dec_init(&a->brought_forward);
    acre_dec_init(&a->earned);
    acre_dec_init(&a->payable);
    acre_dec_init(&a->carried_forward);
    a->parent_idx = -1;
    a->scale = 2;
    c->naffs++; /* counted first, so that ctx_free frees what was made */
    if (!a->id || (TXT(1) && !a->parent) ||
        acre_strset_put(&c->aff_index, a->id, strlen(a->id), c->naffs - 1))
        return acre_close_oom(err);
    return acre_close_stored(&a->min_payout, TXT(3), err, "affiliate %s's min_payout", a->id);
}

static int add_assign(ctx *x, const acre_value *row, acre_error *err)
{
    long i;
    assign *n;
    int from, to = INT_MAX;
    if (!acre_strset_get(&x->c.aff_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    acre_month_parse(TXT(2), 7, &from);
    if (TXT(4))
        acre_month_parse(TXT(4), 7, &to);
    if (!(n = acre_realloc(x->as[i], (size_t)(x->nas[i] + 1) * sizeof *n)))
        return acre_close_oom(err);
    x->as[i] = n;
    if (!(n[x->nas[i]].plan_id = acre_strdup(TXT(1))))
        return acre_close_oom(err);
    n[x->nas[i]].version = row[3].type == ACRE_VAL_NULL ? 0 : row[3].i;
    n[x->nas[i]].from = from;
    n[x->nas[i]].to = to;
    x->nas[i]++;
    return 0;
}

static int add_balance(ctx *x, const acre_value *row, acre_error *err)
{
    long i;
    if (!acre_strset_get(&x->c.aff_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    x->c.affs[i].had_balance = 1;
    return acre_close_stored(&x->c.affs[i].brought_forward, TXT(1), err,
                             "close_affiliate.carried_forward of affiliate %s", TXT(0));
}

static int add_close_plan(ctx *x, const acre_value *row, acre_error *err)
{
    char k[ACRE_CLOSE_KEY];
    int n = snprintf(k, sizeof k, "%d" SEP "%s", (int)row[0].i, TXT(1));
    if (!TXT(2) || n < 0 || (size_t)n >= sizeof k)
        return 0;
    if (x->nlabels == x->clab) {
        char **l =
            acre_realloc(x->labels, (size_t)(x->clab = x->clab ? x->clab * 2 : 64) * sizeof *l);
        if (!l)
            return acre_close_oom(err);
        x->labels = l;
    }
    if (!(x->labels[x->nlabels] = acre_strdup(TXT(2))) ||
        acre_strset_put(&x->close_plan, k, (size_t)n, x->nlabels++))
        return acre_close_oom(err);
    return 0;
}

static int add_excluded(ctx *x, const acre_value *row, acre_error *err)
{
    char k[ACRE_CLOSE_KEY];
    int n = snprintf(k, sizeof k, "%d" SEP "%s", (int)row[0].i, TXT(1));
    if (n > 0 && (size_t)n < sizeof k && acre_strset_put(&x->excluded, k, (size_t)n, 1))
        return acre_close_oom(err);
    return 0;
}

static int add_judged(ctx *x, const acre_value *row, acre_error *err)
{
    acre_buf k = {0};
    long i;
    int rc = 0;
    if (!TXT(0) || !TXT(1))
        return acre_error_set(err, ACRE_ERROR, "store", "stored_value",
                              "the store is damaged: a counted row's %s is not a text",
                              TXT(0) ? "rkey" : "tbl");
    acre_buf_adds(&k, TXT(0));
    acre_buf_adds(&k, SEP);
    acre_buf_adds(&k, TXT(1));
    if (k.oom)
        return acre_close_oom(err);
    if (!acre_dec_stored_ok(TXT(4)) || !acre_dec_stored_ok(TXT(5))) {
        /* checked here, once per row, so that a damaged value is found even when the record
         * never changes again (acre_close_judge_late then does not read it); the message is
         * acre_close_stored's, naming the key's parts printably */
        acre_dec d;
        acre_buf w = {0};
        acre_buf_adds(&w, k.p);
        for (size_t j = 0; j < w.len; j++)
            if (w.p[j] == SEP[0])
                w.p[j] = '/';
        acre_dec_init(&d);
        if (w.oom)
            rc = acre_close_oom(err);
        else if (!(rc = acre_close_stored(&d, TXT(4), err, "counted.a of %s", w.p)))
            rc = acre_close_stored(&d, TXT(5), err, "counted.b of %s", w.p);
        acre_dec_clear(&d);
        acre_buf_free(&w);
        if (rc) {
            acre_buf_free(&k);
            return rc;
        }
    }
    if (x->njudged == x->cjudged) {
        judged *n = acre_realloc(
            x->judged, (size_t)(x->cjudged = x->cjudged ? x->cjudged * 2 : 64) * sizeof *n);
        if (!n) {
            acre_buf_free(&k);
            return acre_close_oom(err);
        }
        x->judged = n;
    }
    /* a record's rows come in period order (q_judged): a later judgment replaces the earlier */
    if (!acre_strset_get(&x->judged_index, k.p, k.len, &i)) {
        i = x->njudged++;
        x->judged[i].a = x->judged[i].b = NULL;
        if (acre_strset_put(&x->judged_index, k.p, k.len, i)) {
            acre_buf_free(&k);
            return acre_close_oom(err);
        }
    } else {
        free(x->judged[i].a);
        free(x->judged[i].b);
    }
    x->judged[i].period = (int)row[2].i;
    x->judged[i].seq = row[3].i;
    x->judged[i].a = acre_strdup(TXT(4));
    x->judged[i].b = acre_strdup(TXT(5));
    acre_buf_free(&k);
    return x->judged[i].a && x->judged[i].b ? 0 : acre_close_oom(err);
}

/* Customers come newest version first, in descending ID order (one backward scan of the table,
 * no subquery per row): the first row of each ID is its current version, the others are
 * skipped. index_customers then puts them in ID order. */
static int add_customer(ctx *x, const acre_value *row, acre_error *err)
{
    acre_close *c = &x->c;
    const char *id = TXT(0);
    size_t len = strlen(id);
    acre_cust *cu;
    long ai;
    if (x->last_cust && strcmp(x->last_cust, id) == 0) {
        /* an older version */
        if (x->last_cust != x->dropped_cust)
            c->custs[c->ncusts - 1].first_seq = row[5].i;
        return 0;
    }
    if (!acre_strset_get(&c->aff_index, TXT(1), strlen(TXT(1)), &ai)) {
        /* not an affiliate's: left out, its ID kept only to skip its older versions */
        char *d = acre_malloc(len + 1);
        if (!d)
            return acre_close_oom(err);
        memcpy(d, id, len + 1);
        free(x->dropped_cust);
        x->last_cust = x->dropped_cust = d;
        return 0;
    }
    if (c->ncusts == x->cust_cap) {
        int cap = x->cust_cap ? x->cust_cap * 2 : 1024;
        acre_cust *n = acre_realloc(c->custs, (size_t)cap * sizeof *n);
        if (!n)
            return acre_close_oom(err);
        c->custs = n;
        x->cust_cap = cap;
    }
    cu = &c->custs[c->ncusts];
    memset(cu, 0, sizeof *cu);
    acre_dec_init(&cu->ftd_amount);
    c->ncusts++; /* counted first, so that ctx_free frees what was made */
    if (!(cu->id = acre_malloc(len + 1)))
        return acre_close_oom(err);
    memcpy(cu->id, id, len + 1);
    x->last_cust = cu->id;
    cu->aff = (int)ai;
    cu->seq = cu->first_seq = row[5].i;
    acre_datetime_split(TXT(2), &cu->signup_sec, &cu->signup_nsec);
    acre_date_of(cu->signup_date, cu->signup_sec);
    if (TXT(3)) {
        size_t n = strlen(TXT(3));
        if (n >= sizeof cu->country)
            n = sizeof cu->country - 1;
        memcpy(cu->country, TXT(3), n);
        cu->country[n] = '\0';
    }
    if (TXT(4) && !(cu->kyc = acre_strdup(TXT(4))))
        return acre_close_oom(err);
    return 0;
}

/* Puts the customers in ID order (they were read in descending order) and indexes them. */
static int index_customers(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    if (c->ncusts) {
        /* the array grew by doubling: the room it does not use is a quarter of it at 200,000
         * customers (they are held to the end of the close) */
        acre_cust *n = acre_realloc(c->custs, (size_t)c->ncusts * sizeof *n);
        if (n) {
            c->custs = n;
            x->cust_cap = c->ncusts;
        }
    }
    for (int i = 0, j = c->ncusts - 1; i < j; i++, j--) {
        acre_cust t = c->custs[i];
        c->custs[i] = c->custs[j];
        c->custs[j] = t;
    }
    if (acre_strset_reserve(&c->cust_index, (size_t)c->ncusts) ||
        !(x->cust_key = acre_malloc(((size_t)c->ncusts + 1) * sizeof *x->cust_key)))
        return acre_close_oom(err);
    for (int i = 0; i < c->ncusts; i++)
        x->cust_key[i] = acre_close_id_key(c->custs[i].id);
    for (int i = 0; i < c->ncusts; i++)
        if (acre_strset_put(&c->cust_index, c->custs[i].id, strlen(c->custs[i].id), i))
            return acre_close_oom(err);
    x->last_cust = NULL;
    free(x->dropped_cust);
    x->dropped_cust = NULL;
    return 0;
}

static int add_settled(ctx *x, const acre_value *row, acre_error *err)
{
    long i;
    acre_cust *cu;
    if (!acre_strset_get(&x->c.cust_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    cu = &x->c.custs[i];
    cu->settled = 1;
    cu->paid = strcmp(TXT(3), "paid") == 0;
    cu->clawed = row[8].type != ACRE_VAL_NULL;
    cu->paid_aff = acre_strdup(TXT(1));
    cu->paid_label = acre_strdup(TXT(2));
    cu->paid_amount = TXT(4) ? acre_strdup(TXT(4)) : NULL;
    cu->paid_qat = acre_strdup(TXT(5));
    cu->paid_qsec = row[6].i;
    cu->paid_clawback_days = row[7].i;
    {
        char per[8];
        acre_period_text(per, (int)row[9].i);
        cu->paid_period = acre_strdup(per);
    }
    if (!cu->paid_aff || !cu->paid_label || (TXT(4) && !cu->paid_amount) || !cu->paid_qat ||
        !cu->paid_period)
        return acre_close_oom(err);
    return 0;
}

unsigned acre_close_flag_bit(const char *flag, const char *flagged_at, const char *cleared_at,
                             const char *next_start)
{
    /* active at the period's end: flagged before the next month starts, not cleared before it */
    if (strcmp(flagged_at, next_start) >= 0 || (cleared_at && strcmp(cleared_at, next_start) < 0))
        return 0;
    for (int f = 0; f < 4; f++)
        if (strcmp(acre_flag_names[f], flag) == 0)
            return 1u << f;
    return 0;
}

static int add_flag(ctx *x, const acre_value *row, acre_error *err)
{
    long i;
    (void)err;
    if (!acre_strset_get(&x->c.cust_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    x->c.custs[i].flags |= acre_close_flag_bit(TXT(1), TXT(2), TXT(3), x->c.next_start);
    return 0;
}

static int add_fx(ctx *x, const acre_value *row, acre_error *err)
{
    acre_close *c = &x->c;
    if (c->nfx % 256 == 0) {
        acre_fx *n = acre_realloc(c->fx, (size_t)(c->nfx + 256) * sizeof *n);
        if (!n)
            return acre_close_oom(err);
        c->fx = n;
    }
    snprintf(c->fx[c->nfx].currency, 4, "%s", TXT(1));
    snprintf(c->fx[c->nfx].date, 11, "%s", TXT(0));
    acre_dec_init(&c->fx[c->nfx].rate);
    c->nfx++;
    return acre_close_stored(&c->fx[c->nfx - 1].rate, TXT(2), err, "the usd_rate of %s on %s",
                             TXT(1), TXT(0));
}

/* What the close loads: each the newest version of a record at the close's watermark (the
 * queries each_current reads), or the state earlier closes left. */
static const acre_query q_affiliates = {
    ACRE_Q_SELECT,
    "affiliate",
    {"affiliate_id", "parent_affiliate_id", "currency", "min_payout", NULL},
    {{"seq", ACRE_LE}},
    {"affiliate_id", "seq", NULL},
    0,
    0};
static const acre_query q_assignments = {
    ACRE_Q_SELECT,
    "assignment",
    {"affiliate_id", "plan_id", "effective_from", "plan_version", "effective_to", NULL},
    {{"seq", ACRE_LE}},
    {"affiliate_id", "effective_from", "plan_id", "seq", NULL},
    0,
    0};
static const acre_query q_balances = {ACRE_Q_SELECT,
                                      "close_affiliate",
                                      {"affiliate_id", "carried_forward", NULL},
                                      {{"period", ACRE_EQ}},
                                      {NULL},
                                      0,
                                      0};
static const acre_query q_close_plans = {ACRE_Q_SELECT,
                                         "close_affiliate",
                                         {"period", "affiliate_id", "plan", NULL},
                                         {{NULL, 0}},
                                         {NULL},
                                         0,
                                         0};
static const acre_query q_excluded = {
    ACRE_Q_SELECT, "close_excluded", {"period", "customer_id", NULL}, {{NULL, 0}}, {NULL}, 0, 0};
/* in key order, which ends with the period: each record's rows in period order, unsorted */
static const acre_query q_judged = {ACRE_Q_SELECT,
                                    "counted",
                                    {"tbl", "rkey", "period", "seq", "a", "b", NULL},
                                    {{NULL, 0}},
                                    {NULL},
                                    0,
                                    0};
/* newest version first, in descending ID order (add_customer) */
static const acre_query q_customers = {
    ACRE_Q_SELECT,
    "customer",
    {"customer_id", "affiliate_id", "signup_date", "country_code", "kyc_status_id", "seq", NULL},
    {{"seq", ACRE_LE}},
    {"customer_id", "seq", NULL},
    1,
    0};
static const acre_query q_settled = {ACRE_Q_SELECT,
                                     "settled",
                                     {"customer_id", "affiliate_id", "plan", "outcome", "amount",
                                      "qualified_at", "qsec", "clawback_days", "clawed_period",
                                      "period", NULL},
                                     {{NULL, 0}},
                                     {NULL},
                                     0,
                                     0};
static const acre_query q_flags = {ACRE_Q_SELECT,
                                   "flag",
                                   {"customer_id", "flag", "flagged_at", "cleared_at", NULL},
                                   {{"seq", ACRE_LE}},
                                   {"customer_id", "flag", "flagged_at", "seq", NULL},
                                   0,
                                   0};
static const acre_query q_fx = {ACRE_Q_SELECT,
                                "fx_rate",
                                {"date", "currency", "usd_rate", NULL},
                                {{"seq", ACRE_LE}},
                                {"currency", "date", "seq", NULL},
                                0,
                                0};
/* a customer's newest version at an earlier close's watermark */
static const acre_query q_old_customer = {ACRE_Q_SELECT,
                                          "customer",
                                          {"affiliate_id", "signup_date", NULL},
                                          {{"customer_id", ACRE_EQ}, {"seq", ACRE_LE}},
                                          {"seq", NULL},
                                          1,
                                          1};

/* The affiliates and their assignments. */
static int load_affiliates(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    int rc;
    if ((rc = each_current(x, &q_affiliates, 1, add_aff, err)))
        return rc;
    x->as = acre_calloc((size_t)c->naffs + 1, sizeof *x->as);
    x->nas = acre_calloc((size_t)c->naffs + 1, sizeof *x->nas);
    if (!x->as || !x->nas)
        return acre_close_oom(err);
    return each_current(x, &q_assignments, 3, add_assign, err);
}

int acre_close_load(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    acre_value wm = acre_val_int(x->seq), last = acre_val_int(c->last_closed);
    int rc;
    if ((rc = acre_store_stmt(x->s, &q_old_customer, &x->old_cust, err)) ||
        (rc = load_plans(x, err)) || (rc = load_affiliates(x, err)))
        return rc;
    if (c->last_closed >= 0 && (rc = each_row(x, &q_balances, &last, add_balance, err)))
        return rc;
    if ((rc = each_row(x, &q_close_plans, NULL, add_close_plan, err)) ||
        (rc = each_row(x, &q_excluded, NULL, add_excluded, err)) ||
        (rc = each_row(x, &q_judged, NULL, add_judged, err)) ||
        (rc = each_row(x, &q_customers, &wm, add_customer, err)) ||
        (rc = index_customers(x, err)) || (rc = each_row(x, &q_settled, NULL, add_settled, err)) ||
        (rc = each_current(x, &q_flags, 3, add_flag, err)) ||
        (rc = each_current(x, &q_fx, 2, add_fx, err)))
        return rc;
    return 0;
}

/* one customer's newest version first (add_customer), its settled row, its flags */
static const acre_query q_customer = {
    ACRE_Q_SELECT,
    "customer",
    {"customer_id", "affiliate_id", "signup_date", "country_code", "kyc_status_id", "seq", NULL},
    {{"customer_id", ACRE_EQ}, {"seq", ACRE_LE}},
    {"customer_id", "seq", NULL},
    1,
    0};
static const acre_query q_settled_one = {ACRE_Q_SELECT,
                                         "settled",
                                         {"customer_id", "affiliate_id", "plan", "outcome",
                                          "amount", "qualified_at", "qsec", "clawback_days",
                                          "clawed_period", "period", NULL},
                                         {{"customer_id", ACRE_EQ}},
                                         {NULL},
                                         0,
                                         0};

int acre_close_load_some(ctx *x, char *const *ids, int n, int activity_only, acre_error *err)
{
    acre_close *c = &x->c;
    int rc;
    if ((rc = load_plans(x, err)))
        return rc;
    for (int i = 0; i < c->nplans && activity_only; i++)
        if (acre_plan_reads_activity(c->plans[i]))
            activity_only = 0;
    if (!c->nplans || activity_only)
        return 0; /* no plan, or activity that no plan's qualification reads: nothing to judge */
    if ((rc = load_affiliates(x, err)))
        return rc;
    /* add_customer wants them in descending ID order, as q_customers reads them; one prepared
     * statement each, run per customer (pipelined where the backend can) */
    {
        acre_stmt *st = NULL;
        each e = {x, add_customer};
        acre_value *p = acre_calloc((size_t)n * 2 + 1, sizeof *p);
        long set = 0;
        if (!p)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        for (int i = 0; i < n; i++) {
            p[2 * i] = acre_val_text(ids[n - 1 - i]);
            p[2 * i + 1] = acre_val_int(x->seq);
        }
        if (!(rc = acre_store_stmt(x->s, &q_customer, &st, err)))
            rc = acre_store_run_sets(x->s, st, p, 2, n, &set, each_one, &e, "reading a customer",
                                     err);
        acre_store_done(x->s, st);
        if (!rc)
            rc = index_customers(x, err);
        st = NULL;
        e.fn = add_settled;
        for (int i = 0; i < n; i++)
            p[i] = acre_val_text(ids[i]);
        if (!rc && !(rc = acre_store_stmt(x->s, &q_settled_one, &st, err)))
            rc = acre_store_run_sets(x->s, st, p, 1, n, &set, each_one, &e,
                                     "reading a settled customer", err);
        acre_store_done(x->s, st);
        free(p);
        if (rc)
            return rc;
    }
    return each_current(x, &q_fx, 2, add_fx, err);
}

typedef struct old_customer {
    acre_close *c;
    long *aff;
    int64_t *signup;
    int found;
} old_customer;

static int old_row(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    old_customer *o = arg;
    int32_t ns;
    (void)ncol;
    (void)err;
    if (!row[0].s || !acre_strset_get(&o->c->aff_index, row[0].s, row[0].n, o->aff))
        *o->aff = -1;
    acre_datetime_split(row[1].s ? row[1].s : "", o->signup, &ns);
    o->found = 1;
    return 1;
}

int acre_close_old_customer(ctx *x, const char *id, long long seq, long *aff, int64_t *signup,
                            acre_error *err)
{
    old_customer o = {&x->c, aff, signup, 0};
    acre_value p[2] = {acre_val_text(id), acre_val_int(seq)};
    int rc = acre_store_run(x->s, x->old_cust, p, old_row, &o, "reading a customer", err);
    return rc ? rc : o.found;
}

void acre_close_load_free(ctx *x)
{
    acre_store_done(x->s, x->old_cust);
    x->old_cust = NULL;
}

static const acre_query q_ledger = {
    ACRE_Q_SELECT, "close", {"ledger", NULL}, {{"period", ACRE_EQ}}, {NULL}, 0, 1};

static int copy_ledger(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    (void)ncol;
    if (row[0].type != ACRE_VAL_TEXT || !(*(char **)arg = acre_strdup(row[0].s)))
        return acre_close_oom(err);
    return 1;
}

int acre_close_load_ledger(acre_store *s, int p, const char *period, char **ledger, acre_error *err)
{
    acre_value k = acre_val_int(p);
    int rc;
    *ledger = NULL;
    if ((rc = acre_store_query(s, &q_ledger, &k, copy_ledger, ledger, "reading a ledger", err)))
        return rc;
    if (!*ledger)
        return acre_error_set(err, ACRE_ENOTFOUND, "period", "not_closed",
                              "period %s is not closed", period);
    return 0;
}
