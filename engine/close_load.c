/* engine/close_load.c — what a close reads from the store before it streams the records.
 *
 * In the close's transaction: the closes so far and the sequence watermark, every stored plan,
 * then the current affiliates, assignments, customers, flags and rates at the watermark and the
 * state the previous closes left (balances, carryover layers, the plan each affiliate held,
 * excluded and settled customers, late judgments), into the ctx. Also the queries the reader
 * threads stream (engine/close_read.c), the customer as it was at an earlier close (for late
 * data) and a stored ledger. */
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
    return store ? acre_store_begin(s, err) : acre_store_exec(s, "BEGIN", err);
}

int acre_close_load_closes(ctx *x, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(x->s, &st, "SELECT period, seq, digest FROM close ORDER BY period",
                                err);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        closeinfo *n = acre_realloc(x->closes, (size_t)(x->ncloses + 1) * sizeof *n);
        const char *digest = (const char *)sqlite3_column_text(st, 2);
        if (n)
            x->closes = n;
        if (!n || !digest || !(n[x->ncloses].digest = acre_strdup(digest))) {
            sqlite3_finalize(st);
            return acre_close_oom(err);
        }
        n[x->ncloses].period = sqlite3_column_int(st, 0);
        n[x->ncloses].seq = sqlite3_column_int64(st, 1);
        x->ncloses++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(x->s, "reading closes", err);
    return 0;
}

int acre_close_load_seq(ctx *x, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(x->s, &st, "SELECT value FROM counter WHERE name = 'seq'", err);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    x->seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : acre_store_fail(x->s, "reading the seq", err);
    sqlite3_finalize(st);
    return rc;
}

/* ?2 is the watermark; activity is split by date into [?1, ?3) */
static const char *const txn_sql =
    "SELECT transaction_id, customer_id, transaction_type, amount_currency, currency, "
    "transaction_date, status, amount_usd, seq FROM txn WHERE seq <= ?2 "
    "ORDER BY transaction_id, seq";
static const char *const bonus_sql =
    "SELECT user_bonus_id, status, user_id, currency, timestamp, bonus_turned_real, seq "
    "FROM bonus_event WHERE status = 'Completed' AND seq <= ?2 ORDER BY user_bonus_id, status, seq";
#define GA_SQL(where)                                                                              \
    "SELECT date, customer_id, game_type, currency, bets_count, total_bets, wins, ggr, ngr, seq "  \
    "FROM gaming_activity WHERE " where " AND seq <= ?2 "                                          \
    "ORDER BY date, customer_id, game_type, currency, seq"
#define TA_SQL(where)                                                                              \
    "SELECT date, customer_id, instrument, currency, lots_traded, seq FROM trading_activity "      \
    "WHERE " where " AND seq <= ?2 ORDER BY date, customer_id, instrument, currency, seq"
/* at most this many months before the period get a query each; older ones share one */
#define SPLIT_MONTHS 24

static void add_query(ctx *x, const char *sql, int ncol, int nkey, int tag, const char *lo,
                      const char *hi)
{
    acre_read_query *q = &x->rq[x->nrq++];
    q->sql = sql;
    q->ncol = ncol;
    q->nkey = nkey;
    q->tag = tag;
    q->lo = lo;
    q->hi = hi;
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
    add_query(x, txn_sql, TX_N, 1, TB_TXN, NULL, NULL);
    add_query(x, GA_SQL("date < ?3"), GA_N, 4, TB_GAMING, NULL, x->bounds[0]);
    for (int i = 1; i < nb; i++)
        add_query(x, GA_SQL("date >= ?1 AND date < ?3"), GA_N, 4, TB_GAMING, x->bounds[i - 1],
                  x->bounds[i]);
    add_query(x, TA_SQL("date < ?3"), TA_N, 4, TB_TRADING, NULL, x->bounds[0]);
    for (int i = 1; i < nb; i++)
        add_query(x, TA_SQL("date >= ?1 AND date < ?3"), TA_N, 4, TB_TRADING, x->bounds[i - 1],
                  x->bounds[i]);
    add_query(x, bonus_sql, BE_N, 2, TB_BONUS, NULL, NULL);
    return acre_read_start(x->s, x->rq, x->nrq, x->seq, &x->rd, err);
}

int acre_close_stored(acre_dec *d, const char *text, acre_error *err, const char *fmt, ...)
{
    char where[300];
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

static int load_plans(ctx *x, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(x->s, &st,
                                "SELECT plan_id, version, body, seq FROM plan ORDER BY 1, 2", err);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *body;
        size_t n;
        json_error_t je;
        json_t *doc;
        acre_numtab t = {0};
        acre_plan *p = NULL, **np;
        if ((rc = acre_store_row(x->s, st, err))) {
            sqlite3_finalize(st);
            return rc;
        }
        body = (const char *)sqlite3_column_text(st, 2);
        n = (size_t)sqlite3_column_bytes(st, 2);
        doc = acre_json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
        if (!doc || (rc = acre_numtab_build(&t, doc, body, n)) ||
            (rc = acre_plan_parse(&p, doc, &t, err))) {
            int nomem = rc == ACRE_ENOMEM || (!doc && json_error_code(&je) == json_error_out_of_memory);
            if (!nomem)
                acre_error_set(err, ACRE_ERROR, "plan", "stored_plan",
                               "the stored plan %s@%lld cannot be read",
                               sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
            json_decref(doc);
            acre_numtab_free(&t);
            sqlite3_finalize(st);
            return nomem ? acre_close_oom(err) : ACRE_ERROR;
        }
        json_decref(doc);
        acre_numtab_free(&t);
        if (!(np = acre_realloc(x->c.plans, (size_t)(x->c.nplans + 1) * sizeof *np))) {
            acre_plan_free(p);
            sqlite3_finalize(st);
            return acre_close_oom(err);
        }
        x->c.plans = np;
        np[x->c.nplans++] = p;
        /* "the newest version" is the newest stored by this close's watermark */
        if (acre_strset_put(&x->c.plan_index, p->label, strlen(p->label), x->c.nplans - 1) ||
            (sqlite3_column_int64(st, 3) <= x->seq &&
             acre_strset_put(&x->plan_newest, p->plan_id, strlen(p->plan_id), p->version))) {
            sqlite3_finalize(st);
            return acre_close_oom(err);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(x->s, "reading plans", err);
    return 0;
}

/* Runs `sql` (one row per current record) and calls fn per row. */
static int each_row(ctx *x, const char *sql, int (*fn)(ctx *x, sqlite3_stmt *st, acre_error *err),
                    acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(x->s, &st, sql, err);
    if (rc)
        return rc;
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, x->seq);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = acre_store_row(x->s, st, err)) || (rc = fn(x, st, err))) {
            sqlite3_finalize(st);
            return rc;
        }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : acre_store_fail(x->s, "reading the store", err);
}

#define TXT(i) ((const char *)sqlite3_column_text(st, (i)))

static int add_aff(ctx *x, sqlite3_stmt *st, acre_error *err)
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

static int add_assign(ctx *x, sqlite3_stmt *st, acre_error *err)
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
    n[x->nas[i]].version = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
    n[x->nas[i]].from = from;
    n[x->nas[i]].to = to;
    x->nas[i]++;
    return 0;
}

static int add_balance(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    long i;
    if (!acre_strset_get(&x->c.aff_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    x->c.affs[i].had_balance = 1;
    return acre_close_stored(&x->c.affs[i].brought_forward, TXT(1), err,
                             "close_affiliate.carried_forward of affiliate %s", TXT(0));
}

static int add_layer(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    long i;
    acre_aff *a;
    acre_layer *n;
    if (!acre_strset_get(&x->c.aff_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    a = &x->c.affs[i];
    if (!(n = acre_realloc(a->layers, (size_t)(a->nlayers + 1) * sizeof *n)))
        return acre_close_oom(err);
    a->layers = n;
    snprintf(a->layer_plan_id, sizeof a->layer_plan_id, "%s", TXT(1));
    snprintf(a->layer_label, sizeof a->layer_label, "%s", TXT(2));
    n[a->nlayers].origin = sqlite3_column_int(st, 3);
    acre_dec_init(&n[a->nlayers].amount);
    a->nlayers++;
    return acre_close_stored(&n[a->nlayers - 1].amount, TXT(4), err,
                             "close_layer.amount of affiliate %s, origin %d", TXT(0),
                             n[a->nlayers - 1].origin);
}

static int add_close_plan(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    char k[600];
    int n = snprintf(k, sizeof k, "%d" SEP "%s", sqlite3_column_int(st, 0), TXT(1));
    if (!TXT(2) || n < 0 || (size_t)n >= sizeof k)
        return 0;
    if (x->nlabels == x->clab) {
        char **l = acre_realloc(x->labels, (size_t)(x->clab = x->clab ? x->clab * 2 : 64) * sizeof *l);
        if (!l)
            return acre_close_oom(err);
        x->labels = l;
    }
    if (!(x->labels[x->nlabels] = acre_strdup(TXT(2))) ||
        acre_strset_put(&x->close_plan, k, (size_t)n, x->nlabels++))
        return acre_close_oom(err);
    return 0;
}

static int add_excluded(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    char k[600];
    int n = snprintf(k, sizeof k, "%d" SEP "%s", sqlite3_column_int(st, 0), TXT(1));
    if (n > 0 && (size_t)n < sizeof k && acre_strset_put(&x->excluded, k, (size_t)n, 1))
        return acre_close_oom(err);
    return 0;
}

static int add_judged(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    acre_buf k = {0};
    long i;
    acre_buf_printf(&k, "%s" SEP "%s", TXT(0), TXT(1));
    if (k.oom)
        return acre_close_oom(err);
    if (x->njudged == x->cjudged) {
        judged *n = acre_realloc(x->judged, (size_t)(x->cjudged = x->cjudged ? x->cjudged * 2 : 64) *
                                           sizeof *n);
        if (!n) {
            acre_buf_free(&k);
            return acre_close_oom(err);
        }
        x->judged = n;
    }
    /* rows come in period order: a later judgment replaces the earlier */
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
    x->judged[i].period = sqlite3_column_int(st, 2);
    x->judged[i].seq = sqlite3_column_int64(st, 3);
    x->judged[i].a = acre_strdup(TXT(4));
    x->judged[i].b = acre_strdup(TXT(5));
    acre_buf_free(&k);
    return x->judged[i].a && x->judged[i].b ? 0 : acre_close_oom(err);
}

/* Customers come newest version first, in descending ID order (one backward scan of the table,
 * no subquery per row): the first row of each ID is its current version, the others are
 * skipped. index_customers then puts them in ID order. */
static int add_customer(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    acre_close *c = &x->c;
    const char *id = TXT(0);
    size_t len = strlen(id);
    acre_cust *cu;
    long ai;
    if (x->last_cust && strcmp(x->last_cust, id) == 0)
        return 0; /* an older version */
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
    for (int i = 0, j = c->ncusts - 1; i < j; i++, j--) {
        acre_cust t = c->custs[i];
        c->custs[i] = c->custs[j];
        c->custs[j] = t;
    }
    if (acre_strset_reserve(&c->cust_index, (size_t)c->ncusts))
        return acre_close_oom(err);
    for (int i = 0; i < c->ncusts; i++)
        if (acre_strset_put(&c->cust_index, c->custs[i].id, strlen(c->custs[i].id), i))
            return acre_close_oom(err);
    x->last_cust = NULL;
    free(x->dropped_cust);
    x->dropped_cust = NULL;
    return 0;
}

static int add_settled(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    long i;
    acre_cust *cu;
    if (!acre_strset_get(&x->c.cust_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    cu = &x->c.custs[i];
    cu->settled = 1;
    cu->paid = strcmp(TXT(3), "paid") == 0;
    cu->clawed = sqlite3_column_type(st, 8) != SQLITE_NULL;
    cu->paid_aff = acre_strdup(TXT(1));
    cu->paid_label = acre_strdup(TXT(2));
    cu->paid_amount = TXT(4) ? acre_strdup(TXT(4)) : NULL;
    cu->paid_qat = acre_strdup(TXT(5));
    cu->paid_qsec = sqlite3_column_int64(st, 6);
    cu->paid_clawback_days = sqlite3_column_int64(st, 7);
    {
        char per[8];
        acre_period_text(per, sqlite3_column_int(st, 9));
        cu->paid_period = acre_strdup(per);
    }
    if (!cu->paid_aff || !cu->paid_label || (TXT(4) && !cu->paid_amount) || !cu->paid_qat ||
        !cu->paid_period)
        return acre_close_oom(err);
    return 0;
}

static int add_flag(ctx *x, sqlite3_stmt *st, acre_error *err)
{
    long i;
    (void)err;
    /* active at the period's end: flagged before the next month starts, not cleared before it */
    if (strcmp(TXT(2), x->c.next_start) >= 0)
        return 0;
    if (TXT(3) && strcmp(TXT(3), x->c.next_start) < 0)
        return 0;
    if (!acre_strset_get(&x->c.cust_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    for (int f = 0; f < 4; f++)
        if (strcmp(acre_flag_names[f], TXT(1)) == 0)
            x->c.custs[i].flags |= 1u << f;
    return 0;
}

static int add_fx(ctx *x, sqlite3_stmt *st, acre_error *err)
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

/* The newest version of each record at the close's watermark (?1). */
#define CURRENT(t, key)                                                                            \
    " AS r WHERE seq = (SELECT max(seq) FROM " t " AS z WHERE " key " AND z.seq <= ?1)"

int acre_close_load(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    char q[512];
    int rc;
    if ((rc = acre_store_prepare(x->s, &x->old_cust,
                                 "SELECT affiliate_id, signup_date FROM customer WHERE "
                                 "customer_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
                                 err)) ||
        (rc = load_plans(x, err)) ||
        (rc = each_row(x,
                       "SELECT affiliate_id, parent_affiliate_id, currency, min_payout FROM "
                       "affiliate" CURRENT("affiliate", "z.affiliate_id = r.affiliate_id")
                       " ORDER BY affiliate_id",
                       add_aff, err)))
        return rc;
    x->as = acre_calloc((size_t)c->naffs + 1, sizeof *x->as);
    x->nas = acre_calloc((size_t)c->naffs + 1, sizeof *x->nas);
    if (!x->as || !x->nas)
        return acre_close_oom(err);
    if ((rc = each_row(x,
                       "SELECT affiliate_id, plan_id, effective_from, plan_version, effective_to "
                       "FROM assignment" CURRENT("assignment",
                                                 "z.affiliate_id = r.affiliate_id AND z.plan_id = "
                                                 "r.plan_id AND z.effective_from = "
                                                 "r.effective_from")
                       " ORDER BY affiliate_id, effective_from",
                       add_assign, err)))
        return rc;
    if (c->last_closed >= 0) {
        snprintf(q, sizeof q,
                 "SELECT affiliate_id, carried_forward FROM close_affiliate WHERE period = %d",
                 c->last_closed);
        if ((rc = each_row(x, q, add_balance, err)))
            return rc;
        snprintf(q, sizeof q,
                 "SELECT affiliate_id, plan_id, plan, origin, amount FROM close_layer WHERE "
                 "period = %d ORDER BY affiliate_id, origin",
                 c->last_closed);
        if ((rc = each_row(x, q, add_layer, err)))
            return rc;
    }
    if ((rc = each_row(x, "SELECT period, affiliate_id, plan FROM close_affiliate", add_close_plan,
                       err)) ||
        (rc = each_row(x, "SELECT period, customer_id FROM close_excluded", add_excluded, err)) ||
        (rc = each_row(x, "SELECT tbl, rkey, period, seq, a, b FROM counted ORDER BY period",
                       add_judged, err)) ||
        (rc = each_row(x,
                       "SELECT customer_id, affiliate_id, signup_date, country_code, "
                       "kyc_status_id FROM customer WHERE seq <= ?1 "
                       "ORDER BY customer_id DESC, seq DESC",
                       add_customer, err)) ||
        (rc = index_customers(x, err)) ||
        (rc = each_row(x,
                       "SELECT customer_id, affiliate_id, plan, outcome, amount, qualified_at, "
                       "qsec, clawback_days, clawed_period, period FROM settled",
                       add_settled, err)) ||
        (rc = each_row(x,
                       "SELECT customer_id, flag, flagged_at, cleared_at FROM flag" CURRENT(
                           "flag", "z.customer_id = r.customer_id AND z.flag = r.flag AND "
                                   "z.flagged_at = r.flagged_at"),
                       add_flag, err)) ||
        (rc = each_row(x,
                       "SELECT date, currency, usd_rate FROM fx_rate" CURRENT(
                           "fx_rate", "z.date = r.date AND z.currency = r.currency")
                       " ORDER BY currency, date",
                       add_fx, err)))
        return rc;
    return 0;
}

int acre_close_old_customer(ctx *x, const char *id, long long seq, char *aff, size_t alen,
                            int64_t *signup, acre_error *err)
{
    int rc;
    sqlite3_reset(x->old_cust);
    sqlite3_bind_text(x->old_cust, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(x->old_cust, 2, seq);
    rc = sqlite3_step(x->old_cust);
    if (rc == SQLITE_ROW && acre_store_row(x->s, x->old_cust, err) == 0) {
        int32_t ns;
        snprintf(aff, alen, "%s", sqlite3_column_text(x->old_cust, 0));
        acre_datetime_split((const char *)sqlite3_column_text(x->old_cust, 1), signup, &ns);
        return 1;
    }
    if (rc != SQLITE_DONE)
        return acre_store_fail(x->s, "reading a customer", err);
    return 0;
}

void acre_close_load_free(ctx *x)
{
    sqlite3_finalize(x->old_cust);
    x->old_cust = NULL;
}

int acre_close_load_ledger(acre_store *s, int p, const char *period, char **ledger, acre_error *err)
{
    sqlite3_stmt *st;
    int rc;
    if ((rc = acre_store_prepare(s, &st, "SELECT ledger FROM close WHERE period = ?1", err)))
        return rc;
    sqlite3_bind_int(st, 1, p);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        rc = text && (*ledger = acre_strdup(text)) ? 0 : acre_close_oom(err);
    } else if (rc == SQLITE_DONE) {
        rc = acre_error_set(err, ACRE_ENOTFOUND, "period", "not_closed",
                            "period %s is not closed", period);
    } else {
        rc = acre_store_fail(s, "reading a ledger", err);
    }
    sqlite3_finalize(st);
    return rc;
}
