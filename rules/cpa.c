/* rules/cpa.c — the one-time payment for a qualified customer, and its clawback (SPEC 5.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "close.h"
#include "datetime.h"
#include "iso.h"
#include "verify_util.h"

extern const acre_rule_kind acre_rule_cpa;
enum { PAID, OVER_CAP, CLAWBACK }; /* its line kinds, in the order of lines[] */

/* The cpa section but clawback_days, which the close reads too (acre_plan.cpa). */
typedef struct cpacfg {
    int has_amount, has_pof;
    acre_dec amount, percent_of_first;
    char *pof_text;
    int nbc;
    char (*bc_country)[3];
    acre_dec *bc_amount;
    acre_tiers tiers;
    long cap; /* -1: none */
} cpacfg;

static void cfg_free(void *config)
{
    cpacfg *c = config;
    acre_dec_clear(&c->amount);
    acre_dec_clear(&c->percent_of_first);
    free(c->pof_text);
    for (int i = 0; i < c->nbc; i++)
        acre_dec_clear(&c->bc_amount[i]);
    free(c->bc_country);
    free(c->bc_amount);
    acre_plan_tiers_free(&c->tiers);
    free(c);
}

static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    static const char *const keys[] = {"amount", "by_country", "tiers", "percent_of_first",
                                       "cap", "clawback_days", NULL};
    const json_t *s = json_object_get(doc, "cpa"), *v;
    cpacfg *c;
    int rc, n;

    if (!s)
        return 0;
    if (!(c = acre_calloc(1, sizeof *c)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    acre_dec_init(&c->amount);
    acre_dec_init(&c->percent_of_first);
    c->cap = -1;
    *config = c;
    if ((rc = acre_plan_keys(s, "cpa", keys, err)))
        return rc;
    n = !!json_object_get(s, "amount") + !!json_object_get(s, "tiers") +
        !!json_object_get(s, "percent_of_first");
    if (n != 1)
        return acre_error_set(err, ACRE_EINVALID, "cpa", "one_of",
                              "cpa: needs exactly one of amount, tiers and percent_of_first");
    if ((v = json_object_get(s, "amount"))) {
        c->has_amount = 1;
        if ((rc = acre_plan_money(&c->amount, v, t, "cpa.amount", err)))
            return rc;
    }
    if ((v = json_object_get(s, "by_country"))) {
        const char *k;
        json_t *x;
        if (!c->has_amount)
            return acre_error_set(err, ACRE_EINVALID, "cpa.by_country", "needs_amount",
                                  "cpa.by_country: only valid with cpa.amount");
        if (!json_is_object(v))
            return acre_error_set(err, ACRE_EINVALID, "cpa.by_country", "type",
                                  "cpa.by_country: must be an object of country: amount");
        c->bc_country = acre_calloc(json_object_size(v) + 1, sizeof *c->bc_country);
        c->bc_amount = acre_calloc(json_object_size(v) + 1, sizeof *c->bc_amount);
        if (!c->bc_country || !c->bc_amount)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        json_object_foreach((json_t *)v, k, x) {
            char key[64];
            snprintf(key, sizeof key, "cpa.by_country.%s", k);
            if (strlen(k) != 2 || !acre_iso_country(k))
                return acre_error_set(err, ACRE_EINVALID, key, "country",
                                      "%s: not an ISO 3166-1 alpha-2 code", key);
            acre_dec_init(&c->bc_amount[c->nbc]);
            memcpy(c->bc_country[c->nbc], k, 3);
            c->nbc++;
            if ((rc = acre_plan_money(&c->bc_amount[c->nbc - 1], x, t, key, err)))
                return rc;
        }
    }
    if ((v = json_object_get(s, "tiers")) &&
        (rc = acre_plan_tiers(&c->tiers, v, t, 1, "cpa.tiers", err)))
        return rc;
    if ((v = json_object_get(s, "percent_of_first"))) {
        c->has_pof = 1;
        p->needs_ftd_amount = 1; /* qualification converts the FTD for it */
        if ((rc = acre_plan_rate(&c->percent_of_first, &c->pof_text, v, t, "cpa.percent_of_first",
                                 err)))
            return rc;
    }
    if ((v = json_object_get(s, "cap")) && (rc = acre_plan_int(&c->cap, v, 0, "cpa.cap", err)))
        return rc;
    if ((v = json_object_get(s, "clawback_days")) &&
        (rc = acre_plan_int(&p->clawback_days, v, 0, "cpa.clawback_days", err)))
        return rc;
    return 0;
}

/* The band holding x: the last whose from <= x, else the first (SPEC 9). */
static const acre_band *band_for(const acre_tiers *t, long x)
{
    const acre_band *b = &t->bands[0];
    for (int i = 1; i < t->n; i++)
        if (mpz_cmp_si(mpq_numref(t->bands[i].from.q), x) <= 0)
            b = &t->bands[i];
    return b;
}

static int by_qualified(const void *x, const void *y, void *ctx)
{
    const acre_close *c = ctx;
    const acre_cust *a = &c->custs[*(const int *)x], *b = &c->custs[*(const int *)y];
    if (a->qsec != b->qsec)
        return a->qsec < b->qsec ? -1 : 1;
    if (a->qnsec != b->qnsec)
        return a->qnsec < b->qnsec ? -1 : 1;
    return strcmp(a->id, b->id);
}

static void qsort_ctx(int *v, int n, acre_close *c)
{
    /* insertion sort is fine for tens; use a simple merge for many */
    for (int i = 1; i < n; i++) {
        int x = v[i], j = i;
        while (j > 0 && by_qualified(&v[j - 1], &x, c) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static int clawbacks(acre_close *c, acre_aff *a, acre_error *err)
{
    int64_t start = acre_month_start(c->period);
    int rc;
    for (int i = 0; i < a->npaid; i++) {
        acre_cust *cu = &c->custs[a->paid[i]];
        const acre_plan *pp;
        char qat[31];
        int64_t qs;
        int32_t qn;
        const char *ftd;
        acre_dec amt, paid;
        acre_line *l;
        const char *reason = NULL;

        if (!cu->paid || cu->clawed || cu->paid_clawback_days <= 0)
            continue;
        if (start > cu->paid_qsec + (int64_t)cu->paid_clawback_days * 86400)
            continue;
        if (!(pp = acre_close_plan(c, cu->paid_label)))
            return acre_error_set(err, ACRE_ENOTFOUND, "plan", "unknown_plan",
                                  "the plan %s that paid customer %s is not stored",
                                  cu->paid_label, cu->id);
        acre_dec_init(&amt);
        if (!acre_qualify(c, cu, pp, qat, &qs, &qn, &ftd, &amt))
            reason = "no_longer_qualifies";
        else if (!acre_conditions(c, cu, pp))
            reason = "conditions";
        if (reason) {
            acre_dec_init(&paid);
            if ((rc = acre_dec_parse_stored(&paid, cu->paid_amount, err))) {
                acre_dec_clear(&paid);
                acre_dec_clear(&amt);
                if (rc != ACRE_ERROR) /* out of memory */
                    return rc;
                return acre_error_set(err, ACRE_ERROR, "store", "stored_value",
                                      "the store is damaged: settled.amount of customer %s is "
                                      "%.60s, not an exact number",
                                      cu->id, cu->paid_amount ? cu->paid_amount : "NULL");
            }
            acre_dec_neg(&paid, &paid);
            if (!(l = acre_close_line(a, acre_line_kind_index(&acre_rule_cpa, CLAWBACK),
                                      cu->paid_label, cu->id))) {
                acre_dec_clear(&paid);
                acre_dec_clear(&amt);
                return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            }
            acre_line_set(l, &paid, pp->scale, pp->mode);
            acre_detail_str(&l->detail, "reason", reason);
            acre_detail_str(&l->detail, "paid_in", cu->paid_period);
            acre_detail_str(&l->detail, "paid_amount", cu->paid_amount);
            acre_detail_str(&l->detail, "qualified_at", cu->paid_qat);
            cu->clawed = 1;
            acre_dec_clear(&paid);
        }
        acre_dec_clear(&amt);
    }
    return 0;
}

static int run(acre_close *c, acre_aff *a, acre_error *err)
{
    int *q = NULL, nq = 0, npay, rc;
    const acre_plan *p = a->plan;
    const cpacfg *cfg;
    acre_dec x;

    if ((rc = clawbacks(c, a, err)))
        return rc;
    if (!p)
        return 0;
    for (int i = 0; i < a->ncusts; i++)
        if (c->custs[a->custs[i]].qualifies)
            nq++;
    if (!nq)
        return 0;
    if (!(q = acre_malloc((size_t)nq * sizeof *q)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    nq = 0;
    for (int i = 0; i < a->ncusts; i++)
        if (c->custs[a->custs[i]].qualifies)
            q[nq++] = a->custs[i];
    qsort_ctx(q, nq, c);
    if (!(cfg = acre_plan_config(p, &acre_rule_cpa))) {
        free(q);
        return 0;
    }
    npay = cfg->cap >= 0 && nq > cfg->cap ? (int)cfg->cap : nq;
    acre_dec_init(&x);
    for (int k = 0; k < nq; k++) {
        acre_cust *cu = &c->custs[q[k]];
        char rule[64];
        acre_line *l = acre_close_line(
            a, acre_line_kind_index(&acre_rule_cpa, k < npay ? PAID : OVER_CAP), p->label, cu->id);
        if (!l) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
        if (k >= npay) {
            acre_dec_set_si(&x, 0);
            snprintf(rule, sizeof rule, "cap:%ld", cfg->cap);
        } else if (cfg->has_pof) {
            acre_dec_mul(&x, &cfg->percent_of_first, &cu->ftd_amount);
            snprintf(rule, sizeof rule, "percent_of_first:%s", cfg->pof_text);
        } else {
            int found = 0;
            for (int b = 0; b < cfg->nbc && !found; b++)
                if (strcmp(cfg->bc_country[b], cu->country) == 0) {
                    acre_dec_set(&x, &cfg->bc_amount[b]);
                    snprintf(rule, sizeof rule, "by_country:%s", cu->country);
                    found = 1;
                }
            if (!found && cfg->tiers.present) {
                long at = cfg->tiers.mode == TIERS_FLAT ? npay : k + 1;
                const acre_band *b = band_for(&cfg->tiers, at);
                acre_dec_set(&x, &b->value);
                snprintf(rule, sizeof rule, "tier:%s:%ld",
                         cfg->tiers.mode == TIERS_FLAT ? "flat" : "progressive", at);
            } else if (!found) {
                acre_dec_set(&x, &cfg->amount);
                snprintf(rule, sizeof rule, "amount");
            }
        }
        acre_line_set(l, &x, p->scale, p->mode);
        cu->outcome = k < npay ? 1 : 2;
        if (k < npay && !(cu->paid_now = acre_dec_format(&l->amount)))
            l->detail.oom = 1; /* the close then fails as out of memory */
        acre_detail_str(&l->detail, "qualified_at", cu->qualified_at);
        acre_detail_str(&l->detail, "ftd_transaction_id", cu->ftd_id);
        if (cfg->has_pof)
            acre_detail_dec(&l->detail, "ftd_amount", &cu->ftd_amount);
        acre_detail_str(&l->detail, "rule", rule);
        if (cfg->tiers.present && k < npay) {
            char n[32];
            snprintf(n, sizeof n, "%d", npay);
            acre_detail_raw(&l->detail, "paid_in_period", n);
            snprintf(n, sizeof n, "%d", k + 1);
            acre_detail_raw(&l->detail, "position", n);
        }
    }
    acre_dec_clear(&x);
    free(q);
    return rc;
}

/* ---- verify (engine/verify.c calls these through the table) ---- */

/* A CPA-family line's own checks (kind: PAID, OVER_CAP or CLAWBACK); the cross-line ones are
 * in family(). */
static void verify_line(acre_vc *v, int kind, const json_t *d, const acre_dec *exact)
{
    const char *rule = acre_vc_str(d, "rule");
    acre_dec x, y;
    acre_dec_init(&x);
    acre_dec_init(&y);
    if (kind == CLAWBACK) {
        static const char *const reasons[] = {"no_longer_qualifies", "conditions", NULL};
        if (!acre_vc_one_of(acre_vc_str(d, "reason"), reasons))
            acre_vc_bad(v, "detail.reason is missing or unknown");
        if (!acre_vc_num(v, d, "paid_amount", &x)) {
            acre_dec_neg(&x, &x);
            acre_vc_same(v, "exact", exact, &x, "minus detail.paid_amount");
        }
    } else if (!rule) {
        acre_vc_bad(v, "detail.rule is missing");
    } else if (kind == OVER_CAP) {
        if (strncmp(rule, "cap:", 4) != 0)
            acre_vc_bad(v, "detail.rule is \"%s\", not cap:N", rule);
        acre_vc_same(v, "exact", exact, &y, "a customer over the cap");
    } else if (strncmp(rule, "percent_of_first:", 17) == 0) {
        if (!acre_vc_num(v, d, "ftd_amount", &x) &&
            !acre_vc_rate_text(v, "detail.rule", rule + 17, &y)) {
            acre_dec_mul(&x, &x, &y);
            acre_vc_same(v, "exact", exact, &x, "the rule's percentage × detail.ftd_amount");
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
            acre_vc_bad(v, "detail.rule \"%s\" is not tier:flat:N or tier:progressive:K", rule);
        else if (!json_is_integer(pp) || !json_is_integer(pos) || json_integer_value(pos) < 1 ||
                 json_integer_value(pos) > json_integer_value(pp))
            acre_vc_bad(v,
                        "detail.paid_in_period and position must be integers with 1 <= position <= "
                        "paid_in_period");
        else if (n != json_integer_value(flat ? pp : pos))
            acre_vc_bad(v, "detail.rule \"%s\" names %s %lld", rule,
                        flat ? "paid_in_period" : "position",
                        (long long)json_integer_value(flat ? pp : pos));
    } else if (strcmp(rule, "amount") != 0 && strncmp(rule, "by_country:", 11) != 0) {
        acre_vc_bad(v, "detail.rule \"%s\" is not a CPA rule", rule);
    }
    acre_dec_clear(&x);
    acre_dec_clear(&y);
}

static void verify_paid(acre_vc *v, const json_t *l, const json_t *d, const char *currency,
                        const acre_dec *exact)
{
    (void)l;
    (void)currency;
    verify_line(v, PAID, d, exact);
}

static void verify_over_cap(acre_vc *v, const json_t *l, const json_t *d, const char *currency,
                            const acre_dec *exact)
{
    (void)l;
    (void)currency;
    verify_line(v, OVER_CAP, d, exact);
}

static void verify_clawback(acre_vc *v, const json_t *l, const json_t *d, const char *currency,
                            const acre_dec *exact)
{
    (void)l;
    (void)currency;
    verify_line(v, CLAWBACK, d, exact);
}

/* The close stores each customer's outcome as a settled row (engine/close_state.c); these lines
 * document them, which the flags tell the audit (engine/audit_state.c). */
static const acre_line_kind lines_of[] = {
    [PAID] = {"cpa", "cpa", "Cpa", ACRE_LINE_CUSTOMER | ACRE_LINE_OWN | ACRE_LINE_SETTLES_PAID,
              verify_paid},
    [OVER_CAP] = {"cpa_over_cap", "cpa_over_cap", "Cpa-Over-Cap",
                  ACRE_LINE_CUSTOMER | ACRE_LINE_SETTLES_OVER_CAP, verify_over_cap},
    [CLAWBACK] = {"cpa_clawback", "cpa_clawback", "Cpa-Clawback",
                  ACRE_LINE_CUSTOMER | ACRE_LINE_OWN | ACRE_LINE_SETTLES_CLAWBACK,
                  verify_clawback},
};

typedef struct cpa_row {
    const char *plan, *rule, *exact;
    long paid_in_period; /* -1 when not a tier */
    int kind, line;      /* kind: PAID or OVER_CAP */
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
 * share); a tier's paid_in_period is the plan's number of cpa lines; a cap is that number.
 * Over the cpa and cpa_over_cap lines that name a rule. */
static void family(acre_vc *v, const char *aff, acre_vline *lines, size_t nlines)
{
    size_t i = 0, n = 0;
    int first = acre_line_kind_index(&acre_rule_cpa, 0);
    cpa_row *r = acre_calloc(nlines + 1, sizeof *r);
    if (!r) {
        v->oom = 1;
        return;
    }
    for (size_t k = 0; k < nlines; k++) {
        const json_t *l = lines[k].line, *d = json_object_get(l, "detail"),
                     *pp = json_object_get(d, "paid_in_period");
        int kind = lines[k].kind - first;
        if ((kind == PAID || kind == OVER_CAP) && acre_vc_str(d, "rule"))
            r[n++] = (cpa_row){acre_vc_str(l, "plan"),
                               acre_vc_str(d, "rule"),
                               acre_vc_str(l, "exact"),
                               json_is_integer(pp) ? (long)json_integer_value(pp) : -1,
                               kind,
                               lines[k].number};
    }
    qsort(r, n, sizeof *r, row_order);
    while (i < n) {
        size_t j = i, npaid = 0;
        while (j < n && strcmp(r[j].plan, r[i].plan) == 0)
            npaid += r[j++].kind == PAID;
        for (size_t k = i; k < j; k++) {
            acre_vc_where(v, "affiliate %s, line %d (%s %s)", aff, r[k].line,
                          lines_of[r[k].kind].name, r[k].plan);
            /* percent_of_first pays each customer a share of its own FTD: checked per line */
            if (r[k].kind == PAID && k > i && r[k - 1].kind == PAID &&
                strcmp(r[k - 1].rule, r[k].rule) == 0 &&
                strncmp(r[k].rule, "percent_of_first:", 17) != 0 &&
                strcmp(r[k - 1].exact, r[k].exact) != 0)
                acre_vc_bad(v, "exact %s differs from line %d's %s under the same rule %s",
                            r[k].exact, r[k - 1].line, r[k - 1].exact, r[k].rule);
            if (r[k].kind == PAID && r[k].paid_in_period >= 0 &&
                (size_t)r[k].paid_in_period != npaid)
                acre_vc_bad(v, "detail.paid_in_period is %ld, but the plan has %zu cpa lines",
                            r[k].paid_in_period, npaid);
            if (r[k].kind == OVER_CAP && strncmp(r[k].rule, "cap:", 4) == 0 &&
                strtoul(r[k].rule + 4, NULL, 10) != npaid)
                acre_vc_bad(v, "detail.rule is %s, but the plan has %zu cpa lines", r[k].rule,
                            npaid);
        }
        i = j;
    }
    free(r);
}

const acre_rule_kind acre_rule_cpa = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "cpa",
    .phase = 1,
    .section = "cpa",
    .lines = lines_of,
    .nlines = 3,
    .parse = parse,
    .free = cfg_free,
    .run = run,
    .verify_lines = family,
};
