/* engine/audit_state.c — the audit's second half: what the next close starts from (SPEC 10).
 *
 * A close reads back rows that earlier closes stored beside their ledgers (engine/close_load.c).
 * Each row that the ledger documents determine is derived here from the ledgers alone,
 * in period order, and compared with the stored one:
 *   - close_affiliate: one row per affiliate the ledger lists, its plan, and carried_forward
 *     exactly (the ledger shows it rounded): 0 when the ledger paid, else Σ line amounts + the
 *     previous close's exact carried_forward. Each ledger's brought_forward must be that
 *     previous value rounded to the affiliate's scale.
 *   - close_layer: the carryover layers, replayed from each ledger's carryover_expired lines
 *     (the oldest layers go) and revshare lines in mode carry (a negative basis adds a layer, a
 *     positive one absorbs the oldest first); each layer's origin, amount and plan.
 *   - settled: every paid CPA is a cpa line of its period with the same affiliate, plan, amount
 *     and qualified_at (qsec its seconds), over_cap a cpa_over_cap line, and clawed_period is
 *     set exactly for the customers with a cpa_clawback line; and every such line has its row.
 *   - no state row of a period that is not closed, and close.seq never goes back.
 * What the ledgers do not determine (close_excluded, counted, settled.clawback_days, close.seq's
 * value) only `audit --recompute` checks (engine/audit_recompute.c, docs/RELIABILITY.md). */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"
#include "alloc.h"
#include "audit_int.h"
#include "close.h"
#include "datetime.h"
#include "jsonval.h"
#include "store_int.h"
#include "strset.h"

typedef struct layer {
    int origin;
    acre_dec amount;
} layer;

/* One affiliate as the ledgers so far leave it. */
typedef struct affst {
    char *id;
    int has_cf;  /* a close_affiliate row is expected at the last period */
    acre_dec cf; /* its exact carried_forward */
    layer *l;    /* carryover layers, oldest first */
    int nl;
    char *label;         /* the plan the layers are held under */
    int seen, row, lpos; /* in this ledger; its close_affiliate row found; layers matched */
    char *plan;          /* this ledger's plan, or NULL */
} affst;

/* A cpa, cpa_over_cap or cpa_clawback line. */
typedef struct cline {
    const char *kind; /* static */
    int period;
    char *aff, *cust, *plan, *amount, *qat;
    int matched;
} cline;

typedef struct as {
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
} as;

static void prob(as *x, const char *period, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void prob(as *x, const char *period, const char *fmt, ...)
{
    va_list ap;
    fprintf(x->out, "%s\tFAIL\t", period);
    va_start(ap, fmt);
    vfprintf(x->out, fmt, ap);
    va_end(ap);
    fputc('\n', x->out);
    (*x->nbad)++;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* s as an exact rational: -?D+(.D+)? or p/q. Returns 0, or -1 (x->oom set when memory ran
 * out, so that a failed allocation is never reported as a forged number). */
static int q_parse(as *x, acre_dec *d, const char *s)
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
static char *canon(as *x, const acre_dec *d)
{
    char *s = acre_dec_format(d);
    if (!s)
        x->oom = 1;
    return s;
}

/* Whether stored text s is exactly the canonical text of d. */
static int same_text(as *x, const char *s, const acre_dec *d)
{
    char *c = canon(x, d);
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

static void drop_layers(affst *a, int n)
{
    if (n <= 0)
        return; /* no layers: a->l may be NULL, which memmove may not take */
    for (int i = 0; i < n; i++)
        acre_dec_clear(&a->l[i].amount);
    memmove(a->l, a->l + n, (size_t)(a->nl - n) * sizeof *a->l);
    a->nl -= n;
}

static int set_str(as *x, char **dst, const char *s)
{
    free(*dst);
    *dst = NULL;
    if (s && !(*dst = acre_strdup(s)))
        x->oom = 1;
    return x->oom;
}

/* A carryover_expired line: its layers are the oldest the previous close left. */
static void expired(as *x, const char *per, affst *a, const json_t *line)
{
    const json_t *ls = json_object_get(json_object_get(line, "detail"), "layers"), *e;
    size_t i, n = json_array_size(ls);
    acre_dec v;
    acre_dec_init(&v);
    if (n > (size_t)a->nl) {
        prob(x, per,
             "affiliate %s: carryover_expired expires %zu layers; the ledgers before it "
             "leave %d",
             a->id, n, a->nl);
        n = (size_t)a->nl;
    }
    json_array_foreach(ls, i, e)
    {
        char lp[8];
        if (i >= n)
            break;
        acre_period_text(lp, a->l[i].origin);
        if (!str(e, "period") || strcmp(str(e, "period"), lp) != 0 ||
            q_parse(x, &v, str(e, "amount")) || acre_dec_cmp(&v, &a->l[i].amount) != 0) {
            char *want = canon(x, &a->l[i].amount);
            prob(x, per,
                 "affiliate %s: carryover_expired layer %zu is %s %s; the ledgers before it "
                 "leave %s %s",
                 a->id, i + 1, str(e, "period") ? str(e, "period") : "?",
                 str(e, "amount") ? str(e, "amount") : "?", lp, want ? want : "?");
            free(want);
        }
    }
    drop_layers(a, (int)n);
    acre_dec_clear(&v);
}

/* A revshare line in mode carry: its basis adds a layer or absorbs the oldest ones. */
static void carry(as *x, const char *per, int period, affst *a, const json_t *line)
{
    const json_t *d = json_object_get(line, "detail");
    acre_dec basis, sum, out;
    if (!str(d, "carryover") || strcmp(str(d, "carryover"), "carry") != 0)
        return;
    acre_dec_init(&basis);
    acre_dec_init(&sum);
    acre_dec_init(&out);
    for (int i = 0; i < a->nl; i++)
        acre_dec_add(&sum, &sum, &a->l[i].amount);
    if (q_parse(x, &basis, str(d, "basis")) || q_parse(x, &out, str(d, "carried_in")) ||
        acre_dec_cmp(&out, &sum) != 0) {
        char *want = canon(x, &sum);
        prob(x, per,
             "affiliate %s: revshare carried_in is %s; the layers the ledgers before it leave "
             "sum to %s",
             a->id, str(d, "carried_in") ? str(d, "carried_in") : "?", want ? want : "?");
        free(want);
    }
    if (acre_dec_sgn(&basis) < 0) {
        layer *n = acre_realloc(a->l, (size_t)(a->nl + 1) * sizeof *n);
        if (!n) {
            x->oom = 1;
        } else {
            a->l = n;
            n[a->nl].origin = period;
            acre_dec_init(&n[a->nl].amount);
            acre_dec_set(&n[a->nl].amount, &basis);
            a->nl++;
        }
    } else if (acre_dec_sgn(&basis) > 0) {
        int used = 0;
        while (used < a->nl && acre_dec_sgn(&basis) > 0) {
            acre_dec_add(&a->l[used].amount, &a->l[used].amount, &basis);
            if (acre_dec_sgn(&a->l[used].amount) >= 0) {
                acre_dec_set(&basis, &a->l[used].amount);
                used++;
            } else {
                acre_dec_set_si(&basis, 0);
            }
        }
        drop_layers(a, used);
    }
    set_str(x, &a->label, str(line, "plan"));
    acre_dec_clear(&basis);
    acre_dec_clear(&sum);
    acre_dec_clear(&out);
}

static void note_line(as *x, int period, const char *kind, const char *aff, const json_t *line)
{
    char key[600];
    const char *cust = str(line, "customer_id");
    cline *n;
    int len;
    if (!cust)
        return;
    len = snprintf(key, sizeof key, "%s\x1f%s", kind, cust);
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
    n->kind = !strcmp(kind, "cpa")            ? "cpa"
              : !strcmp(kind, "cpa_over_cap") ? "cpa_over_cap"
                                              : "cpa_clawback";
    if (set_str(x, &n->aff, aff) || set_str(x, &n->cust, cust) ||
        set_str(x, &n->plan, str(line, "plan")) || set_str(x, &n->amount, str(line, "amount")) ||
        set_str(x, &n->qat, str(json_object_get(line, "detail"), "qualified_at")) ||
        acre_strset_put(&x->clidx, key, (size_t)len, x->ncl)) {
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
        char *exact = canon(x, &a->cf);
        prob(x, per,
             "affiliate %s: brought_forward is %s; the carried_forward %s left by %s gives %s", id,
             str(o, "brought_forward") ? str(o, "brought_forward") : "none", exact ? exact : "?",
             prev ? prev : "no earlier close", bf);
        free(exact);
    }
    free(bf);
    acre_dec_init(&earned);
    acre_dec_init(&v);
    acre_dec_init(&min);
    json_array_foreach(lines, i, l)
    {
        const char *kind = str(l, "kind");
        if (q_parse(x, &v, str(l, "amount"))) {
            ok = 0;
            continue;
        }
        acre_dec_add(&earned, &earned, &v);
        if (kind && strcmp(kind, "carryover_expired") == 0)
            expired(x, per, a, l);
        else if (kind && (!strcmp(kind, "cpa") || !strcmp(kind, "cpa_over_cap") ||
                          !strcmp(kind, "cpa_clawback")))
            note_line(x, period, kind, id, l);
    }
    json_array_foreach(lines, i, l) /* the revshare rule runs after carryover's expiry */
        if (str(l, "kind") && strcmp(str(l, "kind"), "revshare") == 0) carry(x, per, period, a, l);
    /* totals (SPEC 5.5), exactly: what the close stores as carried_forward */
    acre_dec_add(&earned, &earned, &a->cf);
    if (q_parse(x, &min, str(o, "min_payout")))
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

/* The close_affiliate and close_layer rows of `period` against the derived state. */
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
            prob(x, per,
                 "close_affiliate has a row for affiliate %s, which the ledger does not "
                 "list",
                 COL(0) ? COL(0) : "null");
            continue;
        }
        a = &x->a[i];
        a->row = 1;
        if ((a->plan == NULL) != (COL(1) == NULL) || (a->plan && strcmp(a->plan, COL(1)) != 0))
            prob(x, per, "close_affiliate %s: plan is %s; the ledger gives %s", a->id,
                 COL(1) ? COL(1) : "null", a->plan ? a->plan : "null");
        if (a->has_cf == 1 && !same_text(x, COL(2), &a->cf)) {
            char *want = canon(x, &a->cf);
            prob(x, per, "close_affiliate %s: carried_forward is %s; the ledgers give %s", a->id,
                 COL(2) ? COL(2) : "null", want ? want : "?");
            free(want);
        }
    }
    acre_rows_free(&rows);
    for (int i = 0; i < x->na; i++)
        if (x->a[i].seen && !x->a[i].row)
            prob(x, per, "close_affiliate has no row for affiliate %s, which the ledger lists",
                 x->a[i].id);

    if ((rc = acre_store_rows(s, &acre_q_period_layers, &p, &rows, "reading close_layer", err)))
        return rc;
    for (long r = 0; r < rows.n; r++) {
        const acre_value *row = acre_row(&rows, r);
        long i;
        affst *a;
        layer *l;
        char lp[8];
        acre_period_text(lp, (int)INT(3));
        if (!COL(0) || !acre_strset_get(&x->idx, COL(0), strlen(COL(0)), &i) ||
            x->a[i].lpos >= x->a[i].nl) {
            prob(x, per,
                 "close_layer has a layer of %s for affiliate %s (amount %s) that the "
                 "ledgers do not leave",
                 lp, COL(0) ? COL(0) : "null", COL(4) ? COL(4) : "null");
            continue;
        }
        a = &x->a[i];
        l = &a->l[a->lpos++];
        if (l->origin != INT(3) || !same_text(x, COL(4), &l->amount)) {
            char want[8], *amount = canon(x, &l->amount);
            acre_period_text(want, l->origin);
            prob(x, per, "close_layer %s: layer %d is %s amount %s; the ledgers give %s amount %s",
                 a->id, a->lpos, lp, COL(4) ? COL(4) : "null", want, amount ? amount : "?");
            free(amount);
        }
        if (a->label) {
            const char *at = strrchr(a->label, '@');
            size_t idlen = at ? (size_t)(at - a->label) : strlen(a->label);
            if (!COL(2) || strcmp(COL(2), a->label) != 0 || !COL(1) || strlen(COL(1)) != idlen ||
                strncmp(COL(1), a->label, idlen) != 0)
                prob(x, per, "close_layer %s: plan is %s (%s); the ledgers give %s", a->id,
                     COL(2) ? COL(2) : "null", COL(1) ? COL(1) : "null", a->label);
        }
    }
    acre_rows_free(&rows);
    for (int i = 0; i < x->na; i++)
        if (x->a[i].lpos < x->a[i].nl) {
            char *amount = canon(x, &x->a[i].l[x->a[i].lpos].amount);
            prob(x, per,
                 "close_layer has %d layer%s of affiliate %s fewer than the ledgers leave "
                 "(the first missing: amount %s)",
                 x->a[i].nl - x->a[i].lpos, x->a[i].nl - x->a[i].lpos == 1 ? "" : "s", x->a[i].id,
                 amount ? amount : "?");
            free(amount);
        }
    return 0;
}

static int closed(const as *x, int p)
{
    for (int i = 0; i < x->nclosed; i++)
        if (x->closed[i] == p)
            return 1;
    return 0;
}

static cline *find_line(as *x, const char *kind, const char *cust)
{
    char key[600];
    long i;
    int n = snprintf(key, sizeof key, "%s\x1f%s", kind, cust);
    if (n < 0 || (size_t)n >= sizeof key || !acre_strset_get(&x->clidx, key, (size_t)n, &i))
        return NULL;
    return &x->cl[i];
}

/* Every settled row against the CPA lines of the ledgers, and every CPA line against its row. */
static int settled(as *x, acre_store *s, acre_error *err)
{
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
            prob(x, per, "settled %s: its period %s is not closed", c, per);
            continue;
        }
        cpa = find_line(x, "cpa", c);
        cap = find_line(x, "cpa_over_cap", c);
        claw = find_line(x, "cpa_clawback", c);
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
                prob(x, per, "settled %s: outcome is paid; the ledger has no cpa line for it", c);
            } else {
                cpa->matched = 1;
                if (strcmp(cpa->aff, COL(2) ? COL(2) : "") || !cpa->plan ||
                    strcmp(cpa->plan, COL(3) ? COL(3) : ""))
                    prob(x, per,
                         "settled %s: affiliate and plan are %s %s; the ledger's cpa line "
                         "gives %s %s",
                         c, COL(2) ? COL(2) : "null", COL(3) ? COL(3) : "null", cpa->aff,
                         cpa->plan ? cpa->plan : "null");
                if (q_parse(x, &v, cpa->amount) || !same_text(x, COL(5), &v))
                    prob(x, per, "settled %s: amount is %s; the ledger's cpa line gives %s", c,
                         COL(5) ? COL(5) : "null", cpa->amount ? cpa->amount : "none");
                if (!cpa->qat || !COL(6) || strcmp(cpa->qat, COL(6)) != 0)
                    prob(x, per, "settled %s: qualified_at is %s; the ledger's cpa line gives %s",
                         c, COL(6) ? COL(6) : "null", cpa->qat ? cpa->qat : "none");
                else if (acre_datetime_canon(at, COL(6), strlen(COL(6)), &why) ||
                         acre_datetime_split(at, &sec, &ns) || sec != INT(7))
                    prob(x, per, "settled %s: qsec is %lld; qualified_at %s gives %lld", c,
                         (long long)INT(7), COL(6), (long long)sec);
            }
            if (cap)
                prob(x, per,
                     "settled %s: outcome is paid; the ledger has a cpa_over_cap line "
                     "for it",
                     c);
        } else if (strcmp(outcome, "over_cap") == 0) {
            if (!cap)
                prob(x, per,
                     "settled %s: outcome is over_cap; the ledger has no cpa_over_cap "
                     "line for it",
                     c);
            else
                cap->matched = 1;
            if (cpa)
                prob(x, per, "settled %s: outcome is over_cap; the ledger has a cpa line for it",
                     c);
        } else if (strcmp(outcome, "qualified") == 0) {
            if (cpa || cap)
                prob(x, per, "settled %s: outcome is qualified; the ledger has a %s line for it", c,
                     cpa ? "cpa" : "cpa_over_cap");
        } else {
            prob(x, per, "settled %s: outcome is \"%s\", not paid, over_cap or qualified", c,
                 outcome);
        }
        /* a later close reads only whether clawed_period is set (and each one sets it again) */
        if (claw && claw->period > p && paid) {
            claw->matched = 1;
            if (ISNULL(8)) {
                char cp[8];
                acre_period_text(cp, claw->period);
                prob(x, per, "settled %s: clawed_period is null; the ledger of %s claws it back", c,
                     cp);
            }
        } else if (!ISNULL(8)) {
            prob(x, per, "settled %s: clawed_period is set; no ledger claws back its paid CPA", c);
        }
    }
    acre_dec_clear(&v);
    acre_rows_free(&rows);
    for (int i = 0; i < x->ncl; i++) {
        cline *l = &x->cl[i];
        if (!l->matched) {
            char per[8];
            acre_period_text(per, l->period);
            prob(x, per,
                 "affiliate %s: the %s line of customer %s (plan %s, amount %s) has "
                 "no matching settled row",
                 l->aff, l->kind, l->cust, l->plan ? l->plan : "null",
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
    prob(x, per, "%s has %lld row%s for %s, which is not closed", p->table, p->n,
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

/* State rows of periods that are not closed, and close.seq going back. */
static int orphans(as *x, acre_store *s, acre_error *err)
{
    static const char *const tables[] = {"close_affiliate", "close_layer", "close_excluded",
                                         "counted"};
    static const acre_query q_closes = {
        ACRE_Q_SELECT, "close", {"period_text", "seq", NULL}, {{NULL, 0}}, {"period", NULL}, 0, 0};
    acre_rows rows;
    long long max = -1, top;
    int rc;
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
        acre_query q = {
            ACRE_Q_SELECT, tables[t], {"period", NULL}, {{NULL, 0}}, {"period", NULL}, 0, 0};
        periods p = {x, tables[t], -1, 0};
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
            prob(x, COL(0), "close.seq is %lld, below the %lld of an earlier close", seq, max);
        if (seq < 0 || seq > top)
            prob(x, COL(0), "close.seq is %lld, outside 0..%lld (the store's seq)", seq, top);
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
        drop_layers(a, a->nl);
        free(a->l);
        free(a->id);
        free(a->label);
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
    free(x->a);
    free(x->cl);
    free(x->closed);
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
        x->a[k].seen = x->a[k].row = x->a[k].lpos = 0;
    affs = json_object_get(root, "affiliates");
    json_array_foreach(affs, i, o) affiliate(x, per, period, l->prev[0] ? l->prev : NULL, o);
    json_decref(root);
    for (int k = 0; k < x->na; k++) {
        affst *a = &x->a[k];
        if (a->seen)
            continue;
        if (a->has_cf == 1 && acre_dec_sgn(&a->cf)) {
            char *cf = canon(x, &a->cf);
            prob(x, per, "affiliate %s carried forward %s from %s but is not in the ledger", a->id,
                 cf ? cf : "?", l->prev);
            free(cf);
        }
        a->has_cf = 0;
        set_str(x, &a->plan, NULL);
    }
    if (x->oom)
        return 1;
    if ((rc = compare_rows(x, l->s, per, period, err)))
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
