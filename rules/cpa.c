/* rules/cpa.c — the one-time payment for a qualified customer, and its clawback (SPEC 5.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "close.h"
#include "datetime.h"
#include "iso.h"

extern const acre_rule_kind acre_rule_cpa;
enum { PAID, OVER_CAP, CLAWBACK }; /* its line kinds, in the order of lines[] */

static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    (void)config;
    static const char *const keys[] = {"amount", "by_country", "tiers", "percent_of_first",
                                       "cap", "clawback_days", NULL};
    const json_t *s = json_object_get(doc, "cpa"), *v;
    int rc, n;

    if (!s)
        return 0;
    p->has_cpa = 1;
    if ((rc = acre_plan_keys(s, "cpa", keys, err)))
        return rc;
    n = !!json_object_get(s, "amount") + !!json_object_get(s, "tiers") +
        !!json_object_get(s, "percent_of_first");
    if (n != 1)
        return acre_error_set(err, ACRE_EINVALID, "cpa", "one_of",
                              "cpa: needs exactly one of amount, tiers and percent_of_first");
    if ((v = json_object_get(s, "amount"))) {
        p->cpa.has_amount = 1;
        if ((rc = acre_plan_money(&p->cpa.amount, v, t, "cpa.amount", err)))
            return rc;
    }
    if ((v = json_object_get(s, "by_country"))) {
        const char *k;
        json_t *x;
        if (!p->cpa.has_amount)
            return acre_error_set(err, ACRE_EINVALID, "cpa.by_country", "needs_amount",
                                  "cpa.by_country: only valid with cpa.amount");
        if (!json_is_object(v))
            return acre_error_set(err, ACRE_EINVALID, "cpa.by_country", "type",
                                  "cpa.by_country: must be an object of country: amount");
        p->cpa.bc_country = acre_calloc(json_object_size(v) + 1, sizeof *p->cpa.bc_country);
        p->cpa.bc_amount = acre_calloc(json_object_size(v) + 1, sizeof *p->cpa.bc_amount);
        if (!p->cpa.bc_country || !p->cpa.bc_amount)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        json_object_foreach((json_t *)v, k, x) {
            char key[64];
            snprintf(key, sizeof key, "cpa.by_country.%s", k);
            if (strlen(k) != 2 || !acre_iso_country(k))
                return acre_error_set(err, ACRE_EINVALID, key, "country",
                                      "%s: not an ISO 3166-1 alpha-2 code", key);
            acre_dec_init(&p->cpa.bc_amount[p->cpa.nbc]);
            memcpy(p->cpa.bc_country[p->cpa.nbc], k, 3);
            p->cpa.nbc++;
            if ((rc = acre_plan_money(&p->cpa.bc_amount[p->cpa.nbc - 1], x, t, key, err)))
                return rc;
        }
    }
    if ((v = json_object_get(s, "tiers")) &&
        (rc = acre_plan_tiers(&p->cpa.tiers, v, t, 1, "cpa.tiers", err)))
        return rc;
    if ((v = json_object_get(s, "percent_of_first"))) {
        p->cpa.has_pof = 1;
        if ((rc = acre_plan_rate(&p->cpa.percent_of_first, &p->cpa.pof_text, v, t,
                                 "cpa.percent_of_first", err)))
            return rc;
    }
    if ((v = json_object_get(s, "cap")) && (rc = acre_plan_int(&p->cpa.cap, v, 0, "cpa.cap", err)))
        return rc;
    if ((v = json_object_get(s, "clawback_days")) &&
        (rc = acre_plan_int(&p->cpa.clawback_days, v, 0, "cpa.clawback_days", err)))
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
    if (!p->has_cpa) {
        free(q);
        return 0;
    }
    npay = p->cpa.cap >= 0 && nq > p->cpa.cap ? (int)p->cpa.cap : nq;
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
            snprintf(rule, sizeof rule, "cap:%ld", p->cpa.cap);
        } else if (p->cpa.has_pof) {
            acre_dec_mul(&x, &p->cpa.percent_of_first, &cu->ftd_amount);
            snprintf(rule, sizeof rule, "percent_of_first:%s", p->cpa.pof_text);
        } else {
            int found = 0;
            for (int b = 0; b < p->cpa.nbc && !found; b++)
                if (strcmp(p->cpa.bc_country[b], cu->country) == 0) {
                    acre_dec_set(&x, &p->cpa.bc_amount[b]);
                    snprintf(rule, sizeof rule, "by_country:%s", cu->country);
                    found = 1;
                }
            if (!found && p->cpa.tiers.present) {
                long at = p->cpa.tiers.mode == TIERS_FLAT ? npay : k + 1;
                const acre_band *b = band_for(&p->cpa.tiers, at);
                acre_dec_set(&x, &b->value);
                snprintf(rule, sizeof rule, "tier:%s:%ld",
                         p->cpa.tiers.mode == TIERS_FLAT ? "flat" : "progressive", at);
            } else if (!found) {
                acre_dec_set(&x, &p->cpa.amount);
                snprintf(rule, sizeof rule, "amount");
            }
        }
        acre_line_set(l, &x, p->scale, p->mode);
        cu->outcome = k < npay ? 1 : 2;
        if (k < npay && !(cu->paid_now = acre_dec_format(&l->amount)))
            l->detail.oom = 1; /* the close then fails as out of memory */
        acre_detail_str(&l->detail, "qualified_at", cu->qualified_at);
        acre_detail_str(&l->detail, "ftd_transaction_id", cu->ftd_id);
        if (p->cpa.has_pof)
            acre_detail_dec(&l->detail, "ftd_amount", &cu->ftd_amount);
        acre_detail_str(&l->detail, "rule", rule);
        if (p->cpa.tiers.present && k < npay) {
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

static const acre_line_kind lines[] = {
    [PAID] = {"cpa", "cpa", "Cpa", ACRE_LINE_CUSTOMER | ACRE_LINE_OWN, NULL},
    [OVER_CAP] = {"cpa_over_cap", "cpa_over_cap", "Cpa-Over-Cap", ACRE_LINE_CUSTOMER, NULL},
    [CLAWBACK] = {"cpa_clawback", "cpa_clawback", "Cpa-Clawback",
                  ACRE_LINE_CUSTOMER | ACRE_LINE_OWN, NULL},
};

const acre_rule_kind acre_rule_cpa = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "cpa",
    .phase = 1,
    .section = "cpa",
    .lines = lines,
    .nlines = 3,
    .parse = parse,
    .run = run,
};
