/* engine/close_late.c — records dated in an earlier period than the one being closed.
 *
 * Such a record (one that arrived late, a new version, a record of a skipped month or of a
 * customer counting again) adds the difference between its value now and the value counted
 * before, marked late in its customer's revenue.
 *
 * What each close counted is remembered per record version without a row per record: a record
 * was counted at the first close whose watermark saw a version of it dated in that close's
 * months (after the close before it, up to its own period: counted_at), in that version, unless
 * its customer did not count then (table close_excluded). A later judgment of the record (a new
 * version, a customer counting again, a skipped month), and the counting of a transaction or
 * bonus event with several versions in its own months (the rule could name an older one), is
 * written to table counted with the values counted, so the next difference starts from them
 * (close_load.c reads them; the new ones are queued in x->out_counted for close_state.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "alloc.h"
#include "close_int.h"

static const char *col(const grp *g, const ver *v, int i)
{
    return acre_grp_col(g, v, i);
}

/* 1 when period p was itself closed (not skipped). */
static int was_closed(const ctx *x, int p)
{
    for (int i = 0; i < x->ncloses; i++)
        if (x->closes[i].period == p)
            return 1;
    return 0;
}

/* The close at which a record was counted without a judgment of its own, and the version it
 * counted: the first close whose watermark saw a version of it dated in that close's months (after
 * the close before it, up to its period). Returns that close's index and sets *cv, or -1 when
 * there is none: no close saw it yet, or the first that saw it dated in a closed month met it as
 * late data (and judged it, or left it pending while its customer did not count). A record whose
 * date changed is found where it was first counted, wherever it is dated now. */
static int counted_at(const ctx *x, int tb, const grp *g, const ver **cv)
{
    int lo = 0, hi = x->ncloses;
    /* the first close that saw its first version: closes are in period and watermark order */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (x->closes[mid].seq < g->v[0].seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int k = lo; k < x->ncloses; k++) {
        const ver *v = NULL;
        char date[11];
        int d;
        for (int i = 0; i < g->nv && g->v[i].seq <= x->closes[k].seq; i++)
            v = &g->v[i];
        acre_close_record_date(tb, g, v, date);
        d = acre_close_period_of(date);
        if (d > x->closes[k].period)
            continue; /* dated after that close: not due yet */
        if (k > 0 ? d <= x->closes[k - 1].period : d < x->closes[0].period)
            return -1; /* late at close k, or before the first closed period: never counted */
        *cv = v;
        return k;
    }
    return -1;
}

static const char *const table_names[] = {"transaction", "gaming_activity", "trading_activity",
                                          "bonus_event"};

static void record_key(acre_buf *k, int tb, const grp *g, const ver *v)
{
    int nkey = tb == TB_TXN ? 1 : tb == TB_BONUS ? 2 : 4;
    for (int i = 0; i < nkey; i++) {
        if (i)
            acre_buf_adds(k, SEP);
        acre_buf_adds(k, col(g, v, i));
    }
}

static void key_json(acre_buf *k, int tb, const grp *g, const ver *v)
{
    int nkey = tb == TB_TXN ? 1 : tb == TB_BONUS ? 2 : 4;
    if (nkey == 1) {
        acre_buf_json_str(k, col(g, v, 0), strlen(col(g, v, 0)));
        return;
    }
    acre_buf_adds(k, "[");
    for (int i = 0; i < nkey; i++) {
        if (i)
            acre_buf_adds(k, ",");
        acre_buf_json_str(k, col(g, v, i), strlen(col(g, v, i)));
    }
    acre_buf_adds(k, "]");
}

/* A pointer no plan has: what x->held holds for "not looked up yet". */
static const acre_plan unknown_plan;

/* The plan affiliate number ai held at close cc (acre_close_closed_plan), looked up once. */
static const acre_plan *held_at(ctx *x, int cc, int ai)
{
    const acre_close *c = &x->c;
    size_t i = (size_t)cc * (size_t)c->naffs + (size_t)ai;
    if (!x->held) {
        size_t n = (size_t)x->ncloses * (size_t)c->naffs;
        if (!(x->held = acre_malloc((n ? n : 1) * sizeof *x->held)))
            return acre_close_closed_plan(x, x->closes[cc].period, c->affs[ai].id);
        for (size_t k = 0; k < n; k++)
            x->held[k] = &unknown_plan;
    }
    if (x->held[i] == &unknown_plan)
        x->held[i] = acre_close_closed_plan(x, x->closes[cc].period, c->affs[ai].id);
    return x->held[i];
}

/* Sets *ai (index into acre_close.affs, or -1 when it is not an affiliate of this close), *op
 * and *signup to customer cu's affiliate, the plan it held and cu's signup as they were at close
 * cc. A customer stored no later than that close (and every close is at or below this one's
 * watermark) is as it is now, and needs no read. Returns 0 or an error (x->err set). */
static int old_customer(ctx *x, const acre_cust *cu, int cc, long *ai, const acre_plan **op,
                        int64_t *signup)
{
    int rc;
    *signup = cu->signup_sec;
    *ai = cu->aff;
    if (!(cu->seq <= x->closes[cc].seq && x->closes[cc].seq <= x->seq)) {
        rc = acre_close_old_customer(x, cu->id, x->closes[cc].seq, ai, signup, x->err);
        if (rc < 0)
            return rc;
        if (!rc) /* no version then: as it is now */
            *ai = cu->aff;
    }
    /* an affiliate this close does not know held no plan it knows */
    *op = *ai >= 0 ? held_at(x, cc, (int)*ai) : NULL;
    return 0;
}

/* The value a record was counted at before this close, or 0 when it never was; *seq is the
 * version judged (0: none). When that is the record's newest version, nothing changed since:
 * the value is left 0 and not computed (acre_close_judge_late goes no further), so an unchanged
 * record costs a lookup, not a valuation. */
static int old_value(ctx *x, int tb, const grp *g, acre_dec *a, acre_dec *b, long long *seq,
                     const acre_cust *cu)
{
    int p; /* the month it was counted for */
    acre_buf *k = &x->key;
    long ji;
    int cc;
    const ver *v = NULL;
    acre_dec_set_si(a, 0);
    acre_dec_set_si(b, 0);
    *seq = 0;
    k->len = 0;
    acre_buf_adds(k, table_names[tb]);
    acre_buf_adds(k, SEP);
    record_key(k, tb, g, &g->v[g->nv - 1]);
    if (k->oom) {
        x->c.oom = 1; /* reported when the records have been read */
        return 0;
    }
    if (acre_strset_get(&x->judged_index, k->p, k->len, &ji)) {
        const judged *j = &x->judged[ji];
        int rc;
        *seq = j->seq;
        if (j->seq == g->v[g->nv - 1].seq)
            return 0; /* judged in its newest version: acre_close_judge_late needs no value */
        for (size_t i = 0; i < k->len; i++) /* the key's parts, printable, for the message */
            if (k->p[i] == SEP[0])
                k->p[i] = '/';
        if ((rc = acre_close_stored(a, j->a, x->err, "counted.a of %s", k->p)) ||
            (rc = acre_close_stored(b, j->b, x->err, "counted.b of %s", k->p)))
            return rc;
        return 0;
    }
    if ((cc = counted_at(x, tb, g, &v)) < 0)
        return 0;
    {
        char date[11];
        acre_close_record_date(tb, g, v, date);
        p = acre_close_period_of(date);
    }
    if (x->excluded.n) {
        /* judged at close cc, unless the customer did not count then */
        char ek[ACRE_CLOSE_KEY];
        int n = snprintf(ek, sizeof ek, "%d" SEP "%s", x->closes[cc].period, cu->id);
        if (n > 0 && (size_t)n < sizeof ek && acre_strset_get(&x->excluded, ek, (size_t)n, NULL))
            return 0;
    }
    *seq = v->seq;
    if (v == &g->v[g->nv - 1])
        return 0; /* counted in its newest version: acre_close_judge_late needs no value */
    {
        /* the customer's affiliate and signup as they were at that close */
        const acre_plan *op;
        acre_acc A = {0}, B = {0};
        int64_t signup;
        long ai;
        int rc = old_customer(x, cu, cc, &ai, &op, &signup);
        if (rc)
            return rc;
        if (!was_closed(x, p)) {
            /* a skipped month's record was judged at close cc by the plan its affiliate's
             * assignments give that month (acre_close_judge_late): without revshare it
             * counted 0 */
            const acre_plan *own =
                ai >= 0 ? acre_close_plan_for(x, (int)ai, p, NULL, NULL, 0) : NULL;
            if (!own || !own->valuer)
                op = NULL;
        }
        if (acre_close_value(x, tb, g, v, op, signup, &A, &B))
            return ACRE_EREFUSED;
        acre_acc_get(a, &A);
        acre_acc_get(b, &B);
        acre_acc_free(&A);
        acre_acc_free(&B);
    }
    return 0;
}

/* Key order, as the store orders a table's rows: a and b hold nkey NUL-terminated columns each,
 * compared one after the other as bytes (SQLite's BINARY collation is memcmp). */
static int rkey_cmp(const char *a, const char *b, int nkey)
{
    for (int i = 0; i < nkey; i++) {
        int d = strcmp(a, b);
        if (d)
            return d;
        a += strlen(a) + 1;
        b += strlen(b) + 1;
    }
    return 0;
}

static void add_late(ctx *x, acre_cust *cu, int tb, const grp *g, const ver *v, const acre_dec *a,
                     const acre_dec *b)
{
    acre_late *n = acre_realloc(cu->late, (size_t)(cu->nlate + 1) * sizeof *n);
    acre_buf k = {0}, r = {0};
    int at, nkey = tb == TB_TXN ? 1 : tb == TB_BONUS ? 2 : 4;
    if (!n) {
        x->c.oom = 1; /* reported when the records have been read */
        return;
    }
    cu->late = n;
    for (int i = 0; i < nkey; i++)
        acre_buf_add(&r, col(g, v, i), strlen(col(g, v, i)) + 1);
    if (r.oom) {
        acre_buf_free(&r);
        x->c.oom = 1;
        return;
    }
    /* in table order, then key order: the order a full read meets them in, whatever queries
     * read them and however they interleave (engine/close_read.h, engine/close_incr.c) */
    for (at = cu->nlate; at > 0 && (cu->late[at - 1].table > tb ||
                                    (cu->late[at - 1].table == tb &&
                                     rkey_cmp(cu->late[at - 1].rkey, r.p, nkey) > 0));
         at--)
        ;
    memmove(&cu->late[at + 1], &cu->late[at], (size_t)(cu->nlate - at) * sizeof *n);
    cu->nlate++;
    n = &cu->late[at];
    n->table = tb;
    n->rkey = r.p;
    n->kind = table_names[tb];
    key_json(&k, tb, g, v);
    n->key = k.p;
    if (k.oom)
        x->c.oom = 1;
    acre_close_record_date(tb, g, v, n->date);
    acre_dec_init(&n->ggr);
    acre_dec_init(&n->ded);
    acre_dec_init(&n->ngr);
    acre_dec_init(&n->nr);
    acre_dec_set(tb == TB_GAMING ? &n->ggr : &n->ded, a);
    acre_dec_set(tb == TB_GAMING ? &n->ngr : &n->nr, b);
}

/* Adds a (GGR or a deduction) and b (NGR or net revenue) to cu's revenue. */
static void add_to(acre_close *c, acre_cust *cu, int tb, const acre_dec *a, const acre_dec *b)
{
    if (acre_acc_add_dec(tb == TB_GAMING ? &cu->ggr : &cu->ded, a) ||
        acre_acc_add_dec(tb == TB_GAMING ? &cu->ngr : &cu->nr, b))
        acre_close_ran_out(c);
}

/* Queues the judgment of version v at the values a, b for table counted (close_state.c). */
static void queue_counted(ctx *x, int tb, const grp *g, const ver *v, const acre_dec *a,
                          const acre_dec *b)
{
    char *sa = acre_dec_format(a), *sb = acre_dec_format(b);
    if (!sa || !sb)
        x->out_counted.oom = 1; /* reported when the close is stored */
    acre_buf_adds(&x->out_counted, table_names[tb]);
    acre_buf_adds(&x->out_counted, "\n");
    record_key(&x->out_counted, tb, g, v);
    acre_buf_printf(&x->out_counted, "\n%lld\n%s\n%s\n", v->seq, sa, sb);
    free(sa);
    free(sb);
}

int acre_close_judge_moved(ctx *x, int tb, const grp *g, acre_cust *cu)
{
    acre_close *c = &x->c;
    const ver *v = &g->v[g->nv - 1];
    acre_dec oa, ob, na, nb;
    long long jseq = 0;
    acre_acc A = {0}, B = {0};
    int rc;

    acre_dec_init(&oa);
    acre_dec_init(&ob);
    acre_dec_init(&na);
    acre_dec_init(&nb);
    if ((rc = old_value(x, tb, g, &oa, &ob, &jseq, cu)))
        goto out;
    /* its value now is the period's, and what the new version counts from later: remembered
     * even when nothing was counted before (the first close that saw it in its months had its
     * customer excluded, say), since the implied rule (counted_at) would name that close, not
     * this one */
    if ((rc = acre_close_value(x, tb, g, v, c->affs[cu->aff].plan, cu->signup_sec, &A, &B)))
        goto out;
    acre_acc_get(&na, &A);
    acre_acc_get(&nb, &B);
    queue_counted(x, tb, g, v, &na, &nb);
    /* what was counted where it was dated before is taken back, as late data of this record */
    acre_dec_neg(&oa, &oa);
    acre_dec_neg(&ob, &ob);
    add_to(c, cu, tb, &na, &nb);
    if (acre_dec_sgn(&oa) || acre_dec_sgn(&ob)) {
        add_to(c, cu, tb, &oa, &ob);
        add_late(x, cu, tb, g, v, &oa, &ob);
    }
    rc = 1;
out:
    acre_acc_free(&A);
    acre_acc_free(&B);
    acre_dec_clear(&oa);
    acre_dec_clear(&ob);
    acre_dec_clear(&na);
    acre_dec_clear(&nb);
    return rc;
}

int acre_close_judge_late(ctx *x, int tb, const grp *g, int p, acre_cust *cu)
{
    acre_close *c = &x->c;
    int moves = tb == TB_TXN || tb == TB_BONUS; /* its date is not in its key */
    const ver *v = &g->v[g->nv - 1];
    const acre_aff *af = &c->affs[cu->aff];
    acre_dec oa, ob, na, nb;
    long long jseq = 0;
    acre_acc A = {0}, B = {0};
    const acre_plan *own;
    int rc = 0;

    acre_dec_init(&oa);
    acre_dec_init(&ob);
    acre_dec_init(&na);
    acre_dec_init(&nb);
    /* pending until its customer counts: nothing is valued (so nothing can refuse the close,
     * whichever records the close reads) */
    if (!cu->counts)
        goto out;
    /* a transaction or bonus event dated after the last close may have been counted before,
     * dated in a closed month then (an activity row's date is in its key) */
    if ((p <= c->last_closed || (c->last_closed >= 0 && moves)) &&
        (rc = old_value(x, tb, g, &oa, &ob, &jseq, cu)))
        goto out;
    /* already counted in this version */
    if (jseq == v->seq)
        goto out;
    /* counted now by this period's plan, if its own period had a revshare plan: the plan the
     * affiliate held at its period's close, or for a month that was skipped (never closed, SPEC
     * 9 "Late data") the plan its assignments give it for that month */
    own = was_closed(x, p) ? acre_close_closed_plan(x, p, af->id)
                           : acre_close_plan_for(x, cu->aff, p, NULL, NULL, 0);
    if (own && own->valuer) {
        if ((rc = acre_close_value(x, tb, g, v, af->plan, cu->signup_sec, &A, &B)))
            goto out;
        acre_acc_get(&na, &A);
        acre_acc_get(&nb, &B);
    }
    /* remembered unless the implied rule (counted_at) names this close and version: a record
     * of a skipped month with one version, or any activity row (its date never changes) */
    if (p <= c->last_closed || jseq || (moves && g->nv > 1))
        queue_counted(x, tb, g, v, &na, &nb);
    acre_dec_sub(&na, &na, &oa);
    acre_dec_sub(&nb, &nb, &ob);
    cu->has_rev = 1;
    if (acre_dec_sgn(&na) || acre_dec_sgn(&nb)) {
        add_to(c, cu, tb, &na, &nb);
        add_late(x, cu, tb, g, v, &na, &nb);
    }
out:
    acre_acc_free(&A);
    acre_acc_free(&B);
    acre_dec_clear(&oa);
    acre_dec_clear(&ob);
    acre_dec_clear(&na);
    acre_dec_clear(&nb);
    return rc;
}
