/* rules/volume_bonus.c — a monthly volume (milestone) bonus: a fixed amount for a period in
 * which an affiliate's qualified_count reaches a band (docs/plans.md "volume_bonus").
 *
 * qualified_count is SPEC 5.2's: the affiliate's customers who qualify at this close, the count
 * the tier metric uses; qualification counts it earlier in the same phase-1 pass. The amount of
 * the highest band whose `from` the count reaches is paid as one volume_bonus line, rounded once
 * to the plan's scale; below the first band there is no line. Each period stands on its own:
 * nothing is kept for the next close. A volume_bonus line is the affiliate's own commission, so
 * a parent's sub_affiliate share counts it (as it counts cpa and revshare lines), and it is not
 * revenue: the revshare basis never sees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "close.h"
#include "verify_util.h"

extern const acre_rule_kind acre_rule_volume_bonus;

typedef struct vband {
    long from; /* qualified customers, from 1 */
    acre_dec amount;
} vband;

/* volume_bonus.bands, `from` strictly increasing. */
typedef struct vbcfg {
    int n;
    vband bands[ACRE_MAX_BANDS];
} vbcfg;

static int bad(acre_error *err, const char *key, const char *rule, const char *msg)
{
    return acre_error_set(err, ACRE_EINVALID, key, rule, "%s: %s", key, msg);
}

static void cfg_free(void *config)
{
    vbcfg *c = config;
    for (int i = 0; i < c->n; i++)
        acre_dec_clear(&c->bands[i].amount);
    free(c);
}

/* {"bands": [{"from": integer >= 1, "amount": money >= 0}, ...]} */
static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    static const char *const keys[] = {"bands", NULL};
    static const char *const band_keys[] = {"from", "amount", NULL};
    const json_t *s = json_object_get(doc, "volume_bonus"), *bands, *b;
    vbcfg *c;
    size_t i;
    int rc;
    (void)p;

    if (!s)
        return 0;
    if ((rc = acre_plan_keys(s, "volume_bonus", keys, err)))
        return rc;
    bands = json_object_get(s, "bands");
    if (!json_is_array(bands) || json_array_size(bands) == 0)
        return bad(err, "volume_bonus.bands", "required", "must be a non-empty array of bands");
    if (json_array_size(bands) > ACRE_MAX_BANDS)
        return acre_error_set(err, ACRE_EINVALID, "volume_bonus.bands", "too_many",
                              "volume_bonus.bands: at most %d bands", ACRE_MAX_BANDS);
    if (!(c = acre_calloc(1, sizeof *c)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    *config = c;
    json_array_foreach(bands, i, b)
    {
        const json_t *from, *amount;
        vband *band = &c->bands[i];
        char k[64];
        snprintf(k, sizeof k, "volume_bonus.bands[%zu]", i);
        if ((rc = acre_plan_keys(b, k, band_keys, err)))
            return rc;
        acre_dec_init(&band->amount);
        c->n = (int)i + 1;
        snprintf(k, sizeof k, "volume_bonus.bands[%zu].from", i);
        if (!(from = json_object_get(b, "from")))
            return bad(err, k, "required", "is required");
        if ((rc = acre_plan_int(&band->from, from, 1, k, err)))
            return rc;
        if (i > 0 && band->from <= c->bands[i - 1].from)
            return bad(err, k, "increasing", "from values must strictly increase");
        snprintf(k, sizeof k, "volume_bonus.bands[%zu].amount", i);
        if (!(amount = json_object_get(b, "amount")))
            return bad(err, k, "required", "is required");
        if ((rc = acre_plan_money(&band->amount, amount, t, k, err)))
            return rc;
        if (acre_dec_sgn(&band->amount) < 0)
            return bad(err, k, "range", "must not be negative");
    }
    return 0;
}

static int run(acre_close *c, acre_aff *a, acre_error *err)
{
    const acre_plan *p = a->plan;
    const vbcfg *cfg = p ? acre_plan_config(p, &acre_rule_volume_bonus) : NULL;
    const vband *b = NULL;
    acre_line *l;
    char n[32];
    (void)c;

    if (!cfg)
        return 0;
    for (int i = 0; i < cfg->n && cfg->bands[i].from <= a->qualified_count; i++)
        b = &cfg->bands[i];
    if (!b)
        return 0;
    if (!(l = acre_close_line(a, acre_line_kind_index(&acre_rule_volume_bonus, 0), p->label, NULL)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    acre_line_set(l, &b->amount, p->scale, p->mode);
    snprintf(n, sizeof n, "%d", a->qualified_count);
    acre_detail_raw(&l->detail, "qualified_count", n);
    snprintf(n, sizeof n, "%ld", b->from);
    acre_detail_raw(&l->detail, "from", n);
    acre_detail_dec(&l->detail, "amount", &b->amount);
    return 0;
}

/* ---- verify (engine/verify.c calls these through the table) ---- */

/* A volume_bonus line pays its band's amount: exact = detail.amount >= 0, for a count that
 * reaches the band (1 <= from <= qualified_count). Which band the plan has for that count is not
 * in the document. */
static void verify(acre_vc *v, const json_t *line, const json_t *d, const char *currency,
                   const acre_dec *exact)
{
    const json_t *qc = json_object_get(d, "qualified_count"), *from = json_object_get(d, "from");
    acre_dec x;
    (void)line;
    (void)currency;
    if (!json_is_integer(qc) || !json_is_integer(from) || json_integer_value(from) < 1 ||
        json_integer_value(from) > json_integer_value(qc))
        acre_vc_bad(v, "detail.qualified_count and from must be integers with 1 <= from <= "
                       "qualified_count");
    acre_dec_init(&x);
    if (!acre_vc_num(v, d, "amount", &x)) {
        if (acre_dec_sgn(&x) < 0)
            acre_vc_bad(v, "detail.amount must not be negative");
        acre_vc_same(v, "exact", exact, &x, "detail.amount (the band's)");
    }
    acre_dec_clear(&x);
}

/* One volume bonus per affiliate and period. */
static void verify_lines(acre_vc *v, const char *affiliate_id, acre_vline *lines, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        acre_vc_where(v, "affiliate %s, line %d (volume_bonus %s)", affiliate_id, lines[i].number,
                      acre_vc_str(lines[i].line, "plan"));
        acre_vc_bad(v,
                    "a second volume_bonus line (the first is line %d): an affiliate has at "
                    "most one a period",
                    lines[0].number);
    }
}

static const acre_line_kind lines[] = {
    {"volume_bonus", "volume_bonus", "Volume-Bonus", ACRE_LINE_OWN, verify},
};

const acre_rule_kind acre_rule_volume_bonus = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "volume_bonus",
    .phase = 1,
    .section = "volume_bonus",
    .lines = lines,
    .nlines = 1,
    .parse = parse,
    .free = cfg_free,
    .run = run,
    .verify_lines = verify_lines,
};
