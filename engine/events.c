/* engine/events.c — the events affiliates' postbacks carry (SPEC 12; docs/events.md): a
 * customer's qualification evaluated when an ingest changes its transactions or activity, the
 * outbox they wait in, and the signing secrets.
 *
 * Qualification at ingest is the close's own: the records are read as the close reads them
 * (engine/close_read.c, on the ingest's own connection and transaction, so that the batch's
 * records are seen), kept as the close keeps events (acre_close_add_event), and judged by
 * rules/qualification.c's acre_conditions and acre_qualify, for each month from the customer's
 * first record to its last under the plan its affiliate holds in that month, seeing the records
 * dated up to that month's end: the first month whose plan qualifies the customer gives the
 * event, as that month's close would pay it. No clock is read for it. A customer already settled
 * by a close, or whose qualification needs a rate not stored, gets no event here; the close
 * that settles a customer writes the event when none was made (engine/close.c). */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/events.h"
#include "alloc.h"
#include "buf.h"
#include "close_int.h"
#include "close_read.h"
#include "datetime.h"
#include "digest.h"
#include "events_int.h"
#include "number.h"
#include "store_int.h"

#define MAX_PLANS 8       /* the distinct plans of one affiliate's assignments judged at ingest */
#define EVENTS_CHUNK 4096 /* customers judged together */

static const acre_query q_affiliate = {
    ACRE_Q_SELECT, "affiliate", {"affiliate_id", NULL}, {{"affiliate_id", ACRE_EQ}}, {NULL}, 0, 1};
static const acre_query q_secret = {
    ACRE_Q_SELECT, "affiliate_secret", {"secret", NULL}, {{"affiliate_id", ACRE_EQ}}, {NULL}, 0, 1};
static const acre_query q_secret_put = {
    ACRE_Q_REPLACE, "affiliate_secret", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
static const acre_query q_customer_ids = {ACRE_Q_SELECT,
                                          "customer",
                                          {"click_id", "campaign_id", NULL},
                                          {{"customer_id", ACRE_EQ}},
                                          {"seq", NULL},
                                          1,
                                          1};
static const acre_query q_txn_one = {ACRE_Q_SELECT,
                                     "txn",
                                     {"amount_currency", "currency", NULL},
                                     {{"transaction_id", ACRE_EQ}},
                                     {"seq", NULL},
                                     1,
                                     1};
static const acre_query q_flags = {ACRE_Q_SELECT,
                                   "flag",
                                   /* customer_id too: a run of sets then sorts each
                                    * customer's by the key (engine/store_pg_sets.c) */
                                   {"flag", "flagged_at", "cleared_at", "seq", "customer_id", NULL},
                                   {{"customer_id", ACRE_EQ}},
                                   {"flag", "flagged_at", "seq", NULL},
                                   0,
                                   0};
static const acre_query q_ga_cust = {ACRE_Q_SELECT,
                                     "gaming_activity",
                                     GA_COLS,
                                     {{"customer_id", ACRE_EQ}, {"seq", ACRE_LE}},
                                     GA_ORDER,
                                     0,
                                     0};
static const acre_query q_ta_cust = {ACRE_Q_SELECT,
                                     "trading_activity",
                                     TA_COLS,
                                     {{"customer_id", ACRE_EQ}, {"seq", ACRE_LE}},
                                     TA_ORDER,
                                     0,
                                     0};

static int oom(acre_error *err)
{
    return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
}

static int first_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    (void)row, (void)n, (void)err;
    *(int *)ctx = 1;
    return 1;
}

static int copy_text(void *ctx, const acre_value *row, int n, acre_error *err)
{
    char **out = ctx;
    (void)n;
    if (row[0].type != ACRE_VAL_TEXT)
        return 1;
    if (!(*out = acre_strndup(row[0].s, row[0].n)))
        return oom(err);
    return 1;
}

/* ---- secrets ---- */

int acre_affiliate_secret(acre_store *s, const char *affiliate_id, int rotate, const char *now,
                          char secret[65], acre_error *err)
{
    acre_value id = acre_val_text(affiliate_id);
    char *have = NULL;
    int found = 0, rc;
    if ((rc = acre_store_begin(s, err)))
        return rc;
    if ((rc = acre_store_query(s, &q_affiliate, &id, first_row, &found, "reading affiliates",
                               err)) < 0)
        goto out;
    if (!found) {
        rc = acre_error_set(err, ACRE_ENOTFOUND, "affiliate_id", "unknown_affiliate",
                            "no affiliate %s is stored", affiliate_id);
        goto out;
    }
    if ((rc = acre_store_query(s, &q_secret, &id, copy_text, &have, "reading secrets", err)) < 0)
        goto out;
    rc = 0;
    if (have && !rotate) {
        snprintf(secret, 65, "%s", have);
        goto out;
    }
    if ((rc = acre_random_hex(secret, 32, err)))
        goto out;
    {
        acre_value row[3] = {id, acre_val_text(secret), acre_val_text(now)};
        rc = acre_store_query(s, &q_secret_put, row, NULL, NULL, "storing a secret", err);
    }
out:
    free(have);
    if (rc > 0)
        rc = 0;
    if (rc)
        acre_store_rollback(s);
    else
        rc = acre_store_commit(s, err);
    if (rc)
        secret[0] = '\0';
    return rc;
}

int acre_postback_signature(char out[68], const char *secret, long long ts, const char *body,
                            size_t len)
{
    acre_buf m = {0};
    int rc;
    acre_buf_printf(&m, "%lld.", ts);
    acre_buf_add(&m, body, len);
    if (m.oom) {
        acre_buf_free(&m);
        out[0] = '\0';
        return ACRE_ENOMEM;
    }
    memcpy(out, "v1=", 3);
    rc = acre_hmac_sha256_hex(out + 3, secret, strlen(secret), m.p, m.len);
    acre_buf_free(&m);
    return rc;
}

/* ---- qualification at ingest ---- */

/* What one customer's records gave: per candidate plan, the events that plan keeps. */
typedef struct cand {
    const acre_plan *plan[MAX_PLANS];
    acre_qev *ev[MAX_PLANS];
    int nev[MAX_PLANS], cap[MAX_PLANS], nplans;
    int first, last; /* the months of its first and last record, or first > last: none */
} cand;

/* A flag's column, its text in judge.ftext. */
typedef struct flagcell {
    size_t off, len;
    int null;
} flagcell;

typedef struct flagrow {
    flagcell c[3]; /* flag, flagged_at, cleared_at */
} flagrow;

/* An event to make with others (make_all): its customer's click and campaign ids, and for
 * one of the close's its first deposit's amount, are read for them all. */
typedef struct made {
    acre_event_new e;
    char *ids[2]; /* click and campaign ids, read */
    char amount[ACRE_NUMBER_TEXT_MAX], cur[4];
    size_t ftd;   /* at ingest: its first deposit's id in x.c.ids, when has_ftd */
    int has_ftd;  /* amount and cur are its first deposit's */
    int read_ftd; /* the close's: e.ftd_id's amount and currency to be read */
    char *extra;  /* e.extra's own copy, or NULL */
} made;

typedef struct judge {
    ctx x;
    long long made_at;
    acre_event_stmts st;
    cand *cands;
    acre_read_query rq[3];
    acre_value *sets;
    /* the flags of the chunk's customers: customer i's are frows[ffirst[i]...], fcount[i] */
    flagrow *frows;
    long nfrows, capfrows, *ffirst;
    int *fcount;
    acre_buf ftext;
    made *made; /* at most one a customer */
    int nmade;
} judge;

static int on_record(void *arg, int query, const acre_grp *g, acre_error *err)
{
    judge *j = arg;
    ctx *x = &j->x;
    acre_close *c = &x->c;
    int tb = j->rq[query].tag;
    const acre_ver *v = &g->v[g->nv - 1];
    const char *cust = acre_close_record_customer(tb, g, v);
    char date[11];
    long i;
    acre_cust *cu;
    cand *k;
    (void)err;
    if (!cust || !acre_strset_get(&c->cust_index, cust, strlen(cust), &i))
        return 0; /* a transaction now of another customer, or a customer of no affiliate */
    cu = &c->custs[i];
    k = &j->cands[i];
    acre_close_record_date(tb, g, v, date);
    {
        int p = acre_close_period_of(date);
        if (k->first > k->last)
            k->first = k->last = p;
        else if (p < k->first)
            k->first = p;
        else if (p > k->last)
            k->last = p;
    }
    for (int n = 0; n < k->nplans; n++) {
        cu->evplan = k->plan[n];
        cu->ev = k->ev[n];
        cu->nev = k->nev[n];
        cu->cap = k->cap[n];
        acre_close_add_event(x, cu, tb, g, v);
        k->ev[n] = cu->ev;
        k->nev[n] = cu->nev;
        k->cap[n] = cu->cap;
    }
    cu->ev = NULL;
    cu->nev = cu->cap = 0;
    return 0;
}

static int by_instant(const void *a, const void *b)
{
    const acre_qev *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    return x->nsec < y->nsec ? -1 : x->nsec > y->nsec;
}

/* The customer's flags active at the end of the month that ends at next_start. */
typedef struct flags {
    const char *next_start;
    unsigned bits;
    /* the newest version of each (flag, flagged_at): rows come in that order, oldest first */
    char key[600], held[3][600];
    int have, held_null;
} flags;

static void flush_flag(flags *f)
{
    if (f->have)
        f->bits |= acre_close_flag_bit(f->held[0], f->held[1], f->held_null ? NULL : f->held[2],
                                       f->next_start);
    f->have = 0;
}

static int flag_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    flags *f = ctx;
    char key[600];
    (void)n, (void)err;
    if (row[0].type != ACRE_VAL_TEXT || row[1].type != ACRE_VAL_TEXT)
        return 0;
    snprintf(key, sizeof key, "%.*s|%.*s", (int)row[0].n, row[0].s, (int)row[1].n, row[1].s);
    if (!f->have || strcmp(key, f->key) != 0) {
        flush_flag(f);
        memcpy(f->key, key, sizeof key);
    }
    snprintf(f->held[0], sizeof f->held[0], "%.*s", (int)row[0].n, row[0].s);
    snprintf(f->held[1], sizeof f->held[1], "%.*s", (int)row[1].n, row[1].s);
    f->held_null = row[2].type != ACRE_VAL_TEXT;
    if (!f->held_null)
        snprintf(f->held[2], sizeof f->held[2], "%.*s", (int)row[2].n, row[2].s);
    f->have = 1;
    return 0;
}

/* Customer i's flags (read for the chunk, read_flags) as the month that ends at next_start
 * ends. */
static void customer_flags(judge *j, int i, const char *next_start, unsigned *bits)
{
    flags f;
    memset(&f, 0, sizeof f);
    f.next_start = next_start;
    for (long r = j->ffirst[i]; r < j->ffirst[i] + j->fcount[i]; r++) {
        acre_value row[3];
        for (int k = 0; k < 3; k++) {
            const flagcell *c = &j->frows[r].c[k];
            row[k] = c->null ? acre_val_null() : acre_val_text(j->ftext.p + c->off);
            row[k].n = c->len;
        }
        flag_row(&f, row, 3, NULL);
    }
    flush_flag(&f);
    *bits = f.bits;
}

typedef struct flag_read {
    judge *j;
    const int *cust; /* set -> customer */
    long set;
} flag_read;

static int keep_flag(void *ctx, const acre_value *row, int n, acre_error *err)
{
    flag_read *fr = ctx;
    judge *j = fr->j;
    int i = fr->cust[fr->set];
    (void)n;
    if (j->nfrows == j->capfrows) {
        long cap = j->capfrows ? 2 * j->capfrows : 256;
        flagrow *r = acre_realloc(j->frows, (size_t)cap * sizeof *r);
        if (!r)
            return oom(err);
        j->frows = r;
        j->capfrows = cap;
    }
    if (!j->fcount[i])
        j->ffirst[i] = j->nfrows; /* a customer's rows come together: its set's */
    for (int k = 0; k < 3; k++) {
        flagcell *c = &j->frows[j->nfrows].c[k];
        c->null = row[k].type != ACRE_VAL_TEXT;
        c->off = j->ftext.len;
        c->len = c->null ? 0 : row[k].n;
        if (!c->null)
            acre_buf_add(&j->ftext, row[k].s, row[k].n);
        acre_buf_add(&j->ftext, "", 1);
    }
    if (j->ftext.oom)
        return oom(err);
    j->nfrows++;
    j->fcount[i]++;
    return 0;
}

/* The flags of every customer of the chunk that may be judged, in one run of sets (a
 * customer's flags are read once, not once a month judged). */
static int read_flags(judge *j, acre_error *err)
{
    acre_close *c = &j->x.c;
    int *cust = acre_malloc(((size_t)c->ncusts + 1) * sizeof *cust);
    acre_value *p = acre_malloc(((size_t)c->ncusts + 1) * sizeof *p);
    flag_read fr = {j, cust, 0};
    long n = 0;
    int rc;
    j->ffirst = acre_calloc((size_t)c->ncusts + 1, sizeof *j->ffirst);
    j->fcount = acre_calloc((size_t)c->ncusts + 1, sizeof *j->fcount);
    if (!cust || !p || !j->ffirst || !j->fcount) {
        free(cust);
        free(p);
        return oom(err);
    }
    for (int i = 0; i < c->ncusts; i++)
        if (!c->custs[i].settled && j->cands[i].first <= j->cands[i].last) {
            cust[n] = i;
            p[n++] = acre_val_text(c->custs[i].id);
        }
    rc = acre_store_stmt(j->x.s, &q_flags, &j->st.flags, err);
    if (!rc)
        rc = acre_store_run_sets(j->x.s, j->st.flags, p, 1, n, &fr.set, keep_flag, &fr,
                                 "reading flags", err);
    free(cust);
    free(p);
    return rc;
}

/* Customer cu qualified under p at its qualified_at with its first deposit ftd: its event,
 * made with the chunk's others (make_events). */
static void make_qualified(judge *j, acre_cust *cu, const acre_plan *p, const acre_qev *ftd)
{
    ctx *x = &j->x;
    made *m = &j->made[j->nmade++];
    acre_event_new *e = &m->e;
    memset(m, 0, sizeof *m);
    e->type = "qualified";
    e->affiliate_id = x->c.affs[cu->aff].id;
    e->customer_id = cu->id;
    e->qualified_at = cu->qualified_at;
    e->plan = p->label;
    e->seq = x->seq;
    e->made_at = j->made_at;
    e->made_by = "ingest";
    if (ftd) {
        acre_number_format(&ftd->amount, m->amount);
        memcpy(m->cur, ftd->currency, 3);
        m->cur[3] = '\0';
        m->ftd = ftd->txn_id;
        m->has_ftd = 1;
    }
}

typedef struct ids_read {
    made *made;
    const int *of; /* set -> event */
    long set;
} ids_read;

static int keep_ids(void *ctx, const acre_value *row, int n, acre_error *err)
{
    ids_read *r = ctx;
    made *m = &r->made[r->of[r->set]];
    (void)n;
    for (int k = 0; k < 2; k++)
        if (row[k].type == ACRE_VAL_TEXT && !m->ids[k] &&
            !(m->ids[k] = acre_strndup(row[k].s, row[k].n)))
            return oom(err);
    return 0;
}

/* A first deposit's stored amount (text) and currency: its own, formatted as the ingest's. */
static int keep_ftd(void *ctx, const acre_value *row, int n, acre_error *err)
{
    ids_read *r = ctx;
    made *m = &r->made[r->of[r->set]];
    acre_number num;
    char *text;
    (void)n;
    if (row[0].type != ACRE_VAL_TEXT || row[1].type != ACRE_VAL_TEXT || row[1].n != 3)
        return 0;
    if (!(text = acre_strndup(row[0].s, row[0].n)))
        return oom(err);
    if (acre_number_stored(&num, text) == 0) {
        acre_number_format(&num, m->amount);
        memcpy(m->cur, row[1].s, 3);
        m->cur[3] = '\0';
        m->has_ftd = 1;
    }
    free(text);
    return 0;
}

/* Events m[0..n) made (acre_event_make_many): each customer's click and campaign ids read in
 * one run of sets, and the close's first deposits in another. Frees what each holds. */
static int make_all(acre_store *s, acre_event_stmts *st, made *m, int n, acre_error *err)
{
    acre_value *p = acre_malloc(((size_t)n + 1) * sizeof *p);
    acre_event_new *e = acre_malloc(((size_t)n + 1) * sizeof *e);
    int *of = acre_malloc(((size_t)n + 1) * sizeof *of);
    acre_stmt *txn = NULL;
    ids_read r = {m, of, 0};
    long nftd = 0;
    int rc = 0;
    if (!p || !e || !of) {
        rc = oom(err);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        p[i] = acre_val_text(m[i].e.customer_id);
        of[i] = i;
    }
    /* st->customer kept across the calls of one batch (the close flushes a chunk at a time) */
    if (n && ((!st->customer && (rc = acre_store_stmt(s, &q_customer_ids, &st->customer, err))) ||
              (rc = acre_store_run_sets(s, st->customer, p, 1, n, &r.set, keep_ids, &r,
                                        "reading a customer", err))))
        goto out;
    for (int i = 0; i < n; i++)
        if (m[i].read_ftd && m[i].e.ftd_id) {
            of[nftd] = i;
            p[nftd++] = acre_val_text(m[i].e.ftd_id);
        }
    if (nftd && ((rc = acre_store_stmt(s, &q_txn_one, &txn, err)) ||
                 (rc = acre_store_run_sets(s, txn, p, 1, nftd, &r.set, keep_ftd, &r,
                                           "reading a transaction", err))))
        goto out;
    for (int i = 0; i < n; i++) {
        e[i] = m[i].e;
        e[i].click_id = m[i].ids[0];
        e[i].campaign_id = m[i].ids[1];
        e[i].extra = m[i].extra;
        e[i].ftd_id = m[i].has_ftd ? m[i].e.ftd_id : NULL;
        e[i].ftd_amount = m[i].has_ftd ? m[i].amount : NULL;
        e[i].ftd_currency = m[i].has_ftd ? m[i].cur : NULL;
    }
    rc = acre_event_make_many(s, st, e, n, err);
out:
    for (int i = 0; i < n; i++) {
        free(m[i].ids[0]);
        free(m[i].ids[1]);
        free(m[i].extra);
        m[i].ids[0] = m[i].ids[1] = m[i].extra = NULL;
    }
    acre_store_done(s, txn);
    free(p);
    free(e);
    free(of);
    return rc;
}

/* The chunk's events, judged. */
static int make_events(judge *j, acre_error *err)
{
    for (int i = 0; i < j->nmade; i++)
        if (j->made[i].has_ftd)
            j->made[i].e.ftd_id = j->x.c.ids.p + j->made[i].ftd;
    return make_all(j->x.s, &j->st, j->made, j->nmade, err);
}

/* Customer i's qualification: the first month of its records whose plan qualifies it, its event
 * held for make_events. Nothing here fails: the reads were made for the chunk. */
static void judge_customer(judge *j, int i)
{
    ctx *x = &j->x;
    acre_close *c = &x->c;
    acre_cust *cu = &c->custs[i];
    cand *k = &j->cands[i];
    int sorted[MAX_PLANS] = {0}, qualifies;
    if (cu->settled || k->first > k->last)
        return;
    for (int m = k->first; m <= k->last && m - k->first < 240; m++) {
        int from = 0, n = -1, count = 0;
        size_t missing = c->missing_set.n;
        const acre_plan *p = acre_close_plan_for(x, cu->aff, m, &from, NULL, 0);
        const char *ftd_id = NULL;
        int64_t end = acre_month_start(m + 1), floor;
        char next[32], date[11];
        for (int q = 0; q < k->nplans; q++)
            if (k->plan[q] == p)
                n = q;
        if (!p || n < 0 || k->nev[n] == 0)
            continue;
        if (!sorted[n]) {
            qsort(k->ev[n], (size_t)k->nev[n], sizeof *k->ev[n], by_instant);
            sorted[n] = 1;
        }
        while (count < k->nev[n] && k->ev[n][count].sec < end)
            count++;
        if (!count)
            continue;
        acre_date_of(date, end);
        snprintf(next, sizeof next, "%sT00:00:00.000000000Z", date);
        customer_flags(j, i, next, &cu->flags);
        if (!acre_conditions(c, cu, p))
            continue;
        cu->evplan = p;
        cu->ev = k->ev[n];
        cu->nev = count;
        cu->cap = k->cap[n];
        qualifies = acre_qualify(c, cu, p, cu->qualified_at, &cu->qsec, &cu->qnsec, &ftd_id,
                                 &cu->ftd_amount);
        k->ev[n] = cu->ev; /* sorted in place, not moved */
        cu->ev = NULL;
        cu->nev = cu->cap = 0;
        if (c->missing_set.n > missing)
            return; /* a rate is missing: the close that has it decides */
        if (!qualifies)
            continue;
        /* before the assignment, or before the first closed period: never paid (SPEC 9) */
        floor = acre_month_start(from);
        if (x->ncloses && acre_month_start(x->closes[0].period) > floor)
            floor = acre_month_start(x->closes[0].period);
        if (cu->qsec < floor)
            return;
        {
            const acre_qev *ftd = NULL;
            for (int e = 0; e < count && ftd_id; e++)
                if (!k->ev[n][e].activity && c->ids.p + k->ev[n][e].txn_id == ftd_id)
                    ftd = &k->ev[n][e];
            make_qualified(j, cu, p, ftd);
            return;
        }
    }
}

/* The customers ids[0..n) judged together: what acre_events_on_ingest does for one chunk. */
static int judge_chunk(acre_store *s, char *const *ids, int n, int activity_only, long long made_at,
                       int *no_plan, acre_error *err)
{
    judge *j;
    ctx *x;
    acre_close *c;
    acre_reader *rd = NULL;
    int rc, activity = 0, nrq = 0;

    if (n == 0)
        return 0;
    if (!(j = acre_calloc(1, sizeof *j)))
        return oom(err);
    x = &j->x;
    c = &x->c;
    x->s = s;
    x->err = err;
    j->made_at = made_at;
    if ((rc = acre_close_load_seq(x, err)) || (rc = acre_close_load_closes(x, err)) ||
        (rc = acre_close_load_some(x, ids, n, activity_only, err)))
        goto out;
    *no_plan = !c->ncusts && (!c->nplans || activity_only);
    if (!c->nplans || !c->ncusts)
        goto out;
    if (!(j->cands = acre_calloc((size_t)c->ncusts, sizeof *j->cands)) ||
        !(j->sets = acre_calloc((size_t)c->ncusts * 2, sizeof *j->sets))) {
        rc = oom(err);
        goto out;
    }
    /* each customer's candidate plans: those its affiliate's assignments give */
    for (int i = 0; i < c->ncusts; i++) {
        cand *k = &j->cands[i];
        int a = c->custs[i].aff;
        k->first = 1, k->last = 0;
        for (int q = 0; q < x->nas[a]; q++) {
            const acre_plan *p = acre_close_plan_for(x, a, x->as[a][q].from, NULL, NULL, 0);
            int seen = 0;
            for (int r = 0; r < k->nplans; r++)
                seen |= k->plan[r] == p;
            if (p && !seen && k->nplans < MAX_PLANS)
                k->plan[k->nplans++] = p;
            if (p && acre_plan_reads_activity(p))
                activity = 1;
        }
        j->sets[2 * i] = acre_val_text(c->custs[i].id);
        j->sets[2 * i + 1] = acre_val_int(LLONG_MAX);
    }
    x->need_activity_events = activity;
    {
        static const int ncol[3] = {TX_N, GA_N, TA_N}, tag[3] = {TB_TXN, TB_GAMING, TB_TRADING};
        const acre_query *q[3] = {&acre_close_q_txn_cust, &q_ga_cust, &q_ta_cust};
        for (int t = 0; t < (activity ? 3 : 1); t++) {
            acre_read_query *r = &j->rq[nrq++];
            r->query = q[t];
            r->ncol = ncol[t];
            r->nkey = t ? 4 : 1;
            r->tag = tag[t];
            r->sets = j->sets;
            r->nsets = c->ncusts;
            r->nparams = 2;
        }
    }
    if ((rc = acre_read_start_here(s, j->rq, nrq, &rd, err)) ||
        (rc = acre_read_run(rd, on_record, j, err)))
        goto out;
    if (c->oom || c->ids.oom) {
        rc = oom(err);
        goto out;
    }
    if (!(j->made = acre_calloc((size_t)c->ncusts, sizeof *j->made))) {
        rc = oom(err);
        goto out;
    }
    if ((rc = read_flags(j, err)))
        goto out;
    for (int i = 0; i < c->ncusts; i++)
        judge_customer(j, i);
    if (!rc)
        rc = make_events(j, err);
out:
    for (int i = 0; i < j->nmade; i++) {
        free(j->made[i].ids[0]);
        free(j->made[i].ids[1]);
        free(j->made[i].extra);
    }
    free(j->made);
    free(j->frows);
    free(j->ffirst);
    free(j->fcount);
    acre_buf_free(&j->ftext);
    for (int i = 0; j->cands && i < c->ncusts; i++)
        for (int q = 0; q < j->cands[i].nplans; q++)
            free(j->cands[i].ev[q]);
    free(j->cands);
    free(j->sets);
    acre_event_stmts_done(s, &j->st);
    acre_close_ctx_free(x);
    free(j);
    return rc;
}

/* ---- the close's events ---- */

/* The close's events, made EVENTS_CHUNK at a time (make_all). */
typedef struct close_batch {
    acre_store *s;
    acre_event_stmts st;
    made *m;
    int n;
} close_batch;

static int close_flush(close_batch *b, acre_error *err)
{
    int rc = make_all(b->s, &b->st, b->m, b->n, err);
    b->n = 0;
    return rc;
}

/* e, with its first deposit ftd_id (its amount and currency the record's own, read) and its
 * extra members (copied), added to the batch. */
static int close_event(close_batch *b, const acre_event_new *e, const char *ftd_id,
                       const char *extra, acre_error *err)
{
    made *m;
    if (b->n == EVENTS_CHUNK) {
        int rc = close_flush(b, err);
        if (rc)
            return rc;
    }
    m = &b->m[b->n];
    memset(m, 0, sizeof *m);
    m->e = *e;
    m->e.ftd_id = ftd_id;
    m->read_ftd = ftd_id != NULL;
    if (extra && !(m->extra = acre_strdup(extra)))
        return oom(err);
    b->n++;
    return 0;
}

int acre_close_events(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    close_batch b = {x->s, {NULL, NULL, NULL, NULL, NULL}, NULL, 0};
    int rc = 0;
    if (!(b.m = acre_calloc(EVENTS_CHUNK, sizeof *b.m)))
        return oom(err);
    for (int i = 0; i < c->ncusts && !rc; i++) {
        acre_cust *cu = &c->custs[i];
        acre_event_new e;
        if (!cu->qualifies)
            continue;
        memset(&e, 0, sizeof e);
        e.type = "qualified";
        e.affiliate_id = c->affs[cu->aff].id;
        e.customer_id = cu->id;
        e.qualified_at = cu->qualified_at;
        e.plan = c->affs[cu->aff].plan->label;
        e.seq = x->seq;
        e.made_by = "close";
        rc = close_event(&b, &e, cu->ftd_id, NULL, err);
    }
    for (int a = 0; a < c->naffs && !rc; a++)
        for (int k = 0; k < c->affs[a].nlines && !rc; k++) {
            const acre_line *l = &c->affs[a].lines[k];
            acre_event_new e;
            acre_buf extra = {0};
            char *amount;
            long ci;
            if (!(acre_line_kind_at(l->kind)->flags & ACRE_LINE_SETTLES_CLAWBACK) ||
                !l->customer_id ||
                !acre_strset_get(&c->cust_index, l->customer_id, strlen(l->customer_id), &ci))
                continue;
            if (!(amount = acre_dec_format_fixed(&l->amount, l->scale, ACRE_ROUND_HALF_EVEN))) {
                rc = oom(err);
                break;
            }
            /* what is clawed back, and at which close: beside SPEC 12's members */
            acre_buf_printf(&extra,
                            ",\"clawback\":{\"period\":\"%s\",\"amount\":\"%s\",\"currency\":"
                            "\"%s\"}",
                            c->period_text, amount, c->affs[a].currency);
            free(amount);
            memset(&e, 0, sizeof e);
            e.type = "clawback";
            e.affiliate_id = c->affs[a].id;
            e.customer_id = l->customer_id;
            e.qualified_at = c->custs[ci].paid_qat;
            e.plan = l->plan;
            e.seq = x->seq;
            e.made_by = "close";
            rc = extra.oom ? oom(err) : close_event(&b, &e, NULL, extra.p, err);
            acre_buf_free(&extra);
        }
    if (!rc)
        rc = close_flush(&b, err);
    for (int i = 0; i < b.n; i++) { /* a failure's leftovers */
        free(b.m[i].extra);
        free(b.m[i].ids[0]);
        free(b.m[i].ids[1]);
    }
    free(b.m);
    acre_event_stmts_done(x->s, &b.st);
    return rc;
}

int acre_events_on_ingest(acre_store *s, char *const *ids, int n, int activity_only,
                          long long made_at, acre_error *err)
{
    int rc = 0, no_plan = 0;
    /* a chunk at a time: what is held is bounded by the chunk, not the batch (a first load of
     * 200,000 customers' transactions would hold every one's events at once) */
    for (int at = 0; at < n && !rc && !no_plan; at += EVENTS_CHUNK)
        rc = judge_chunk(s, ids + at, n - at < EVENTS_CHUNK ? n - at : EVENTS_CHUNK, activity_only,
                         made_at, &no_plan, err);
    return rc;
}
