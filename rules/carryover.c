/* rules/carryover.c — negative carryover: deficits kept in layers by the period they arose in
 * (SPEC 5.3, 9 "Basis and carryover").
 *
 * Layers that can no longer be used expire before anything else is computed. The kind's row
 * comes after revshare's, so that carryover_expired lines follow the revshare line in the
 * ledger (SPEC 6); revshare's run therefore expires them first for an affiliate whose plan has
 * revshare (acre_carry_expire), and this kind's run does it for every other affiliate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "close.h"
#include "verify_util.h"

extern const acre_rule_kind acre_rule_carryover;

/* revshare.negative_carryover; a plan without one has no config: mode none, no limit. */
typedef struct carrycfg {
    int carry;        /* mode carry */
    long max_periods; /* 0: no limit */
} carrycfg;

static void cfg_free(void *config)
{
    free(config);
}

static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    static const char *const keys[] = {"mode", "max_periods", NULL};
    const json_t *rs = json_object_get(doc, "revshare"), *nc, *v;
    carrycfg *c;
    int rc;
    (void)p;
    (void)t;
    if (!rs || !(nc = json_object_get(rs, "negative_carryover")))
        return 0;
    if ((rc = acre_plan_keys(nc, "revshare.negative_carryover", keys, err)))
        return rc;
    if (!(c = acre_calloc(1, sizeof *c)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    *config = c;
    if ((v = json_object_get(nc, "mode"))) {
        const char *m = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(m, "carry") == 0)
            c->carry = 1;
        else if (strcmp(m, "none") == 0)
            c->carry = 0;
        else
            return acre_error_set(err, ACRE_EINVALID, "revshare.negative_carryover.mode", "enum",
                                  "revshare.negative_carryover.mode: must be none or carry");
    }
    if ((v = json_object_get(nc, "max_periods")) &&
        (rc = acre_plan_int(&c->max_periods, v, 1, "revshare.negative_carryover.max_periods", err)))
        return rc;
    return 0;
}

static void layers_json(acre_buf *b, const acre_layer *l, int n)
{
    acre_buf_adds(b, "[");
    for (int i = 0; i < n; i++) {
        char per[8];
        char *s = acre_dec_format(&l[i].amount);
        acre_period_text(per, l[i].origin);
        if (!s)
            b->oom = 1; /* the line's detail is then refused as out of memory */
        else
            acre_buf_printf(b, "%s{\"period\":\"%s\",\"amount\":\"%s\"}", i ? "," : "", per,
                            s);
        free(s);
    }
    acre_buf_adds(b, "]");
}

/* One carryover_expired line for layers [0, n) of a, under `label`; removes them. */
static int expire(acre_close *c, acre_aff *a, int n, const char *label, const char *reason,
                  acre_error *err)
{
    /* the line borrows its label: take the stored plan's, not a->layer_label, which the revshare
     * rule overwrites when it keeps a new deficit */
    const acre_plan *lp = acre_close_plan(c, label);
    acre_line *l;
    if (!lp)
        return acre_error_set(err, ACRE_ENOTFOUND, "plan", "unknown_plan",
                              "the plan %s that holds %s's deficit is not stored", label, a->id);
    l = acre_close_line(a, acre_line_kind_index(&acre_rule_carryover, 0), lp->label, NULL);
    acre_dec zero, sum;
    acre_buf lb = {0};
    if (!l)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    acre_dec_init(&zero);
    acre_dec_init(&sum);
    for (int i = 0; i < n; i++)
        acre_dec_add(&sum, &sum, &a->layers[i].amount);
    acre_line_set(l, &zero, lp->scale, lp->mode); /* the scale of the plan the line names */
    acre_detail_str(&l->detail, "reason", reason);
    acre_detail_dec(&l->detail, "expired", &sum);
    layers_json(&lb, a->layers, n);
    acre_detail_buf(&l->detail, "layers", &lb);
    acre_buf_free(&lb);
    for (int i = 0; i < n; i++)
        acre_dec_clear(&a->layers[i].amount);
    memmove(a->layers, a->layers + n, (size_t)(a->nlayers - n) * sizeof *a->layers);
    a->nlayers -= n;
    acre_dec_clear(&zero);
    acre_dec_clear(&sum);
    return 0;
}

int acre_carry_expire(acre_close *c, acre_aff *a, acre_error *err)
{
    const acre_plan *p = a->plan;
    const carrycfg *cfg = p ? acre_plan_config(p, &acre_rule_carryover) : NULL;
    int n = 0;
    if (!a->nlayers)
        return 0;
    if (!p || !p->has_rs)
        return expire(c, a, a->nlayers, a->layer_label, "no_revshare_plan", err);
    if (strcmp(p->plan_id, a->layer_plan_id) != 0)
        return expire(c, a, a->nlayers, a->layer_label, "plan_changed", err);
    if (!cfg || !cfg->carry)
        return expire(c, a, a->nlayers, a->layer_label, "mode_none", err);
    if (cfg->max_periods > 0) {
        /* layers are kept oldest first */
        while (n < a->nlayers && c->period > a->layers[n].origin + cfg->max_periods)
            n++;
        if (n)
            return expire(c, a, n, p->label, "max_periods", err);
    }
    return 0;
}

int acre_carry_on(const acre_plan *p)
{
    const carrycfg *cfg = acre_plan_config(p, &acre_rule_carryover);
    return cfg && cfg->carry;
}

/* An affiliate without a revshare plan can no longer use its deficit; revshare's run expires
 * the others' before it values them. */
static int run(acre_close *c, acre_aff *a, acre_error *err)
{
    if (a->plan && a->plan->has_rs)
        return 0;
    return acre_carry_expire(c, a, err);
}

int acre_carry_apply(acre_close *c, acre_aff *a, const acre_dec *basis, acre_dec *carried_in,
                     acre_dec *adjusted, acre_dec *carried_out)
{
    acre_dec rest;
    acre_dec_set_si(carried_in, 0);
    for (int i = 0; i < a->nlayers; i++)
        acre_dec_add(carried_in, carried_in, &a->layers[i].amount);
    if (!acre_carry_on(a->plan)) {
        acre_dec_set(adjusted, basis);
        acre_dec_set_si(carried_out, 0);
        return 0;
    }
    acre_dec_add(adjusted, basis, carried_in);
    acre_dec_init(&rest);
    if (acre_dec_sgn(basis) < 0) {
        acre_layer *nl = acre_realloc(a->layers, (size_t)(a->nlayers + 1) * sizeof *nl);
        if (!nl) {
            acre_dec_clear(&rest);
            return ACRE_ENOMEM;
        }
        a->layers = nl;
        nl[a->nlayers].origin = c->period;
        acre_dec_init(&nl[a->nlayers].amount);
        acre_dec_set(&nl[a->nlayers].amount, basis);
        a->nlayers++;
    } else if (acre_dec_sgn(basis) > 0) {
        /* positive revenue absorbs the oldest layers first */
        int used = 0;
        acre_dec_set(&rest, basis);
        while (used < a->nlayers && acre_dec_sgn(&rest) > 0) {
            acre_dec_add(&a->layers[used].amount, &a->layers[used].amount, &rest);
            if (acre_dec_sgn(&a->layers[used].amount) >= 0) {
                acre_dec_set(&rest, &a->layers[used].amount);
                acre_dec_clear(&a->layers[used].amount);
                used++;
            } else {
                acre_dec_set_si(&rest, 0);
            }
        }
        if (used) /* a->layers is NULL when there were none */
            memmove(a->layers, a->layers + used, (size_t)(a->nlayers - used) * sizeof *a->layers);
        a->nlayers -= used;
    }
    acre_dec_set_si(carried_out, 0);
    for (int i = 0; i < a->nlayers; i++)
        acre_dec_add(carried_out, carried_out, &a->layers[i].amount);
    snprintf(a->layer_plan_id, sizeof a->layer_plan_id, "%s", a->plan->plan_id);
    snprintf(a->layer_label, sizeof a->layer_label, "%s", a->plan->label);
    acre_dec_clear(&rest);
    return 0;
}

/* ---- verify (engine/verify.c calls it through the table) ---- */

/* A carryover_expired line: it pays nothing; `expired` is the sum of its layers. */
static void verify(acre_vc *v, const json_t *line, const json_t *d, const char *currency,
                   const acre_dec *exact)
{
    static const char *const reasons[] = {"max_periods", "plan_changed", "mode_none",
                                          "no_revshare_plan", NULL};
    const json_t *layers = json_object_get(d, "layers"), *l;
    acre_dec x, sum, zero;
    size_t i;
    int ok = 1;
    (void)line;
    (void)currency;
    acre_dec_init(&x);
    acre_dec_init(&sum);
    acre_dec_init(&zero);
    if (!acre_vc_one_of(acre_vc_str(d, "reason"), reasons))
        acre_vc_bad(v, "detail.reason is missing or unknown");
    acre_vc_same(v, "exact", exact, &zero, "an expired deficit (it pays nothing)");
    if (!json_is_array(layers))
        acre_vc_bad(v, "detail.layers must be an array");
    json_array_foreach(layers, i, l)
    {
        if (acre_vc_num(v, l, "amount", &x))
            ok = 0;
        else
            acre_dec_add(&sum, &sum, &x);
    }
    if (ok && !acre_vc_num(v, d, "expired", &x))
        acre_vc_same(v, "detail.expired", &x, &sum, "the sum of detail.layers[].amount");
    acre_dec_clear(&x);
    acre_dec_clear(&sum);
    acre_dec_clear(&zero);
}

static const acre_line_kind lines[] = {
    {"carryover_expired", "carryover_expired", "Carryover-Expired", 0, verify},
};

const acre_rule_kind acre_rule_carryover = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "carryover",
    .phase = 1,
    .section = NULL, /* it reads revshare.negative_carryover */
    .lines = lines,
    .nlines = 1,
    .parse = parse,
    .free = cfg_free,
    .run = run,
};
