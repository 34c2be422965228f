/* engine/verify.c — `acre verify FILE`: a ledger document checked on its own (SPEC 6).
 *
 * Everything is redone from the document: no store, no plan. Each number a line's detail holds
 * is checked against the others with exact rationals (GMP), the way the rule kinds made it
 * (the files in rules/), and each amount against its exact value rounded once. What the document
 * cannot tell (a plan's CPA amount, an FX rate) is checked for consistency instead: every CPA line
 * of one plan and rule has the same value, a converted amount in the same currency is unchanged.
 * The digest is recomputed from the bytes, so any edit that the arithmetic cannot see (a
 * customer_id, a date, a reordered line) still fails. */
#include <gmp.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"
#include "acre/verify.h"
#include "alloc.h"
#include "jsonval.h"
#include "digest.h"
#include "verify_int.h"

#define MAX_REPORTED 100 /* problems written out; all are counted */

static const char *const kinds[] = {"cpa",      "cpa_over_cap",      "cpa_clawback",
                                    "revshare", "carryover_expired", "sub_affiliate"};
enum { K_CPA, K_OVER_CAP, K_CLAWBACK, K_REVSHARE, K_EXPIRED, K_SUB, K_N };

typedef struct vc {
    FILE *out;
    const char *prefix; /* each problem's: "FILE: " for verify, "PERIOD\tFAIL\t" for audit */
    char where[640]; /* "affiliate aff_1, line 3 (revshare rs25@1)", or "" for the document */
    int nbad;
    int oom; /* an allocation failed: a check may have been skipped, so nothing is concluded */
} vc;

static void bad(vc *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(vc *v, const char *fmt, ...)
{
    va_list ap;
    if (v->nbad++ >= MAX_REPORTED)
        return;
    fprintf(v->out, "%s%s%s", v->prefix, v->where, v->where[0] ? ": " : "");
    va_start(ap, fmt);
    vfprintf(v->out, fmt, ap);
    va_end(ap);
    fputc('\n', v->out);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* s as an exact rational: a decimal -?D+(.D+)? or p/q. Returns 0, or -1 when s is neither. */
static int parse_q(acre_dec *d, const char *s)
{
    const char *p = s + (*s == '-'), *slash = strchr(s, '/');
    size_t n = strlen(s), ndig = 0, frac = 0;
    int dot = 0;
    char buf[128], *digits; /* a ledger's numbers fit buf */
    mpz_t den;

    if (slash) {
        for (const char *c = p; *c; c++)
            if ((*c < '0' || *c > '9') && c != slash)
                return -1;
        if (slash == p || !slash[1] || mpq_set_str(d->q, s, 10) || mpz_sgn(mpq_denref(d->q)) == 0)
            return -1;
        mpq_canonicalize(d->q);
        return 0;
    }
    if (!*p || *p == '.')
        return -1;
    if (!(digits = n < sizeof buf ? buf : acre_malloc(n + 1)))
        return -1;
    if (*s == '-')
        digits[ndig++] = '-';
    for (; *p; p++) {
        if (*p == '.' && !dot && p[1]) {
            dot = 1;
        } else if (*p >= '0' && *p <= '9') {
            digits[ndig++] = *p;
            frac += (size_t)dot;
        } else {
            if (digits != buf)
                free(digits);
            return -1;
        }
    }
    digits[ndig] = '\0';
    mpz_set_str(mpq_numref(d->q), digits, 10);
    if (digits != buf)
        free(digits);
    mpz_init(den);
    mpz_ui_pow_ui(den, 10, frac);
    mpz_set(mpq_denref(d->q), den);
    mpz_clear(den);
    mpq_canonicalize(d->q);
    return 0;
}

/* o[key] (a string) as an exact number in its canonical form; reports and returns -1 when it is
 * missing, not a number, or not written the way acre writes it. */
static int num(vc *v, const json_t *o, const char *key, acre_dec *d)
{
    const char *s = str(o, key);
    char *canon;
    int ok;
    if (!s) {
        bad(v, "%s is missing or not a string", key);
        return -1;
    }
    if (parse_q(d, s)) {
        bad(v, "%s is \"%s\", not an exact number", key, s);
        return -1;
    }
    if (!(canon = acre_dec_format(d))) {
        v->oom = 1;
        return -1;
    }
    ok = strcmp(canon, s) == 0;
    if (!ok)
        bad(v, "%s is \"%s\", not written as acre writes it (\"%s\")", key, s, canon ? canon : "?");
    free(canon);
    return ok ? 0 : -1;
}

/* s, a rate such as "25%" or "12.5%", as a fraction; `key` names it in a report. */
static int rate_text(vc *v, const char *key, const char *s, acre_dec *d)
{
    size_t n = s ? strlen(s) : 0;
    char *t;
    int rc;
    acre_dec hundred;
    if (!s || n < 2 || s[n - 1] != '%') {
        bad(v, "%s is missing or not a rate like \"25%%\"", key);
        return -1;
    }
    if (!(t = acre_strndup(s, n - 1))) {
        v->oom = 1;
        return -1;
    }
    rc = parse_q(d, t);
    free(t);
    if (rc) {
        bad(v, "%s is \"%s\", not a rate like \"25%%\"", key, s);
        return -1;
    }
    acre_dec_init(&hundred);
    acre_dec_set_si(&hundred, 100);
    acre_dec_div(d, d, &hundred);
    acre_dec_clear(&hundred);
    return 0;
}

static int rate(vc *v, const json_t *o, const char *key, acre_dec *d)
{
    return rate_text(v, key, str(o, key), d);
}

/* Reports when got != want: "WHAT is GOT; HOW gives WANT". */
static void same(vc *v, const char *what, const acre_dec *got, const acre_dec *want,
                 const char *how)
{
    char *g, *w;
    if (acre_dec_cmp(got, want) == 0)
        return;
    g = acre_dec_format(got);
    w = acre_dec_format(want);
    if (!g || !w)
        v->oom = 1;
    bad(v, "%s is %s; %s gives %s", what, g ? g : "?", how, w ? w : "?");
    free(g);
    free(w);
}

static int one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

/* {"scale":N,"mode":"..."} */
static int rounding(vc *v, const json_t *o, int *scale, acre_round *mode)
{
    const json_t *r = json_object_get(o, "rounding"), *sc = json_object_get(r, "scale");
    const char *m = str(r, "mode");
    if (!json_is_integer(sc) || json_integer_value(sc) < 0 || json_integer_value(sc) > 30 || !m ||
        acre_round_parse(mode, m)) {
        bad(v, "rounding is missing or not {\"scale\":0..30,\"mode\":\"half_even|half_up|down\"}");
        return -1;
    }
    *scale = (int)json_integer_value(sc);
    return 0;
}

static const char *mode_name(acre_round m)
{
    return m == ACRE_ROUND_HALF_UP ? "half_up" : m == ACRE_ROUND_DOWN ? "down" : "half_even";
}

/* o[key] must be `value` rounded to scale and mode, written with exactly scale decimals. */
static void fixed(vc *v, const json_t *o, const char *key, const acre_dec *value, int scale,
                  acre_round mode, const char *how)
{
    const char *s = str(o, key);
    char *want = acre_dec_format_fixed(value, scale, mode);
    if (!want)
        v->oom = 1;
    if (want && (!s || strcmp(s, want) != 0))
        bad(v, "%s is %s%s%s; %s rounded %s to %d decimals gives %s", key, s ? "\"" : "",
            s ? s : "missing", s ? "\"" : "", how, mode_name(mode), scale, want);
    free(want);
}

/* ---- lines ---- */

/* A revshare line: basis, fees, carryover, bands (rules/revshare.c, rules/carryover.c). */
static void revshare(vc *v, const json_t *d, const acre_dec *exact)
{
    static const char *const basis_kinds[] = {"ngr_computed", "ngr_reported", "net_revenue", NULL};
    static const char *const methods[] = {"rate", "tiers_flat", "tiers_progressive", NULL};
    static const char *const modes[] = {"carry", "none", NULL};
    const char *bk = str(d, "basis_kind"), *method = str(d, "method"), *cm = str(d, "carryover");
    const json_t *custs = json_object_get(d, "customers"), *bands = json_object_get(d, "bands");
    acre_dec ggr, ded, af, tax, fees, B, C, A, out, metric, x, y, sum, sum2, zero;
    acre_dec *all[] = {&ggr, &ded,    &af, &tax, &fees, &B,    &C,   &A,
                       &out, &metric, &x,  &y,   &sum,  &sum2, &zero};
    size_t i, nall = sizeof all / sizeof all[0];
    const json_t *c, *b;
    int computed, ok = 1;

    for (i = 0; i < nall; i++)
        acre_dec_init(all[i]);
    if (!one_of(bk, basis_kinds) || !one_of(method, methods) || !one_of(cm, modes)) {
        bad(v, "detail.basis_kind, method or carryover is missing or unknown");
        goto out;
    }
    if (!json_is_array(custs) || !json_is_array(bands)) {
        bad(v, "detail.customers and detail.bands must be arrays");
        goto out;
    }
    computed = strcmp(bk, "ngr_computed") == 0;
    if (num(v, d, "basis", &B) | num(v, d, "carried_in", &C) | num(v, d, "adjusted", &A) |
        num(v, d, "carried_out", &out) | num(v, d, "metric", &metric))
        goto out;

    /* the basis: the customers' sums, then fees on the affiliate's total GGR */
    json_array_foreach(custs, i, c)
    {
        const char *f1 = computed ? "ggr" : strcmp(bk, "ngr_reported") == 0 ? "ngr" : "net_revenue";
        size_t at = strlen(v->where);
        snprintf(v->where + at, sizeof v->where - at, ", detail.customers[%zu]", i);
        if (num(v, c, f1, &x) || (computed && num(v, c, "deductions", &y))) {
            ok = 0;
        } else {
            acre_dec_add(&sum, &sum, &x);
            if (computed)
                acre_dec_add(&sum2, &sum2, &y);
        }
        v->where[at] = '\0';
    }
    if (computed) {
        if (num(v, d, "ggr", &ggr) | num(v, d, "deductions", &ded) | rate(v, d, "admin_fee", &af) |
            rate(v, d, "tax", &tax) | num(v, d, "fees", &fees))
            goto out;
        if (ok) {
            same(v, "detail.ggr", &ggr, &sum, "the sum of customers[].ggr");
            same(v, "detail.deductions", &ded, &sum2, "the sum of customers[].deductions");
        }
        acre_dec_set_si(&x, 0);
        if (acre_dec_sgn(&ggr) > 0) {
            acre_dec_add(&x, &af, &tax);
            acre_dec_mul(&x, &x, &ggr);
        }
        same(v, "detail.fees", &fees, &x, "(admin_fee + tax) × max(ggr, 0)");
        acre_dec_sub(&x, &ggr, &ded);
        acre_dec_sub(&x, &x, &fees);
        same(v, "detail.basis", &B, &x, "ggr − deductions − fees");
    } else if (ok) {
        same(v, "detail.basis", &B, &sum,
             strcmp(bk, "ngr_reported") == 0 ? "the sum of customers[].ngr"
                                             : "the sum of customers[].net_revenue");
    }

    /* carryover (SPEC 5.3): A = B + C; a deficit is carried only in mode carry */
    if (acre_dec_sgn(&C) > 0 || (strcmp(cm, "none") == 0 && acre_dec_sgn(&C) != 0))
        bad(v, "detail.carried_in must be 0 or below, and 0 in mode none");
    acre_dec_add(&x, &B, &C);
    same(v, "detail.adjusted", &A, &x, "basis + carried_in");
    acre_dec_set_si(&x, 0);
    if (acre_dec_sgn(&A) <= 0 && strcmp(cm, "carry") == 0)
        acre_dec_set(&x, &A);
    same(v, "detail.carried_out", &out, &x, "min(adjusted, 0) in mode carry, else 0,");
    if (strcmp(method, "tiers_flat") != 0)
        same(v, "detail.metric", &metric, &A, "the adjusted basis");

    /* the bands: nothing on A <= 0; a rate or a flat band on the whole of A; progressive
     * slices between consecutive froms */
    acre_dec_set_si(&sum, 0);
    if (acre_dec_sgn(&A) <= 0) {
        if (json_array_size(bands) != 0)
            bad(v, "detail.bands must be empty when the adjusted basis is not above 0");
    } else if (strcmp(method, "tiers_progressive") != 0 && json_array_size(bands) != 1) {
        bad(v, "detail.bands must hold one band for method %s", method);
    } else if (json_array_size(bands) == 0) {
        bad(v, "detail.bands is empty");
    }
    json_array_foreach(bands, i, b)
    {
        acre_dec from, r, base, com;
        char what[64];
        acre_dec_init(&from);
        acre_dec_init(&r);
        acre_dec_init(&base);
        acre_dec_init(&com);
        snprintf(what, sizeof what, "detail.bands[%zu]", i);
        if (num(v, b, "from", &from) | rate(v, b, "rate", &r) | num(v, b, "base", &base) |
            num(v, b, "commission", &com)) {
            ok = 0;
        } else {
            if (strcmp(method, "tiers_progressive") == 0) {
                /* the slice of A between this band's from and the next one's */
                const json_t *next = json_array_get(bands, i + 1);
                if (next && parse_q(&y, str(next, "from") ? str(next, "from") : "") == 0 &&
                    acre_dec_cmp(&A, &y) >= 0)
                    acre_dec_set(&x, &y);
                else
                    acre_dec_set(&x, &A);
                if (next && parse_q(&y, str(next, "from") ? str(next, "from") : "") == 0 &&
                    acre_dec_cmp(&y, &from) <= 0)
                    bad(v, "%s: the next band's from must be above this one's", what);
                acre_dec_sub(&x, &x, &from);
                if (acre_dec_sgn(&x) < 0)
                    acre_dec_set_si(&x, 0);
                same(v, "base", &base, &x, "the slice of the adjusted basis in this band");
            } else {
                if (strcmp(method, "rate") == 0)
                    same(v, "from", &from, &zero, "a plain rate");
                same(v, "base", &base, &A, "the adjusted basis");
            }
            acre_dec_mul(&x, &r, &base);
            same(v, "commission", &com, &x, "rate × base");
            acre_dec_add(&sum, &sum, &com);
        }
        acre_dec_clear(&from);
        acre_dec_clear(&r);
        acre_dec_clear(&base);
        acre_dec_clear(&com);
    }
    if (ok)
        same(v, "exact", exact, &sum, "the sum of the bands' commissions");
out:
    for (i = 0; i < nall; i++)
        acre_dec_clear(all[i]);
}

/* A CPA-family line's own checks; the cross-line ones are in cpa_family(). */
static void cpa_line(vc *v, int kind, const json_t *d, const acre_dec *exact)
{
    const char *rule = str(d, "rule");
    acre_dec x, y;
    acre_dec_init(&x);
    acre_dec_init(&y);
    if (kind == K_CLAWBACK) {
        static const char *const reasons[] = {"no_longer_qualifies", "conditions", NULL};
        if (!one_of(str(d, "reason"), reasons))
            bad(v, "detail.reason is missing or unknown");
        if (!num(v, d, "paid_amount", &x)) {
            acre_dec_neg(&x, &x);
            same(v, "exact", exact, &x, "minus detail.paid_amount");
        }
    } else if (!rule) {
        bad(v, "detail.rule is missing");
    } else if (kind == K_OVER_CAP) {
        if (strncmp(rule, "cap:", 4) != 0)
            bad(v, "detail.rule is \"%s\", not cap:N", rule);
        same(v, "exact", exact, &y, "a customer over the cap");
    } else if (strncmp(rule, "percent_of_first:", 17) == 0) {
        if (!num(v, d, "ftd_amount", &x) && !rate_text(v, "detail.rule", rule + 17, &y)) {
            acre_dec_mul(&x, &x, &y);
            same(v, "exact", exact, &x, "the rule's percentage × detail.ftd_amount");
        }
    } else if (strncmp(rule, "tier:", 5) == 0) {
        const json_t *pp = json_object_get(d, "paid_in_period"),
                     *pos = json_object_get(d, "position");
        int flat = strncmp(rule, "tier:flat:", 10) == 0;
        int progressive = strncmp(rule, "tier:progressive:", 17) == 0;
        /* the number after the prefix, read only once the prefix is there ("tier:" alone is
         * 5 bytes: found by fuzz_verify) */
        long n = flat ? strtol(rule + 10, NULL, 10) : progressive ? strtol(rule + 17, NULL, 10) : 0;
        if (!flat && !progressive)
            bad(v, "detail.rule \"%s\" is not tier:flat:N or tier:progressive:K", rule);
        else if (!json_is_integer(pp) || !json_is_integer(pos) || json_integer_value(pos) < 1 ||
                 json_integer_value(pos) > json_integer_value(pp))
            bad(v, "detail.paid_in_period and position must be integers with 1 <= position <= "
                   "paid_in_period");
        else if (n != json_integer_value(flat ? pp : pos))
            bad(v, "detail.rule \"%s\" names %s %lld", rule, flat ? "paid_in_period" : "position",
                (long long)json_integer_value(flat ? pp : pos));
    } else if (strcmp(rule, "amount") != 0 && strncmp(rule, "by_country:", 11) != 0) {
        bad(v, "detail.rule \"%s\" is not a CPA rule", rule);
    }
    acre_dec_clear(&x);
    acre_dec_clear(&y);
}

static void expired(vc *v, const json_t *d, const acre_dec *exact)
{
    static const char *const reasons[] = {"max_periods", "plan_changed", "mode_none",
                                          "no_revshare_plan", NULL};
    const json_t *layers = json_object_get(d, "layers"), *l;
    acre_dec x, sum, zero;
    size_t i;
    int ok = 1;
    acre_dec_init(&x);
    acre_dec_init(&sum);
    acre_dec_init(&zero);
    if (!one_of(str(d, "reason"), reasons))
        bad(v, "detail.reason is missing or unknown");
    same(v, "exact", exact, &zero, "an expired deficit (it pays nothing)");
    if (!json_is_array(layers))
        bad(v, "detail.layers must be an array");
    json_array_foreach(layers, i, l)
    {
        if (num(v, l, "amount", &x))
            ok = 0;
        else
            acre_dec_add(&sum, &sum, &x);
    }
    if (ok && !num(v, d, "expired", &x))
        same(v, "detail.expired", &x, &sum, "the sum of detail.layers[].amount");
    acre_dec_clear(&x);
    acre_dec_clear(&sum);
    acre_dec_clear(&zero);
}

static void sub_affiliate(vc *v, const json_t *l, const json_t *d, const char *currency,
                          const acre_dec *exact)
{
    const json_t *depth = json_object_get(l, "depth");
    const char *dc = str(d, "descendant_currency");
    acre_dec e, conv, level, x;
    int failed;
    acre_dec_init(&e);
    acre_dec_init(&conv);
    acre_dec_init(&level);
    acre_dec_init(&x);
    if (!str(l, "descendant_id") || !json_is_integer(depth) || json_integer_value(depth) < 1)
        bad(v, "a sub_affiliate line needs descendant_id and a depth of 1 or more");
    /* all three are read (each reports its own problem) before any is used */
    failed = num(v, d, "descendant_earned", &e) != 0;
    failed |= num(v, d, "converted", &conv) != 0;
    failed |= rate(v, d, "level", &level) != 0;
    if (!failed) {
        if (acre_dec_sgn(&e) <= 0)
            same(v, "detail.converted", &conv, &x,
                 "a descendant_earned of 0 or less (it pays nothing and is not converted)");
        else if (dc && currency && strcmp(dc, currency) == 0)
            same(v, "detail.converted", &conv, &e, "detail.descendant_earned in the same currency");
        else if (acre_dec_sgn(&conv) <= 0)
            bad(v, "detail.converted must be above 0 when descendant_earned is");
        if (acre_dec_sgn(&conv) > 0)
            acre_dec_mul(&x, &level, &conv);
        same(v, "exact", exact, &x, "level × max(0, converted)");
    }
    acre_dec_clear(&e);
    acre_dec_clear(&conv);
    acre_dec_clear(&level);
    acre_dec_clear(&x);
}

/* ---- CPA lines of one affiliate, together ---- */

typedef struct cpa_row {
    const char *plan, *rule, *exact;
    long paid_in_period; /* -1 when not a tier */
    int kind, line;
} cpa_row;

static int row_order(const void *x, const void *y)
{
    const cpa_row *a = x, *b = y;
    int k;
    if ((k = strcmp(a->plan, b->plan)))
        return k;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    if ((k = strcmp(a->rule, b->rule)))
        return k;
    return a->line - b->line;
}

/* Per plan: the CPA lines of one rule pay the same (but percent_of_first's: each its own FTD's
 * share); a tier's paid_in_period is the plan's number of cpa lines; a cap is that number. */
static void cpa_family(vc *v, const char *aff, cpa_row *r, size_t n)
{
    size_t i = 0;
    qsort(r, n, sizeof *r, row_order);
    while (i < n) {
        size_t j = i, npaid = 0;
        while (j < n && strcmp(r[j].plan, r[i].plan) == 0)
            npaid += r[j++].kind == K_CPA;
        for (size_t k = i; k < j; k++) {
            snprintf(v->where, sizeof v->where, "affiliate %s, line %d (%s %s)", aff, r[k].line,
                     kinds[r[k].kind], r[k].plan);
            /* percent_of_first pays each customer a share of its own FTD: checked per line */
            if (r[k].kind == K_CPA && k > i && r[k - 1].kind == K_CPA &&
                strcmp(r[k - 1].rule, r[k].rule) == 0 &&
                strncmp(r[k].rule, "percent_of_first:", 17) != 0 &&
                strcmp(r[k - 1].exact, r[k].exact) != 0)
                bad(v, "exact %s differs from line %d's %s under the same rule %s", r[k].exact,
                    r[k - 1].line, r[k - 1].exact, r[k].rule);
            if (r[k].kind == K_CPA && r[k].paid_in_period >= 0 &&
                (size_t)r[k].paid_in_period != npaid)
                bad(v, "detail.paid_in_period is %ld, but the plan has %zu cpa lines",
                    r[k].paid_in_period, npaid);
            if (r[k].kind == K_OVER_CAP && strncmp(r[k].rule, "cap:", 4) == 0 &&
                strtoul(r[k].rule + 4, NULL, 10) != npaid)
                bad(v, "detail.rule is %s, but the plan has %zu cpa lines", r[k].rule, npaid);
        }
        i = j;
    }
}

/* ---- the document ---- */

static int line_key_cmp(int ka, const json_t *a, int kb, const json_t *b)
{
    const char *k[2][3] = {{str(a, "plan"), str(a, "customer_id"), str(a, "descendant_id")},
                           {str(b, "plan"), str(b, "customer_id"), str(b, "descendant_id")}};
    int c;
    if (ka != kb)
        return ka - kb;
    for (int i = 0; i < 3; i++)
        if ((c = strcmp(k[0][i] ? k[0][i] : "", k[1][i] ? k[1][i] : "")))
            return c;
    return 0;
}

static void affiliate(vc *v, const json_t *a, size_t ai)
{
    const char *id = str(a, "affiliate_id"), *currency = str(a, "currency");
    const json_t *lines = json_object_get(a, "lines"), *l, *prev = NULL;
    acre_dec earned, bf, minp, total, zero, exact, amount;
    acre_round mode;
    int scale, prevkind = 0;
    size_t i, ncpa = 0;
    cpa_row *rows = NULL;

    snprintf(v->where, sizeof v->where, "affiliate %s", id ? id : "?");
    if (!id || !currency || !json_is_array(lines)) {
        snprintf(v->where, sizeof v->where, "affiliates[%zu]", ai);
        bad(v, "affiliate_id, currency and lines are required");
        return;
    }
    if (rounding(v, a, &scale, &mode))
        return;
    acre_dec_init(&earned);
    acre_dec_init(&bf);
    acre_dec_init(&minp);
    acre_dec_init(&total);
    acre_dec_init(&zero);
    acre_dec_init(&exact);
    acre_dec_init(&amount);
    if (!(rows = acre_calloc(json_array_size(lines) + 1, sizeof *rows)))
        v->oom = 1;

    json_array_foreach(lines, i, l)
    {
        const char *kind = str(l, "kind"), *plan = str(l, "plan");
        const json_t *d = json_object_get(l, "detail");
        int k, lscale;
        acre_round lmode;
        for (k = 0; k < K_N && !(kind && strcmp(kind, kinds[k]) == 0); k++)
            ;
        snprintf(v->where, sizeof v->where, "affiliate %s, line %zu (%s %s)", id, i + 1,
                 kind ? kind : "?", plan ? plan : "?");
        if (k == K_N || !plan || !json_is_object(d)) {
            bad(v, "kind must be one of cpa … sub_affiliate, with a plan and a detail object");
            continue;
        }
        if (prev && line_key_cmp(prevkind, prev, k, l) > 0)
            bad(v, "out of order: lines are ordered by kind, plan, customer_id");
        prev = l;
        prevkind = k;
        if ((k <= K_CLAWBACK) != (str(l, "customer_id") != NULL))
            bad(v, "customer_id belongs on cpa, cpa_over_cap and cpa_clawback lines only");
        if ((k == K_SUB) != (str(l, "descendant_id") != NULL))
            bad(v, "descendant_id belongs on sub_affiliate lines only");
        if (rounding(v, l, &lscale, &lmode) || num(v, l, "exact", &exact))
            continue;
        fixed(v, l, "amount", &exact, lscale, lmode, "exact");
        acre_dec_round(&amount, &exact, lscale, lmode);
        acre_dec_add(&earned, &earned, &amount);
        if (k == K_REVSHARE)
            revshare(v, d, &exact);
        else if (k == K_EXPIRED)
            expired(v, d, &exact);
        else if (k == K_SUB)
            sub_affiliate(v, l, d, currency, &exact);
        else
            cpa_line(v, k, d, &exact);
        if (rows && k <= K_OVER_CAP && str(d, "rule")) {
            const json_t *pp = json_object_get(d, "paid_in_period");
            rows[ncpa] = (cpa_row){plan,
                                   str(d, "rule"),
                                   str(l, "exact"),
                                   json_is_integer(pp) ? (long)json_integer_value(pp) : -1,
                                   k,
                                   (int)i + 1};
            ncpa++;
        }
    }
    if (rows)
        cpa_family(v, id, rows, ncpa);
    free(rows);

    /* totals (SPEC 5.5): earned = Σ amounts; payable when the total is above 0 and at least
     * min_payout, else carried forward */
    snprintf(v->where, sizeof v->where, "affiliate %s", id);
    fixed(v, a, "earned", &earned, scale, mode, "the sum of the line amounts");
    if (num(v, a, "min_payout", &minp)) {
        /* reported */
    } else if (!str(a, "brought_forward") || parse_q(&bf, str(a, "brought_forward"))) {
        bad(v, "brought_forward is missing or not a number");
    } else {
        fixed(v, a, "brought_forward", &bf, scale, mode, "brought_forward");
        acre_dec_add(&total, &earned, &bf);
        if (acre_dec_sgn(&total) > 0 && acre_dec_cmp(&total, &minp) >= 0) {
            fixed(v, a, "payable", &total, scale, mode, "earned + brought_forward");
            fixed(v, a, "carried_forward", &zero, scale, mode, "a payable total");
        } else {
            fixed(v, a, "payable", &zero, scale, mode, "a total at or below 0 or under min_payout");
            fixed(v, a, "carried_forward", &total, scale, mode, "earned + brought_forward");
        }
    }
    acre_dec_clear(&earned);
    acre_dec_clear(&bf);
    acre_dec_clear(&minp);
    acre_dec_clear(&total);
    acre_dec_clear(&zero);
    acre_dec_clear(&exact);
    acre_dec_clear(&amount);
}

/* The digest written in the document against the one its bytes give. */
static void digest(vc *v, const char *doc, size_t len, const char *written)
{
    char got[72];
    v->where[0] = '\0';
    if (!written || acre_ledger_digest(got, doc, len)) {
        bad(v, "the document has no final \"digest\" member");
        return;
    }
    if (strcmp(got, written) != 0)
        bad(v, "the content does not hash to its digest (%s written, %s computed)", written, got);
}

/* Checks doc; with `whole`, also its digest, and ends with a summary line naming `name`.
 * Returns 0, or ACRE_ENOMEM when a check could not be made. */
static int check(const char *doc, size_t len, const char *name, const char *prefix, int whole,
                 FILE *out, int *nbad)
{
    vc v = {out, prefix, "", 0, 0};
    json_error_t je;
    json_t *root, *affs, *a;
    const char *period, *prev, *prev_id = NULL;
    size_t i, nlines = 0;

    if (!(root = acre_json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je))) {
        *nbad = 0;
        if (json_error_code(&je) == json_error_out_of_memory)
            return ACRE_ENOMEM;
        bad(&v, "not a JSON document: %s (line %d, column %d)", je.text, je.line, je.column);
        *nbad = v.nbad;
        return 0;
    }
    period = str(root, "period");
    prev = str(root, "previous_digest");
    affs = json_object_get(root, "affiliates");
    if (!json_is_object(root) ||
        !one_of(str(root, "format"), (const char *const[]){"acre-ledger/1", NULL}) || !period ||
        strlen(period) != 7 || period[4] != '-' || !json_is_array(affs)) {
        bad(&v, "not an acre ledger: format \"acre-ledger/1\", a period YYYY-MM and affiliates "
                "are required");
        json_decref(root);
        *nbad = v.nbad;
        return 0;
    }
    if (!json_is_null(json_object_get(root, "previous_digest")) &&
        (!prev || strncmp(prev, "sha256:", 7) != 0 || strlen(prev) != 71))
        bad(&v, "previous_digest must be null or sha256: and 64 hex digits");
    json_array_foreach(affs, i, a)
    {
        const char *id = str(a, "affiliate_id");
        if (prev_id && id && strcmp(prev_id, id) >= 0) {
            snprintf(v.where, sizeof v.where, "affiliate %s", id);
            bad(&v, "out of order: affiliates are ordered by affiliate_id, each once");
        }
        affiliate(&v, a, i);
        nlines += json_array_size(json_object_get(a, "lines"));
        prev_id = id;
    }
    if (!whole || v.oom) {
        json_decref(root);
        *nbad = v.nbad;
        return v.oom ? ACRE_ENOMEM : 0;
    }
    digest(&v, doc, len, str(root, "digest"));
    if (v.nbad)
        fprintf(out, "%s: %s: %d problem%s\n", name, period, v.nbad, v.nbad == 1 ? "" : "s");
    else
        fprintf(out, "%s: %s: ok, %zu affiliates, %zu lines re-derived, digest %s\n", name, period,
                json_array_size(affs), nlines, str(root, "digest"));
    json_decref(root);
    *nbad = v.nbad;
    return 0;
}

int acre_verify(const char *doc, size_t len, const char *name, FILE *out, int *nbad,
                acre_error *err)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s: ", name);
    if (check(doc, len, name, prefix, 1, out, nbad))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                              "out of memory: %s was not verified", name);
    return 0;
}

int acre_verify_numbers(const char *doc, size_t len, const char *prefix, FILE *out, int *nbad)
{
    return check(doc, len, NULL, prefix, 0, out, nbad);
}
