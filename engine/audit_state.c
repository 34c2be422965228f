/* engine/audit_state.c — the audit's second half: what the next close starts from (SPEC 10).
 *
 * A close reads back rows that earlier closes stored beside their ledgers (engine/close_load.c).
 * Each row that the ledger documents determine is derived here from the ledgers alone,
 * in period order, and compared with the stored one:
 *   - close_affiliate: one row per affiliate the ledger lists, its plan, and carried_forward
 *     exactly (the ledger shows it rounded): 0 when the ledger paid, else Σ line amounts + the
 *     previous close's exact carried_forward. Each ledger's brought_forward must be that
 *     previous value rounded to the affiliate's scale.
 *   - each rule kind's own state (carryover's close_layer): the kind's audit hooks replay it
 *     from every listed affiliate's lines and compare it with its rows of each period
 *     (include/acre/sys/rule.h "State"; what they may call: engine/audit_util.h).
 *   - settled: the line kinds that document a settlement say so (ACRE_LINE_SETTLES_*: cpa's):
 *     every paid row is such a line of its period with the same affiliate, plan, amount and
 *     qualified_at (qsec its seconds), over_cap its over-cap line, and clawed_period is set
 *     exactly for the customers with a clawback line; and every such line has its row.
 *   - no state row of a period that is not closed, and close.seq never goes back.
 * What the ledgers do not determine (close_excluded, counted, settled.clawback_days, close.seq's
 * value) only `audit --recompute` checks (engine/audit_recompute.c, docs/RELIABILITY.md). The
 * reporter and number readers the kinds' hooks call (engine/audit_util.h) are this file's. */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"
#include "acre/sys/rule.h"
#include "alloc.h"
#include "audit_int.h"
#include "audit_util.h"
#include "close.h"
#include "datetime.h"
#include "jsonval.h"
#include "store_int.h"
#include "strset.h"

/* One affiliate as the ledgers so far leave it. */
typedef struct affst {
    char *id;
    int has_cf;    /* a close_affiliate row is expected at the last period */
    acre_dec cf;   /* its exact carried_forward */
    int seen, row; /* in this ledger; its close_affiliate row found */
    char *plan;    /* this ledger's plan, or NULL */
} affst;

/* What a settled row can say, and the flag of the line kind that documents it. */
enum { R_PAID, R_OVER_CAP, R_CLAWBACK, R_N };
static const unsigned role_flag[R_N] = {ACRE_LINE_SETTLES_PAID, ACRE_LINE_SETTLES_OVER_CAP,
                                        ACRE_LINE_SETTLES_CLAWBACK};

/* A line of a line kind that documents a settlement. */
typedef struct cline {
    int role; /* R_* */
    int period;
    char *aff, *cust, *plan, *amount, *qat;
    int matched;
} cline;

struct acre_audit {
    FILE *out;
    int *nbad;
    int oom;
    affst *a;
    int na;
    acre_strset idx;
    cline *cl;
    int ncl;
    acre_strset clidx; /* "KIND\x1fCUSTOMER" -> cl */
    int *closed;       /* closed periods, in order */
    int nclosed;
    const char *role[R_N];             /* the line kind documenting each, or NULL (the table's) */
    void *kstate[ACRE_MAX_RULE_KINDS]; /* each rule kind's audit state, by its row */
    acre_vline *vl;                    /* one affiliate's lines, for the kinds' audit_lines */
    size_t cvl;
};
typedef struct acre_audit as;

void acre_audit_bad(as *x, const char *period, const char *fmt, ...)
{
    va_list ap;
    fprintf(x->out, "%s\tFAIL\t", period);
    va_start(ap, fmt);
    vfprintf(x->out, fmt, ap);
    va_end(ap);
    fputc('\n', x->out);
    (*x->nbad)++;
}

void acre_audit_ran_out(as *x)
{
    x->oom = 1;
}

int acre_audit_affiliate(const as *x, const char *id)
{
    long i;
    return id && acre_strset_get(&x->idx, id, strlen(id), &i) ? (int)i : -1;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* s as an exact rational: -?D+(.D+)? or p/q. Returns 0, or -1 (x->oom set when memory ran
 * out, so that a failed allocation is never reported as a forged number). */
int acre_audit_num(as *x, acre_dec *d, const char *s)
{
    const char *p = s && *s == '-' ? s + 1 : s;
    size_t n, frac = 0;
    char *digits;
    int dot = 0, rc;
    if (!p || !*p)
        return -1;
    if (strchr(p, '/'))
        return mpq_set_str(d->q, s, 10) || mpz_sgn(mpq_denref(d->q)) == 0
                   ? -1
                   : (mpq_canonicalize(d->q), 0);
    n = strlen(s);
    if (!(digits = acre_malloc(n + 1))) {
        x->oom = 1;
        return -1;
    }
    n = 0;
    if (*s == '-')
        digits[n++] = '-';
    for (; *p; p++) {
        if (*p == '.' && !dot && p[1] && n > (*s == '-')) {
            dot = 1;
        } else if (*p >= '0' && *p <= '9') {
            digits[n++] = *p;
            frac += (size_t)dot;
        } else {
            free(digits);
            return -1;
        }
    }
    digits[n] = '\0';
    rc = mpz_set_str(mpq_numref(d->q), digits, 10);
    free(digits);
    if (rc)
        return -1;
    mpz_ui_pow_ui(mpq_denref(d->q), 10, frac);
    mpq_canonicalize(d->q);
    return 0;
}

/* The canonical text of d (a new string), or NULL with x->oom set. */
char *acre_audit_canon(as *x, const acre_dec *d)
{
    char *s = acre_dec_format(d);
    if (!s)
        x->oom = 1;
    return s;
}

/* Whether stored text s is exactly the canonical text of d. */
int acre_audit_same(as *x, const char *s, const acre_dec *d)
{
    char *c = acre_audit_canon(x, d);
    int ok = c && s && strcmp(c, s) == 0;
    free(c);
    return ok;
}

static affst *aff_get(as *x, const char *id)
{
    long i;
    affst *n;
    if (acre_strset_get(&x->idx, id, strlen(id), &i))
        return &x->a[i];
    if (!(n = acre_realloc(x->a, (size_t)(x->na + 1) * sizeof *n))) {
        x->oom = 1;
        return NULL;
    }
    x->a = n;
    n += x->na;
    memset(n, 0, sizeof *n);
    acre_dec_init(&n->cf);
    if (!(n->id = acre_strdup(id)) || acre_strset_put(&x->idx, id, strlen(id), x->na)) {
        free(n->id);
        acre_dec_clear(&n->cf);
        x->oom = 1;
        return NULL;
    }
    return &x->a[x->na++];
}

static int set_str(as *x, char **dst, const char *s)
{
    free(*dst);
    *dst = NULL;
    if (s && !(*dst = acre_strdup(s)))
        x->oom = 1;
    return x->oom;
}

/* A line of the line kind that documents settlements of `role`. */
static void note_line(as *x, int period, int role, const char *aff, const json_t *line)
{
    char key[2100]; /* a line kind's name, a separator and an ID of up to 2,000 bytes */
    const char *cust = str(line, "customer_id");
    cline *n;
    int len;
    if (!cust)
        return;
    len = snprintf(key, sizeof key, "%s\x1f%s", x->role[role], cust);
    if (len < 0 || (size_t)len >= sizeof key)
        return;
    if (!(n = acre_realloc(x->cl, (size_t)(x->ncl + 1) * sizeof *n))) {
        x->oom = 1;
        return;
    }
    x->cl = n;
    n += x->ncl;
    memset(n, 0, sizeof *n);
    n->period = period;
    n->role = role;
    if (set_str(x, &n->aff, aff) || set_str(x, &n->cust, cust) ||
        set_str(x, &n->plan, str(line, "plan")) || set_str(x, &n->amount, str(line, "amount")) ||
        set_str(x, &n->qat, str(json_object_get(line, "detail"), "qualified_at")) ||
        acre_strset_put(&x->clidx, key, (size_t)len, x->ncl)) {
        /* not counted in ncl, so as_free would not see what was set */
        free(n->aff);
        free(n->cust);
        free(n->plan);
        free(n->amount);
        free(n->qat);
        x->oom = 1;
        return;
    }
    x->ncl++;
}

/* One listed affiliate of the ledger of `period`. */
static void affiliate(as *x, const char *per, int period, const char *prev, const json_t *o)
{
    const char *id = str(o, "affiliate_id"), *mode_name;
    const json_t *r = json_object_get(o, "rounding"), *lines = json_object_get(o, "lines"), *l;
    acre_round mode;
    acre_dec earned, v, min;
    affst *a;
    size_t i;
    int scale, ok = 1, known;
    char *bf;

    if (!id || !(a = aff_get(x, id)))
        return;
    a->seen = 1;
    if (set_str(x, &a->plan, str(o, "plan")))
        return;
    scale = (int)json_integer_value(json_object_get(r, "scale"));
    mode_name = str(r, "mode");
    if (!mode_name || acre_round_parse(&mode, mode_name) || scale < 0 || scale > 30)
        return;             /* verify's arithmetic names it */
    known = a->has_cf >= 0; /* -1: the previous ledger's numbers could not be read */
    if (a->has_cf != 1)
        acre_dec_set_si(&a->cf, 0);
    if (!(bf = acre_dec_format_fixed(&a->cf, scale, mode))) {
        x->oom = 1;
        return;
    }
    if (known && (!str(o, "brought_forward") || strcmp(str(o, "brought_forward"), bf) != 0)) {
        char *exact = acre_audit_canon(x, &a->cf);
        acre_audit_bad(
            x, per,
            "affiliate %s: brought_forward is %s; the carried_forward %s left by %s gives %s", id,
            str(o, "brought_forward") ? str(o, "brought_forward") : "none", exact ? exact : "?",
            prev ? prev : "no earlier close", bf);
        free(exact);
    }
    free(bf);
    acre_dec_init(&earned);
    acre_dec_init(&v);
    acre_dec_init(&min);
    if (json_array_size(lines) > x->cvl) {
        acre_vline *n = acre_realloc(x->vl, json_array_size(lines) * sizeof *n);
        if (!n) {
            x->oom = 1;
        } else {
            x->vl = n;
            x->cvl = json_array_size(lines);
        }
    }
    json_array_foreach(lines, i, l)
    {
        int k = acre_line_kind_find(str(l, "kind"));
        if (i < x->cvl)
            x->vl[i] = (acre_vline){l, k, (int)i + 1};
        if (acre_audit_num(x, &v, str(l, "amount"))) {
            ok = 0;
            continue;
        }
        acre_dec_add(&earned, &earned, &v);
        for (int r = 0; k >= 0 && r < R_N; r++)
            if (acre_line_kind_at(k)->flags & role_flag[r])
                note_line(x, period, r, id, l);
    }
    /* each rule kind's replay of its state (carryover's layers) */
    for (int k = 0; !x->oom && acre_rule_kinds[k]; k++)
        if (acre_rule_kinds[k]->audit_lines)
            acre_rule_kinds[k]->audit_lines(x, &x->kstate[k], per, period, (int)(a - x->a), id,
                                            x->vl, json_array_size(lines));
    /* totals (SPEC 5.5), exactly: what the close stores as carried_forward */
    acre_dec_add(&earned, &earned, &a->cf);
    if (acre_audit_num(x, &min, str(o, "min_payout")))
        ok = 0;
    if (acre_dec_sgn(&earned) > 0 && acre_dec_cmp(&earned, &min) >= 0)
        acre_dec_set_si(&earned, 0);
    acre_dec_set(&a->cf, &earned);
    a->has_cf = ok ? 1 : -1; /* -1: unknown, not compared */
    acre_dec_clear(&earned);
    acre_dec_clear(&v);
    acre_dec_clear(&min);
}

/* A text column, or NULL. */
static const char *col_text(const acre_value *row, int k)
{
    return row[k].type == ACRE_VAL_TEXT ? row[k].s : NULL;
}

#define COL(k) col_text(row, (k))
#define INT(k) (row[(k)].i)
#define ISNULL(k) (row[(k)].type == ACRE_VAL_NULL)

static const acre_query q_balances = {ACRE_Q_SELECT,
                                      "close_affiliate",
                                      {"affiliate_id", "plan", "carried_forward", NULL},
                                      {{"period", ACRE_EQ}},
                                      {"affiliate_id", NULL},
                                      0,
                                      0};
static const acre_query q_settled = {ACRE_Q_SELECT,
                                     "settled",
                                     {"customer_id", "period", "affiliate_id", "plan", "outcome",
                                      "amount", "qualified_at", "qsec", "clawed_period", NULL},
                                     {{NULL, 0}},
                                     {"customer_id", NULL},
                                     0,
                                     0};

/* The close_affiliate rows of `period` against the derived state. */
static int compare_rows(as *x, acre_store *s, const char *per, int period, acre_error *err)
{
    acre_value p = acre_val_int(period);
    acre_rows rows;
    int rc;
    if ((rc = acre_store_rows(s, &q_balances, &p, &rows, "reading close_affiliate", err)))
        return rc;
    for (long r = 0; r < rows.n; r++) {
        const acre_value *row = acre_row(&rows, r);
        long i;
        affst *a;
        if (!COL(0) || !acre_strset_get(&x->idx, COL(0), strlen(COL(0)), &i) || !x->a[i].seen) {
            acre_audit_bad(x, per,
                           "close_affiliate has a row for affiliate %s, which the ledger does not "
                           "list",
                           COL(0) ? COL(0) : "null");
            continue;
        }
        a = &x->a[i];
        a->row = 1;
        if ((a->plan == NULL) != (COL(1) == NULL) || (a->plan && strcmp(a->plan, COL(1)) != 0))
            acre_audit_bad(x, per, "close_affiliate %s: plan is %s; the ledger gives %s", a->id,
                           COL(1) ? COL(1) : "null", a->plan ? a->plan : "null");
        if (a->has_cf == 1 && !acre_audit_same(x, COL(2), &a->cf)) {
            char *want = acre_audit_canon(x, &a->cf);
            acre_audit_bad(x, per, "close_affiliate %s: carried_forward is %s; the ledgers give %s",
                           a->id, COL(2) ? COL(2) : "null", want ? want : "?");
            free(want);
        }
    }
    acre_rows_free(&rows);
    for (int i = 0; i < x->na; i++)
        if (x->a[i].seen && !x->a[i].row)
            acre_audit_bad(x, per,
                           "close_affiliate has no row for affiliate %s, which the ledger lists",
                           x->a[i].id);

    return 0;
}

static int closed(const as *x, int p)
{
    for (int i = 0; i < x->nclosed; i++)
        if (x->closed[i] == p)
            return 1;
    return 0;
}

/* The line documenting `role` for customer cust, or NULL. */
static cline *find_line(as *x, int role, const char *cust)
{
    char key[2100]; /* a line kind's name, a separator and an ID of up to 2,000 bytes */
    long i;
    int n = x->role[role] ? snprintf(key, sizeof key, "%s\x1f%s", x->role[role], cust) : -1;
    if (n < 0 || (size_t)n >= sizeof key || !acre_strset_get(&x->clidx, key, (size_t)n, &i))
        return NULL;
    return &x->cl[i];
}

/* Every settled row against the lines that document settlements (a paid CPA: cpa's), and every
 * such line against its row. */
static int settled(as *x, acre_store *s, acre_error *err)
{
    const char *pay = x->role[R_PAID] ? x->role[R_PAID] : "?",
               *over = x->role[R_OVER_CAP] ? x->role[R_OVER_CAP] : "?";
    acre_rows rows;
    acre_dec v;
    int rc;
    if ((rc = acre_store_rows(s, &q_settled, NULL, &rows, "reading settled", err)))
        return rc;
    acre_dec_init(&v);
    for (long r = 0; r < rows.n; r++) {
        const acre_value *row = acre_row(&rows, r);
        const char *c, *outcome;
        char per[8];
        int p = (int)INT(1), paid;
        cline *cpa, *cap, *claw;
        c = COL(0) ? COL(0) : "";
        outcome = COL(4) ? COL(4) : "";
        acre_period_text(per, p);
        if (!closed(x, p)) {
            acre_audit_bad(x, per, "settled %s: its period %s is not closed", c, per);
            continue;
        }
        cpa = find_line(x, R_PAID, c);
        cap = find_line(x, R_OVER_CAP, c);
        claw = find_line(x, R_CLAWBACK, c);
        paid = strcmp(outcome, "paid") == 0;
        if (cpa && cpa->period != p)
            cpa = NULL;
        if (cap && cap->period != p)
            cap = NULL;
        if (paid) {
            int64_t sec = 0;
            int32_t ns;
            char at[ACRE_DATETIME_LEN + 1];
            const char *why;
            if (!cpa) {
                acre_audit_bad(x, per,
                               "settled %s: outcome is paid; the ledger has no %s line for it", c,
                               pay);
            } else {
                cpa->matched = 1;
                if (strcmp(cpa->aff, COL(2) ? COL(2) : "") || !cpa->plan ||
                    strcmp(cpa->plan, COL(3) ? COL(3) : ""))
                    acre_audit_bad(x, per,
                                   "settled %s: affiliate and plan are %s %s; the ledger's %s line "
                                   "gives %s %s",
                                   c, COL(2) ? COL(2) : "null", COL(3) ? COL(3) : "null", pay,
                                   cpa->aff, cpa->plan ? cpa->plan : "null");
                if (acre_audit_num(x, &v, cpa->amount) || !acre_audit_same(x, COL(5), &v))
                    acre_audit_bad(
                        x, per, "settled %s: amount is %s; the ledger's %s line gives %s", c,
                        COL(5) ? COL(5) : "null", pay, cpa->amount ? cpa->amount : "none");
                if (!cpa->qat || !COL(6) || strcmp(cpa->qat, COL(6)) != 0)
                    acre_audit_bad(x, per,
                                   "settled %s: qualified_at is %s; the ledger's %s line gives %s",
                                   c, COL(6) ? COL(6) : "null", pay, cpa->qat ? cpa->qat : "none");
                else if (acre_datetime_canon(at, COL(6), strlen(COL(6)), &why) ||
                         acre_datetime_split(at, &sec, &ns) || sec != INT(7))
                    acre_audit_bad(x, per, "settled %s: qsec is %lld; qualified_at %s gives %lld",
                                   c, (long long)INT(7), COL(6), (long long)sec);
            }
            if (cap)
                acre_audit_bad(x, per,
                               "settled %s: outcome is paid; the ledger has a %s line "
                               "for it",
                               c, over);
        } else if (strcmp(outcome, "over_cap") == 0) {
            if (!cap)
                acre_audit_bad(x, per,
                               "settled %s: outcome is over_cap; the ledger has no %s "
                               "line for it",
                               c, over);
            else
                cap->matched = 1;
            if (cpa)
                acre_audit_bad(x, per,
                               "settled %s: outcome is over_cap; the ledger has a %s line for it",
                               c, pay);
        } else if (strcmp(outcome, "qualified") == 0) {
            if (cpa || cap)
                acre_audit_bad(x, per,
                               "settled %s: outcome is qualified; the ledger has a %s line for it",
                               c, cpa ? pay : over);
        } else {
            acre_audit_bad(x, per, "settled %s: outcome is \"%s\", not paid, over_cap or qualified",
                           c, outcome);
        }
        /* a later close reads only whether clawed_period is set (and each one sets it again) */
        if (claw && claw->period > p && paid) {
            claw->matched = 1;
            if (ISNULL(8)) {
                char cp[8];
                acre_period_text(cp, claw->period);
                acre_audit_bad(x, per,
                               "settled %s: clawed_period is null; the ledger of %s claws it back",
                               c, cp);
            }
        } else if (!ISNULL(8)) {
            acre_audit_bad(
                x, per, "settled %s: clawed_period is set; no ledger claws back its paid CPA", c);
        }
    }
    acre_dec_clear(&v);
    acre_rows_free(&rows);
    for (int i = 0; i < x->ncl; i++) {
        cline *l = &x->cl[i];
        if (!l->matched) {
            char per[8];
            acre_period_text(per, l->period);
            acre_audit_bad(x, per,
                           "affiliate %s: the %s line of customer %s (plan %s, amount %s) has "
                           "no matching settled row",
                           l->aff, x->role[l->role], l->cust, l->plan ? l->plan : "null",
                           l->amount ? l->amount : "none");
        }
    }
    return 0;
}

typedef struct periods {
    const as *x;
    const char *table;
    int last;    /* the period counted, or -1 */
    long long n; /* its rows */
} periods;

static void report_orphans(as *x, periods *p)
{
    char per[8];
    if (p->last < 0 || closed(x, p->last))
        return;
    acre_period_text(per, p->last);
    acre_audit_bad(x, per, "%s has %lld row%s for %s, which is not closed", p->table, p->n,
                   p->n == 1 ? "" : "s", per);
}

static int count_period(void *ctx, const acre_value *row, int n, acre_error *err)
{
    periods *p = ctx;
    (void)n;
    (void)err;
    if (row[0].i != p->last) {
        report_orphans((as *)p->x, p);
        p->last = (int)row[0].i;
        p->n = 0;
    }
    p->n++;
    return 0;
}

/* State rows of periods that are not closed, in every close's state table of
 * acre_store_tables() (the rule kinds' too) but settled, whose rows settled() checks one by
 * one; and close.seq going back. */
static int orphans(as *x, acre_store *s, acre_error *err)
{
    static const acre_query q_closes = {
        ACRE_Q_SELECT, "close", {"period_text", "seq", NULL}, {{NULL, 0}}, {"period", NULL}, 0, 0};
    acre_rows rows;
    long long max = -1, top;
    int rc;
    for (const acre_table *const *t = acre_store_tables(); *t; t++) {
        const char *col = (*t)->close_period;
        acre_query q = {ACRE_Q_SELECT, (*t)->name, {col, NULL}, {{NULL, 0}}, {col, NULL}, 0, 0};
        periods p = {x, (*t)->name, -1, 0};
        if (!col || strcmp((*t)->name, "settled") == 0)
            continue;
        if ((rc =
                 acre_store_query(s, &q, NULL, count_period, &p, "reading the closes' state", err)))
            return rc;
        report_orphans(x, &p);
    }
    if ((rc = acre_store_seq(s, &top, err)) ||
        (rc = acre_store_rows(s, &q_closes, NULL, &rows, "reading closes", err)))
        return rc;
    for (long r = 0; r < rows.n; r++) {
        const acre_value *row = acre_row(&rows, r);
        long long seq = INT(1);
        if (max >= 0 && seq < max)
            acre_audit_bad(x, COL(0), "close.seq is %lld, below the %lld of an earlier close", seq,
                           max);
        if (seq < 0 || seq > top)
            acre_audit_bad(x, COL(0), "close.seq is %lld, outside 0..%lld (the store's seq)", seq,
                           top);
        if (seq > max)
            max = seq;
    }
    acre_rows_free(&rows);
    return 0;
}

static void as_free(as *x)
{
    for (int i = 0; i < x->na; i++) {
        affst *a = &x->a[i];
        free(a->id);
        free(a->plan);
        acre_dec_clear(&a->cf);
    }
    for (int i = 0; i < x->ncl; i++) {
        free(x->cl[i].aff);
        free(x->cl[i].cust);
        free(x->cl[i].plan);
        free(x->cl[i].amount);
        free(x->cl[i].qat);
    }
    for (int k = 0; acre_rule_kinds[k]; k++)
        if (x->kstate[k] && acre_rule_kinds[k]->audit_free)
            acre_rule_kinds[k]->audit_free(x->kstate[k]);
    free(x->a);
    free(x->cl);
    free(x->closed);
    free(x->vl);
    acre_strset_free(&x->idx);
    acre_strset_free(&x->clidx);
}

typedef struct ledgers {
    as *x;
    acre_store *s;
    char prev[8];
} ledgers;

/* One closed ledger: the state it leaves, derived, against the rows of its period. */
static int one_ledger(void *ctx, const acre_value *row, int ncol, acre_error *err)
{
    ledgers *l = ctx;
    as *x = l->x;
    int period = (int)INT(0), rc;
    (void)ncol;
    const char *per, *doc;
    json_error_t je;
    json_t *root;
    json_t *affs, *o;
    size_t i;
    int *n;
    per = COL(1) ? COL(1) : "?";
    doc = COL(2) ? COL(2) : "";
    if (!(n = acre_realloc(x->closed, (size_t)(x->nclosed + 1) * sizeof *n))) {
        x->oom = 1;
        return 1;
    }
    x->closed = n;
    n[x->nclosed++] = period;
    /* a document that is not JSON is named by the first half; its state is not derived */
    if (!(root = acre_json_loadb(doc, strlen(doc), 0, &je))) {
        if (json_error_code(&je) == json_error_out_of_memory) {
            x->oom = 1;
            return 1;
        }
        snprintf(l->prev, sizeof l->prev, "%s", per);
        return 0;
    }
    for (int k = 0; k < x->na; k++)
        x->a[k].seen = x->a[k].row = 0;
    affs = json_object_get(root, "affiliates");
    json_array_foreach(affs, i, o) affiliate(x, per, period, l->prev[0] ? l->prev : NULL, o);
    json_decref(root);
    for (int k = 0; k < x->na; k++) {
        affst *a = &x->a[k];
        if (a->seen)
            continue;
        if (a->has_cf == 1 && acre_dec_sgn(&a->cf)) {
            char *cf = acre_audit_canon(x, &a->cf);
            acre_audit_bad(x, per,
                           "affiliate %s carried forward %s from %s but is not in the ledger",
                           a->id, cf ? cf : "?", l->prev);
            free(cf);
        }
        a->has_cf = 0;
        set_str(x, &a->plan, NULL);
    }
    if (x->oom)
        return 1;
    if ((rc = compare_rows(x, l->s, per, period, err)))
        return rc;
    for (int k = 0; acre_rule_kinds[k]; k++) /* each kind's rows (carryover's close_layer) */
        if (acre_rule_kinds[k]->audit_rows &&
            (rc = acre_rule_kinds[k]->audit_rows(x, &x->kstate[k], l->s, per, period, err)))
            return rc;
    snprintf(l->prev, sizeof l->prev, "%s", per);
    return 0;
}

int acre_audit_state(acre_store *s, FILE *out, int *nbad, acre_error *err)
{
    static const acre_query q_ledgers = {ACRE_Q_SELECT,
                                         "close",
                                         {"period", "period_text", "ledger", NULL},
                                         {{NULL, 0}},
                                         {"period", NULL},
                                         0,
                                         0};
    as x;
    ledgers l;
    int rc;
    memset(&x, 0, sizeof x);
    x.out = out;
    x.nbad = nbad;
    for (int k = 0; k < acre_line_kind_count(); k++)
        for (int r = 0; r < R_N; r++)
            if (acre_line_kind_at(k)->flags & role_flag[r])
                x.role[r] = acre_line_kind_at(k)->name;
    l.x = &x;
    l.s = s;
    l.prev[0] = '\0';
    rc = acre_store_query(s, &q_ledgers, NULL, one_ledger, &l, "reading closed ledgers", err);
    if (x.oom && rc == ACRE_ENOMEM)
        rc = 0; /* said below */
    if (!x.oom && !rc)
        rc = settled(&x, s, err);
    if (!x.oom && !rc)
        rc = orphans(&x, s, err);
    if (x.oom && !rc)
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory: the audit stopped");
    as_free(&x);
    return rc;
}
