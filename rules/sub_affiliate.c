/* rules/sub_affiliate.c — a share of each descendant's own commission (SPEC 5.4). Runs in
 * phase 2, after every affiliate's own lines exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "close.h"
#include "verify_util.h"

extern const acre_rule_kind acre_rule_sub_affiliate;

#define MAX_LEVELS 8

/* sub_affiliate.levels: the rate for each depth, from 1. */
typedef struct subcfg {
    int nlevels;
    acre_dec levels[MAX_LEVELS];
    char *level_text[MAX_LEVELS]; /* as written, for the ledger */
} subcfg;

static void cfg_free(void *config)
{
    subcfg *c = config;
    for (int i = 0; i < c->nlevels; i++) {
        acre_dec_clear(&c->levels[i]);
        free(c->level_text[i]);
    }
    free(c);
}

static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    static const char *const keys[] = {"levels", NULL};
    const json_t *s = json_object_get(doc, "sub_affiliate"), *v, *x;
    subcfg *c;
    size_t i;
    int rc;
    (void)p;
    if (!s)
        return 0;
    if ((rc = acre_plan_keys(s, "sub_affiliate", keys, err)))
        return rc;
    v = json_object_get(s, "levels");
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > MAX_LEVELS)
        return acre_error_set(err, ACRE_EINVALID, "sub_affiliate.levels", "required",
                              "sub_affiliate.levels: must be an array of 1 to %d rates",
                              MAX_LEVELS);
    if (!(c = acre_calloc(1, sizeof *c)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    *config = c;
    json_array_foreach((json_t *)v, i, x) {
        char key[64];
        snprintf(key, sizeof key, "sub_affiliate.levels[%zu]", i);
        acre_dec_init(&c->levels[i]);
        c->nlevels = (int)i + 1;
        if ((rc = acre_plan_rate(&c->levels[i], &c->level_text[i], x, t, key, err)))
            return rc;
    }
    return 0;
}

typedef struct desc {
    int aff, depth;
} desc;

static int by_id(const void *x, const void *y, void *ctx)
{
    const acre_close *c = ctx;
    return strcmp(c->affs[((const desc *)x)->aff].id, c->affs[((const desc *)y)->aff].id);
}

static int run(acre_close *c, acre_aff *a, acre_error *err)
{
    const acre_plan *p = a->plan;
    const subcfg *cfg = p ? acre_plan_config(p, &acre_rule_sub_affiliate) : NULL;
    desc *d = NULL;
    int n = 0, cap = 0, head = 0, rc = 0;
    unsigned own = 0; /* the line kinds that are an affiliate's own commission, as bits */
    acre_dec e, conv, x;

    if (!cfg)
        return 0;
    for (int k = 0; k < acre_line_kind_count(); k++)
        if (acre_line_kind_at(k)->flags & ACRE_LINE_OWN)
            own |= 1u << k;
    /* breadth first over current parent links, down to the deepest level paid */
    for (int i = 0; i < a->nchildren; i++) {
        if (n == cap && !(d = acre_realloc(d, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *d)))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        d[n++] = (desc){a->children[i], 1};
    }
    while (head < n) {
        desc cur = d[head++];
        if (cur.depth >= cfg->nlevels)
            continue;
        for (int i = 0; i < c->affs[cur.aff].nchildren; i++) {
            if (n == cap && !(d = acre_realloc(d, (size_t)(cap = cap * 2) * sizeof *d)))
                return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            d[n++] = (desc){c->affs[cur.aff].children[i], cur.depth + 1};
        }
    }
    for (int i = 1; i < n; i++) { /* by descendant_id; descendants are few */
        desc t = d[i];
        int j = i;
        while (j > 0 && by_id(&d[j - 1], &t, c) > 0) {
            d[j] = d[j - 1];
            j--;
        }
        d[j] = t;
    }
    acre_dec_init(&e);
    acre_dec_init(&conv);
    acre_dec_init(&x);
    for (int i = 0; i < n; i++) {
        acre_aff *ch = &c->affs[d[i].aff];
        int any = 0;
        acre_line *l;
        acre_dec_set_si(&e, 0);
        for (int k = 0; k < ch->nlines; k++) {
            if (own & (1u << ch->lines[k].kind)) {
                acre_dec_add(&e, &e, &ch->lines[k].amount);
                any = 1;
            }
        }
        if (!any)
            continue;
        /* E <= 0 pays nothing and needs no rate */
        if (acre_dec_sgn(&e) > 0)
            acre_close_convert_dec(c, &conv, &e, ch->currency, c->last_day, a->currency);
        else
            acre_dec_set_si(&conv, 0);
        acre_dec_mul(&x, &conv, &cfg->levels[d[i].depth - 1]);
        if (!(l = acre_close_line(a, acre_line_kind_index(&acre_rule_sub_affiliate, 0), p->label,
                                  NULL))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
        l->descendant_id = ch->id;
        l->depth = d[i].depth;
        acre_line_set(l, &x, p->scale, p->mode);
        acre_detail_dec(&l->detail, "descendant_earned", &e);
        acre_detail_str(&l->detail, "descendant_currency", ch->currency);
        acre_detail_dec(&l->detail, "converted", &conv);
        acre_detail_str(&l->detail, "level", cfg->level_text[d[i].depth - 1]);
    }
    acre_dec_clear(&e);
    acre_dec_clear(&conv);
    acre_dec_clear(&x);
    free(d);
    return rc;
}

/* ---- verify (engine/verify.c calls it through the table) ---- */

/* A sub_affiliate line: level × max(0, converted), and converted as far as one document can
 * tell (the rate itself is not in it). */
static void verify(acre_vc *v, const json_t *l, const json_t *d, const char *currency,
                   const acre_dec *exact)
{
    const json_t *depth = json_object_get(l, "depth");
    const char *dc = acre_vc_str(d, "descendant_currency");
    acre_dec e, conv, level, x;
    int failed;
    acre_dec_init(&e);
    acre_dec_init(&conv);
    acre_dec_init(&level);
    acre_dec_init(&x);
    if (!acre_vc_str(l, "descendant_id") || !json_is_integer(depth) ||
        json_integer_value(depth) < 1)
        acre_vc_bad(v, "a sub_affiliate line needs descendant_id and a depth of 1 or more");
    /* all three are read (each reports its own problem) before any is used */
    failed = acre_vc_num(v, d, "descendant_earned", &e) != 0;
    failed |= acre_vc_num(v, d, "converted", &conv) != 0;
    failed |= acre_vc_rate(v, d, "level", &level) != 0;
    if (!failed) {
        if (acre_dec_sgn(&e) <= 0)
            acre_vc_same(v, "detail.converted", &conv, &x,
                         "a descendant_earned of 0 or less (it pays nothing and is not converted)");
        else if (dc && currency && strcmp(dc, currency) == 0)
            acre_vc_same(v, "detail.converted", &conv, &e,
                         "detail.descendant_earned in the same currency");
        else if (acre_dec_sgn(&conv) <= 0)
            acre_vc_bad(v, "detail.converted must be above 0 when descendant_earned is");
        if (acre_dec_sgn(&conv) > 0)
            acre_dec_mul(&x, &level, &conv);
        acre_vc_same(v, "exact", exact, &x, "level × max(0, converted)");
    }
    acre_dec_clear(&e);
    acre_dec_clear(&conv);
    acre_dec_clear(&level);
    acre_dec_clear(&x);
}

static const acre_line_kind lines[] = {
    {"sub_affiliate", "sub_affiliate", "Sub-Affiliate", ACRE_LINE_DESCENDANT, verify},
};

const acre_rule_kind acre_rule_sub_affiliate = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "sub_affiliate",
    .phase = 2,
    .section = "sub_affiliate",
    .lines = lines,
    .nlines = 1,
    .parse = parse,
    .free = cfg_free,
    .run = run,
};
