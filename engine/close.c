/* engine/close.c — one period for all affiliates (SPEC 5), stored in one transaction or
 * previewed: the driver of the close's steps.
 *
 * The close reads the store once (engine/close_load.c): affiliates and their plans for the
 * period, customers, flags, rates, the state the previous close left (balances, settled
 * customers, late judgments; each rule kind then loads its own through its load hook);
 * meanwhile reader threads (engine/close_read.c) start on transactions, activity and bonus
 * events, which it then streams in key order, each record's versions together. Each record
 * feeds its customer's qualification events and, when it counts, its revenue in the plan
 * currency (engine/close_value.c; a record dated in an earlier period: engine/close_late.c). The
 * rule kinds (rules/) then add the lines, on two threads; then come the totals and the ledger
 * (engine/close_ledger.c) and what the next close starts from (engine/close_state.c, with the
 * kinds' save hooks). This file holds that order, the plans an affiliate holds, the customers'
 * and affiliates' part in the close, and freeing it. */
#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "acre/ledger.h"
#include "acre/sys/rule.h"
#include "alloc.h"
#include "close_int.h"
#include "datetime.h"
#include "safeguard.h"
#include "store_int.h"

/* ---- the plans an affiliate holds ---- */

const acre_plan *acre_close_plan(acre_close *c, const char *label)
{
    long i;
    if (!label || !acre_strset_get(&c->plan_index, label, strlen(label), &i))
        return NULL;
    return c->plans[i];
}

const acre_plan *acre_close_plan_for(ctx *x, int aff, int p, int *from, char *missing, size_t mlen)
{
    for (int i = 0; i < x->nas[aff]; i++) {
        const assign *a = &x->as[aff][i];
        long v = a->version;
        char label[300];
        const acre_plan *pl;
        if (p < a->from || p > a->to)
            continue;
        if (!v && !acre_strset_get(&x->plan_newest, a->plan_id, strlen(a->plan_id), &v)) {
            if (missing)
                snprintf(missing, mlen, "%s (newest version)", a->plan_id);
            return NULL;
        }
        snprintf(label, sizeof label, "%s@%ld", a->plan_id, v);
        if (!(pl = acre_close_plan(&x->c, label)) && missing)
            snprintf(missing, mlen, "%s", label);
        if (from)
            *from = a->from;
        return pl;
    }
    return NULL;
}

const acre_plan *acre_close_closed_plan(ctx *x, int p, const char *aff)
{
    char k[ACRE_CLOSE_KEY];
    long i;
    int n = snprintf(k, sizeof k, "%d" SEP "%s", p, aff);
    if (n < 0 || (size_t)n >= sizeof k || !acre_strset_get(&x->close_plan, k, (size_t)n, &i))
        return NULL;
    return acre_close_plan(&x->c, x->labels[i]);
}

/* The plan version affiliate `aff` held at the latest close at which it had one, or NULL. */
static const acre_plan *last_held(ctx *x, const char *aff)
{
    for (int i = x->ncloses - 1; i >= 0; i--) {
        const acre_plan *p = x->closes[i].period < x->c.period
                                 ? acre_close_closed_plan(x, x->closes[i].period, aff)
                                 : NULL;
        if (p)
            return p;
    }
    return NULL;
}

/* ---- streaming records ---- */

/* The index of customer `id`, or -1. Activity comes in (date, customer) order and the customers
 * are held in ID order, so most lookups are the last customer found or one a few places after
 * it: only a jump back (a new day) or a long gap costs a hash lookup. A query whose records come
 * in no customer order (a month's transactions, by date) misses the look ahead every time: after
 * 8 misses in a row it goes to the hash directly, until a customer it finds there lies within
 * the look ahead again. Either way the index found is the same. */
static int find_customer(ctx *x, const char *id)
{
    acre_close *c = &x->c;
    struct cursor *cur = &x->cursor[x->query];
    unsigned __int128 key = acre_close_id_key(id);
    long i;
    /* a query reads its records in customer order for a date: look a little ahead first */
    for (int k = cur->at, n = 0; cur->misses < 8 && k < c->ncusts && n < 32; k++, n++) {
        int d;
        if (x->cust_key[k] != key) {
            if (x->cust_key[k] > key)
                break;
            continue;
        }
        d = key & 0xff ? strcmp(c->custs[k].id + 16, id + 16) : 0;
        if (d == 0) {
            cur->misses = 0;
            return cur->at = k;
        }
        if (d > 0)
            break;
    }
    if (!acre_strset_get(&c->cust_index, id, strlen(id), &i))
        return -1;
    if (i >= cur->at && i < cur->at + 32)
        cur->misses = 0;
    else if (cur->misses < 8)
        cur->misses++;
    return cur->at = (int)i;
}

/* One record, all its versions in g (oldest first). */
static int process(ctx *x, int tb, const grp *g)
{
    acre_close *c = &x->c;
    const ver *v = &g->v[g->nv - 1];
    char date[11];
    long ci;
    acre_cust *cu;
    acre_aff *af;
    int p;
    const char *cust = acre_close_record_customer(tb, g, v);

    if ((ci = find_customer(x, cust)) < 0)
        return 0;
    cu = &c->custs[ci];
    af = &c->affs[cu->aff];
    acre_close_record_date(tb, g, v, date);
    p = acre_close_period_of(date);
    if (x->incr) {
        /* each record from the one query its class names (engine/close_incr.c) */
        int cls = x->qcls[x->query];
        if (cls == Q_AS) {
            /* a version dated in the months read: alone, unless read with its others */
            const char *id = acre_grp_col(g, v, TX_ID);
            if (x->multi.n && acre_strset_get(&x->multi, id, strlen(id), NULL))
                return 0;
            cls = Q_A;
        }
        if (p > c->last_closed ? cls != Q_A
            : cls == Q_A       ? 1
            : x->full_tb[tb]   ? cls != Q_F
            : x->cust_b[ci] & 1u << tb ? cls != Q_B || x->set_cust[tb][g->set] != ci
                                       : cls != Q_C)
            return 0;
    }
    if (p > c->period)
        return 0;
    if (cu->need_events)
        acre_close_add_event(x, cu, tb, g, v);
    if (p == c->period && !af->plan) {
        /* revenue nobody is paid on: listed in the ledger's "unassigned" (SPEC 10) */
        af->unassigned_records++;
        if (!cu->unassigned) {
            cu->unassigned = 1;
            af->unassigned_customers++;
        }
        return 0;
    }
    if (tb == TB_GAMING || tb == TB_TRADING) {
        if (p == c->period && cu->counts && !cu->active) {
            char cut[11];
            if (af->plan->customer_months <= 0 ||
                acre_add_months_date(cut, cu->signup_sec, af->plan->customer_months) != 0 ||
                strcmp(date, cut) < 0) {
                cu->active = 1;
                af->active_customers++;
            }
        }
        if (tb == TB_TRADING)
            return 0;
    }
    if (p < c->first_closed)
        return 0; /* before the first closed period: never revenue */
    if (p == c->period) {
        int rc;
        if (!cu->counts)
            return 0;
        cu->has_rev = 1;
        /* several versions: one may have been counted before, dated in another month
         * (engine/close_late.c); a record with one version, dated in this period, never was */
        if (c->last_closed >= 0 && (tb == TB_TXN || tb == TB_BONUS) && g->nv > 1 &&
            (rc = acre_close_judge_moved(x, tb, g, cu)))
            return rc < 0 ? rc : 0;
        if (tb == TB_GAMING)
            return acre_close_value(x, tb, g, v, af->plan, cu->signup_sec, &cu->ggr, &cu->ngr);
        return acre_close_value(x, tb, g, v, af->plan, cu->signup_sec, &cu->ded, &cu->nr);
    }
    /* a record dated in an earlier period: late, skipped-month, or already counted */
    return acre_close_judge_late(x, tb, g, p, cu);
}

static int process_one(void *arg, int query, const acre_grp *g, acre_error *err)
{
    ctx *x = arg;
    acre_error *own = x->err;
    int rc;
    x->err = err;
    x->query = query;
    rc = process(x, x->rq[query].tag, g);
    if (x->progress && ++x->nread % ACRE_CLOSE_PROGRESS == 0)
        x->progress(x->progress_ctx, "reading", x->nread);
    x->err = own;
    return rc;
}

/* Transactions, activity and Completed bonus events, each record's versions together (up to the
 * close's watermark: engine/close_read.h). Two readers share the queries, and process() sees
 * their records interleaved: what it does with a record may not depend on records of another
 * query having been seen (sums are exact, events are sorted, late contributions kept in query
 * order, which is table order; the refusal reported is that of the earliest query). */
static int stream_all(ctx *x, acre_error *err)
{
    acre_reader *rd = x->rd;
    x->rd = NULL; /* acre_read_run frees it */
    /* a refusal inside process sets err itself */
    return acre_read_run(rd, process_one, x, err);
}

/* ---- each customer's and affiliate's part ---- */

/* Appends v to the array *p of *n ints with room for *cap, growing it (first to `first`).
 * Returns 0, or -1 when out of memory (the array is kept). */
static int push_int(int **p, int *n, int *cap, int first, int v)
{
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : first, *g = acre_realloc(*p, (size_t)c * sizeof *g);
        if (!g)
            return -1;
        *p = g;
        *cap = c;
    }
    (*p)[(*n)++] = v;
    return 0;
}

/* Decides each customer's part in this close: does it count toward the basis, and does its
 * qualification need to be computed (unsettled, or a paid customer still inside its clawback
 * window). */
static int prepare_customers(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    int64_t start = acre_month_start(c->period);
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        acre_aff *a = &c->affs[cu->aff];
        const acre_plan *p = a->plan;
        if (push_int(&a->custs, &a->ncusts, &a->ccap, 16, i))
            return acre_close_oom(err);
        cu->counts = p && p->valuer && (cu->flags & p->q.exclude_flags) == 0;
        if (!cu->settled && p) {
            cu->need_events = 1;
        } else if (cu->paid && !cu->clawed && cu->paid_clawback_days > 0 &&
                   start <= cu->paid_qsec + (int64_t)cu->paid_clawback_days * 86400) {
            long pa;
            cu->need_events = 1;
            if (acre_strset_get(&c->aff_index, cu->paid_aff, strlen(cu->paid_aff), &pa)) {
                acre_aff *b = &c->affs[pa];
                if (push_int(&b->paid, &b->npaid, &b->pcap, 8, i))
                    return acre_close_oom(err);
            }
        }
        if (cu->need_events) {
            const acre_plan *q = cu->settled ? acre_close_plan(c, cu->paid_label) : p;
            if (!(cu->evplan = q))
                cu->need_events = 0; /* the clawback rule refuses the missing plan */
            if (q && acre_plan_reads_activity(q))
                x->need_activity_events = 1;
        }
    }
    return 0;
}

/* Plans for the period, parent links, and the refusals that stop a close before it starts. */
static int prepare_affiliates(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        char missing[320] = "";
        const acre_plan *held;
        long pi;
        a->plan = (acre_plan *)acre_close_plan_for(x, i, c->period, &a->assign_from, missing,
                                                   sizeof missing);
        if (!a->plan && missing[0])
            return acre_error_set(err, ACRE_EREFUSED, "plan", "unknown_plan",
                                  "affiliate %s is assigned plan %s for %s, which is not stored",
                                  a->id, missing, c->period_text);
        if (a->plan && strcmp(a->plan->currency, a->currency) != 0)
            return acre_error_set(err, ACRE_EREFUSED, "currency", "plan_currency",
                                  "plan %s is in %s but its affiliate %s is paid in %s",
                                  a->plan->label, a->plan->currency, a->id, a->currency);
        /* totals: this period's plan, else the plan version it last held at a close (so that
         * brought_forward prints as the carried_forward it was), else the most recent one its
         * assignments give */
        if (a->plan) {
            a->scale = a->plan->scale;
            a->mode = a->plan->mode;
        } else if ((held = last_held(x, a->id))) {
            a->scale = held->scale;
            a->mode = held->mode;
        } else {
            const acre_plan *last = NULL;
            int best = -1;
            for (int k = 0; k < x->nas[i]; k++)
                if (x->as[i][k].from <= c->period && x->as[i][k].from > best) {
                    int f;
                    const acre_plan *pl = acre_close_plan_for(x, i, x->as[i][k].from, &f, NULL, 0);
                    if (pl) {
                        last = pl;
                        best = x->as[i][k].from;
                    }
                }
            if (last) {
                a->scale = last->scale;
                a->mode = last->mode;
            }
        }
        if (a->parent && acre_strset_get(&c->aff_index, a->parent, strlen(a->parent), &pi)) {
            acre_aff *pa = &c->affs[pi];
            a->parent_idx = (int)pi;
            if (push_int(&pa->children, &pa->nchildren, &pa->chcap, 4, i))
                return acre_close_oom(err);
        }
    }
    return 0;
}

/* ---- the rule kinds ---- */

/* Each kind's state from the previous close, into its slots of the affiliates (its load hook,
 * include/acre/sys/rule.h "State"), in table order, before anything is streamed. */
static int load_state(ctx *x, acre_error *err)
{
    for (int k = 0; acre_rule_kinds[k]; k++)
        if (acre_rule_kinds[k]->load) {
            int rc = acre_rule_kinds[k]->load(&x->c, x->s, x->c.last_closed, x->seq, err);
            if (rc)
                return rc;
        }
    return 0;
}

/* Phase 1 on two threads. Each affiliate's phase-1 kinds write only that affiliate's lines and
 * the customers it decides: its unsettled customers, and the paid ones it may claw back (a
 * customer is one or the other). Shared are the plans, rates and IDs, read only, and the set of
 * missing rates, under c->lock. Affiliates are taken in order; a failure stops the taking of
 * later ones, and the failure of the first affiliate in order is reported, as one thread would. */
typedef struct rules_job {
    acre_close *c;
    pthread_mutex_t mu;
    int next;    /* the next affiliate to take */
    int fail_at; /* the first affiliate that failed, or naffs */
    int rc;
    acre_error err;
} rules_job;

static void *rules_worker(void *arg)
{
    rules_job *j = arg;
    for (;;) {
        acre_error err;
        int i, rc = 0;
        pthread_mutex_lock(&j->mu);
        i = j->next < j->fail_at ? j->next++ : -1;
        pthread_mutex_unlock(&j->mu);
        if (i < 0)
            return NULL;
        memset(&err, 0, sizeof err);
        for (int k = 0; acre_rule_kinds[k] && !rc; k++)
            if (acre_rule_kinds[k]->phase == 1)
                rc = acre_rule_kinds[k]->run(j->c, &j->c->affs[i], &err);
        if (rc) {
            pthread_mutex_lock(&j->mu);
            if (i < j->fail_at) {
                j->fail_at = i;
                j->rc = rc;
                j->err = err;
            }
            pthread_mutex_unlock(&j->mu);
        }
    }
}

static int run_rules(acre_close *c, acre_error *err)
{
    rules_job j;
    pthread_t t;
    int threaded;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.fail_at = c->naffs;
    pthread_mutex_init(&j.mu, NULL);
    c->lock = &j.mu;
    threaded = c->naffs > 1 && acre_alloc_threads() &&
               pthread_create(&t, NULL, rules_worker, &j) == 0;
    rules_worker(&j);
    if (threaded)
        pthread_join(t, NULL);
    c->lock = NULL;
    pthread_mutex_destroy(&j.mu);
    if (j.rc) {
        *err = j.err;
        return j.rc;
    }
    if (c->oom)
        return acre_close_oom(err);
    /* phase 2 reads other affiliates' lines: one thread, in order */
    for (int i = 0; i < c->naffs; i++)
        for (int k = 0; acre_rule_kinds[k]; k++)
            if (acre_rule_kinds[k]->phase == 2) {
                int rc = acre_rule_kinds[k]->run(c, &c->affs[i], err);
                if (rc)
                    return rc;
            }
    return 0;
}

/* ---- storing ---- */

typedef struct doc_job {
    ctx *x;
    acre_buf *doc;
    char *digest;
    int rc;
} doc_job;

static void *doc_worker(void *arg)
{
    doc_job *d = arg;
    d->rc = acre_close_write_ledger(d->x, d->doc, d->digest);
    return NULL;
}

/* The document on a second thread while this one stores the state, then the ledger row. */
static int store_close(ctx *x, acre_buf *doc, char digest[72], acre_error *err)
{
    doc_job d = {x, doc, digest, 0};
    pthread_t t;
    int threaded = acre_alloc_threads() && pthread_create(&t, NULL, doc_worker, &d) == 0, rc;
    if (!threaded)
        doc_worker(&d);
    rc = acre_close_write_state(x, err);
    if (threaded)
        pthread_join(t, NULL);
    if (rc)
        return rc;
    if (d.rc)
        return acre_close_oom(err);
    /* postbacks' events (SPEC 12), in the close's transaction */
    if ((rc = acre_close_events(x, err)))
        return rc;
    return acre_close_write_close(x, doc->p, digest, err);
}

/* The qualification events, once every rule kind has run: nothing reads them again (the ledger
 * and the state are made from the results), and with every customer unsettled (a first close)
 * they were a fifth of the close's memory at the benchmark's size, still held while the ledger
 * was written (docs/PERFORMANCE.md). */
static void free_events(acre_close *c)
{
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        free(cu->ev);
        cu->ev = NULL;
        cu->nev = cu->cap = 0;
    }
}

/* The customers and their index. Once the state is stored nothing reads them, so a close frees
 * them while its commit waits for the disk. */
static void free_customers(acre_close *c)
{
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        free(cu->id);
        free(cu->kyc);
        free(cu->paid_aff);
        free(cu->paid_label);
        free(cu->paid_amount);
        free(cu->paid_qat);
        free(cu->paid_period);
        free(cu->paid_now);
        free(cu->ev);
        acre_acc_free(&cu->ggr);
        acre_acc_free(&cu->ded);
        acre_acc_free(&cu->ngr);
        acre_acc_free(&cu->nr);
        for (int k = 0; k < cu->nlate; k++) {
            free(cu->late[k].key);
            free(cu->late[k].rkey);
            acre_dec_clear(&cu->late[k].ggr);
            acre_dec_clear(&cu->late[k].ded);
            acre_dec_clear(&cu->late[k].ngr);
            acre_dec_clear(&cu->late[k].nr);
        }
        free(cu->late);
        acre_dec_clear(&cu->ftd_amount);
    }
    free(c->custs);
    c->custs = NULL;
    c->ncusts = 0;
    acre_strset_free(&c->cust_index);
}

static void *free_customers_main(void *arg)
{
    free_customers(arg);
    return NULL;
}

static void ctx_free(ctx *x)
{
    acre_close *c = &x->c;
    free(x->dropped_cust);
    free(x->rq);
    free(x->qcls);
    free(x->cust_b);
    free(x->sets);
    acre_buf_free(&x->sets_text);
    acre_strset_free(&x->multi);
    for (int i = 0; i < TB_N; i++)
        free(x->set_cust[i]);
    free(x->bounds);
    free(x->cursor);
    free(x->cust_key);
    free(x->held);
    acre_buf_free(&x->key);
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        free(a->id);
        free(a->parent);
        acre_dec_clear(&a->min_payout);
        acre_dec_clear(&a->brought_forward);
        acre_dec_clear(&a->earned);
        acre_dec_clear(&a->payable);
        acre_dec_clear(&a->carried_forward);
        free(a->custs);
        free(a->children);
        free(a->paid);
        for (int k = 0; acre_rule_kinds[k]; k++)
            if (a->state[k] && acre_rule_kinds[k]->state_free)
                acre_rule_kinds[k]->state_free(a->state[k]);
        for (int k = 0; k < a->nlines; k++) {
            acre_line *l = &a->lines[k];
            acre_dec_clear(&l->exact);
            acre_dec_clear(&l->amount);
            acre_buf_free(&l->detail);
        }
        free(a->lines);
        if (x->as && x->nas) {
            for (int k = 0; k < x->nas[i]; k++)
                free(x->as[i][k].plan_id);
            free(x->as[i]);
        }
    }
    free(x->as);
    free(x->nas);
    free(c->affs);
    free_customers(c);
    for (int i = 0; i < c->nfx; i++)
        acre_dec_clear(&c->fx[i].rate);
    free(c->fx);
    acre_buf_free(&c->ids);
    acre_strset_free(&c->aff_index);
    acre_strset_free(&c->missing_set);
    for (int i = 0; i < x->ncloses; i++)
        free(x->closes[i].digest);
    free(x->closes);
    for (int i = 0; i < x->c.nplans; i++)
        acre_plan_free(x->c.plans[i]);
    free(x->c.plans);
    acre_strset_free(&x->c.plan_index);
    acre_strset_free(&x->plan_newest);
    acre_strset_free(&x->close_plan);
    for (int i = 0; i < x->nlabels; i++)
        free(x->labels[i]);
    free(x->labels);
    acre_strset_free(&x->excluded);
    acre_strset_free(&x->judged_index);
    for (int i = 0; i < x->njudged; i++) {
        free(x->judged[i].a);
        free(x->judged[i].b);
    }
    free(x->judged);
    acre_buf_free(&x->out_counted);
    acre_close_load_free(x);
}

void acre_close_ctx_free(ctx *x)
{
    ctx_free(x);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The refusal for missing rates, listing every currency/date pair, sorted. */
static int refuse_missing(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    char **v = acre_calloc(c->missing_set.n + 1, sizeof *v);
    size_t n = 0;
    acre_buf b = {0};
    for (size_t i = 0; v && i < c->missing_set.cap; i++)
        if (acre_strset_key(&c->missing_set, i))
            v[n++] = (char *)acre_strset_key(&c->missing_set, i);
    qsort(v, n, sizeof *v, by_text);
    for (size_t i = 0; i < n; i++)
        acre_buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
    acre_error_set(err, ACRE_EREFUSED, "usd_rate", "missing_rate",
                   "closing %s needs FX rates that are not stored (currency/date): %s",
                   c->period_text, b.p ? b.p : "");
    acre_buf_free(&b);
    free(v);
    return ACRE_EREFUSED;
}

static int close_run(acre_store *s, const char *period, const acre_close_opts *o,
                     long long watermark, char **ledger, acre_error *err);

int acre_close_period(acre_store *s, const char *period, int store, char **ledger,
                      acre_error *err)
{
    return acre_close_period_at(s, period, store, -1, 0, 0, ledger, err);
}

int acre_close_period_opts(acre_store *s, const char *period, const acre_close_opts *o,
                           char **ledger, acre_error *err)
{
    return close_run(s, period, o, -1, ledger, err);
}

int acre_close_period_at(acre_store *s, const char *period, int store, long long watermark,
                         int allow_gap, int full, char **ledger, acre_error *err)
{
    acre_close_opts o = {.store = store, .allow_gap = allow_gap, .full_read = full};
    return close_run(s, period, &o, watermark, ledger, err);
}

static int close_run(acre_store *s, const char *period, const acre_close_opts *o,
                     long long watermark, char **ledger, acre_error *err)
{
    int store = o->store, allow_gap = o->allow_gap, full = o->full_read;
    ctx x;
    acre_close *c = &x.c;
    acre_buf doc = {0};
    char digest[72];
    int rc, began = 0;

    memset(&x, 0, sizeof x);
    *ledger = NULL;
    x.s = s;
    x.err = err;
    x.progress = o->progress;
    x.progress_ctx = o->progress_ctx;
    if (acre_month_parse(period, strlen(period), &c->period))
        return acre_error_set(err, ACRE_EUSAGE, "period", "period",
                              "period \"%s\" is not a month YYYY-MM", period);
    acre_period_text(c->period_text, c->period);
    {
        int64_t st = acre_month_start(c->period), nx = acre_month_start(c->period + 1);
        char d[11];
        acre_date_of(d, st);
        snprintf(c->start, sizeof c->start, "%sT00:00:00.000000000Z", d);
        acre_date_of(d, nx);
        snprintf(c->next_start, sizeof c->next_start, "%sT00:00:00.000000000Z", d);
        acre_date_of(c->last_day, nx - 86400);
    }
    if ((rc = acre_close_begin(s, store, err)))
        goto out;
    began = 1;
    if ((rc = acre_close_load_closes(&x, err)))
        goto out;
    c->last_closed = x.ncloses ? x.closes[x.ncloses - 1].period : -1;
    c->first_closed = x.ncloses ? x.closes[0].period : c->period;
    if (c->period <= c->last_closed) {
        char last[8];
        acre_period_text(last, c->last_closed);
        rc = acre_error_set(err, ACRE_EREFUSED, "period", "closed_in_order",
                            "%s is not after the last closed period %s: periods are closed in "
                            "order and closed periods never change",
                            c->period_text, last);
        goto out;
    }
    if (!allow_gap && (rc = acre_gap_check(c->last_closed, c->period, err)))
        goto out;
    if ((rc = acre_close_load_seq(&x, err)))
        goto out;
    if (watermark >= 0 && watermark < x.seq)
        x.seq = watermark;
    if (x.progress)
        x.progress(x.progress_ctx, "reading", 0);
    /* a full read starts now, so that its readers work while the state loads; an incremental
     * one once the customers' part is known */
    if ((rc = acre_close_plan_reading(&x, full, err)))
        goto out;
    if ((rc = acre_close_load(&x, err)) || (rc = load_state(&x, err)) ||
        (rc = prepare_affiliates(&x, err)))
        goto out;
    if ((rc = prepare_customers(&x, err)) || (rc = acre_close_start_incremental(&x, err)))
        goto out;
    if ((rc = stream_all(&x, err)))
        goto out;
    if (c->oom || c->ids.oom || x.out_counted.oom) {
        rc = acre_close_oom(err);
        goto out;
    }
    if (x.progress)
        x.progress(x.progress_ctx, "computing", x.nread);
    if ((rc = run_rules(c, err)))
        goto out;
    free_events(c);
    for (int i = 0; i < c->naffs; i++) /* a detail whose buffer ran out of memory is cut short */
        for (int k = 0; k < c->affs[i].nlines; k++)
            if (c->affs[i].lines[k].detail.oom) {
                rc = acre_close_oom(err);
                goto out;
            }
    if (c->missing_set.n) {
        rc = refuse_missing(&x, err);
        goto out;
    }
    for (int i = 0; i < c->ncusts; i++)
        if (c->custs[i].qualifies && !c->custs[i].outcome)
            c->custs[i].outcome = 3;
    acre_close_totals(&x);
    if (x.progress)
        x.progress(x.progress_ctx, "writing", x.nread);
    if (!store && acre_close_write_ledger(&x, &doc, digest)) {
        rc = acre_close_oom(err);
        goto out;
    }
    if (store) {
        pthread_t t;
        int freeing;
        if ((rc = store_close(&x, &doc, digest, err)))
            goto out;
        freeing = acre_alloc_threads() && pthread_create(&t, NULL, free_customers_main, c) == 0;
        rc = acre_store_commit(s, err);
        if (freeing)
            pthread_join(t, NULL);
        began = 0;
        if (rc)
            goto out;
    }
    *ledger = doc.p;
    doc.p = NULL;
out:
    acre_read_cancel(x.rd);
    if (began)
        acre_store_rollback(s);
    acre_buf_free(&doc);
    ctx_free(&x);
    return rc;
}

int acre_ledger_get(acre_store *s, const char *period, char **ledger, acre_error *err)
{
    int p;
    *ledger = NULL;
    if (acre_month_parse(period, strlen(period), &p))
        return acre_error_set(err, ACRE_EUSAGE, "period", "period",
                              "period \"%s\" is not a month YYYY-MM", period);
    return acre_close_load_ledger(s, p, period, ledger, err);
}
