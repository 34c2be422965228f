/* engine/verify.c — `acre verify FILE`: a ledger document checked on its own (SPEC 6).
 *
 * Everything is redone from the document: no store, no plan. Each number a line's detail holds
 * is checked against the others with exact rationals (GMP), the way the rule kinds made it: each
 * line kind's verify hook, next to its kind in rules/, re-derives its lines (this file checks
 * what every line and affiliate has), and each amount against its exact value rounded once.
 * What the document
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
#include "acre/sys/rule.h"
#include "acre/verify.h"
#include "alloc.h"
#include "digest.h"
#include "jsonval.h"
#include "verify_int.h"
#include "verify_util.h"

/* {"scale":N,"mode":"..."} */
static int rounding(acre_vc *v, const json_t *o, int *scale, acre_round *mode)
{
    const json_t *r = json_object_get(o, "rounding"), *sc = json_object_get(r, "scale");
    const char *m = acre_vc_str(r, "mode");
    if (!json_is_integer(sc) || json_integer_value(sc) < 0 || json_integer_value(sc) > 30 || !m ||
        acre_round_parse(mode, m)) {
        acre_vc_bad(
            v, "rounding is missing or not {\"scale\":0..30,\"mode\":\"half_even|half_up|down\"}");
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
static void fixed(acre_vc *v, const json_t *o, const char *key, const acre_dec *value, int scale,
                  acre_round mode, const char *how)
{
    const char *s = acre_vc_str(o, key);
    char *want = acre_dec_format_fixed(value, scale, mode);
    if (!want)
        v->oom = 1;
    if (want && (!s || strcmp(s, want) != 0))
        acre_vc_bad(v, "%s is %s%s%s; %s rounded %s to %d decimals gives %s", key, s ? "\"" : "",
                    s ? s : "missing", s ? "\"" : "", how, mode_name(mode), scale, want);
    free(want);
}

/* ---- the document ---- */

/* The names of the line kinds with `flag`, as a list: "cpa, cpa_over_cap and cpa_clawback". */
static void names_with(char *out, size_t cap, unsigned flag)
{
    int n = 0, total = 0;
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < acre_line_kind_count(); k++)
        total += (acre_line_kind_at(k)->flags & flag) != 0;
    for (int k = 0; k < acre_line_kind_count() && len < cap; k++)
        if (acre_line_kind_at(k)->flags & flag) {
            n++;
            len += (size_t)snprintf(out + len, cap - len, "%s%s",
                                    n == 1       ? ""
                                    : n == total ? " and "
                                                 : ", ",
                                    acre_line_kind_at(k)->name);
        }
}

static int line_key_cmp(int ka, const json_t *a, int kb, const json_t *b)
{
    const char *k[2][3] = {
        {acre_vc_str(a, "plan"), acre_vc_str(a, "customer_id"), acre_vc_str(a, "descendant_id")},
        {acre_vc_str(b, "plan"), acre_vc_str(b, "customer_id"), acre_vc_str(b, "descendant_id")}};
    int c;
    if (ka != kb)
        return ka - kb;
    for (int i = 0; i < 3; i++)
        if ((c = strcmp(k[0][i] ? k[0][i] : "", k[1][i] ? k[1][i] : "")))
            return c;
    return 0;
}

static void affiliate(acre_vc *v, const json_t *a, size_t ai)
{
    const char *id = acre_vc_str(a, "affiliate_id"), *currency = acre_vc_str(a, "currency");
    const json_t *lines = json_object_get(a, "lines"), *l, *prev = NULL;
    acre_dec earned, bf, minp, total, zero, exact, amount;
    acre_round mode;
    int scale, prevkind = 0;
    size_t i, npassed = 0;
    acre_vline *passed = NULL; /* the lines that passed the common checks, then scratch */

    snprintf(v->where, sizeof v->where, "affiliate %s", id ? id : "?");
    if (!id || !currency || !json_is_array(lines)) {
        snprintf(v->where, sizeof v->where, "affiliates[%zu]", ai);
        acre_vc_bad(v, "affiliate_id, currency and lines are required");
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
    if (!(passed = acre_calloc(2 * json_array_size(lines) + 1, sizeof *passed)))
        v->oom = 1;

    json_array_foreach(lines, i, l)
    {
        const char *kind = acre_vc_str(l, "kind"), *plan = acre_vc_str(l, "plan");
        const json_t *d = json_object_get(l, "detail");
        int k = acre_line_kind_find(kind), lscale;
        const acre_line_kind *lk = acre_line_kind_at(k);
        acre_round lmode;
        char names[256];
        snprintf(v->where, sizeof v->where, "affiliate %s, line %zu (%s %s)", id, i + 1,
                 kind ? kind : "?", plan ? plan : "?");
        if (!lk || !plan || !json_is_object(d)) {
            acre_vc_bad(v, "kind must be one of %s … %s, with a plan and a detail object",
                        acre_line_kind_at(0)->name,
                        acre_line_kind_at(acre_line_kind_count() - 1)->name);
            continue;
        }
        if (prev && line_key_cmp(prevkind, prev, k, l) > 0)
            acre_vc_bad(v, "out of order: lines are ordered by kind, plan, customer_id");
        prev = l;
        prevkind = k;
        if (!(lk->flags & ACRE_LINE_CUSTOMER) != !acre_vc_str(l, "customer_id")) {
            names_with(names, sizeof names, ACRE_LINE_CUSTOMER);
            acre_vc_bad(v, "customer_id belongs on %s lines only", names);
        }
        if (!(lk->flags & ACRE_LINE_DESCENDANT) != !acre_vc_str(l, "descendant_id")) {
            names_with(names, sizeof names, ACRE_LINE_DESCENDANT);
            acre_vc_bad(v, "descendant_id belongs on %s lines only", names);
        }
        if (rounding(v, l, &lscale, &lmode) || acre_vc_num(v, l, "exact", &exact))
            continue;
        fixed(v, l, "amount", &exact, lscale, lmode, "exact");
        acre_dec_round(&amount, &exact, lscale, lmode);
        acre_dec_add(&earned, &earned, &amount);
        if (lk->verify)
            lk->verify(v, l, d, currency, &exact);
        if (passed)
            passed[npassed++] = (acre_vline){l, k, (int)i + 1};
    }
    /* the checks across lines, each kind's over its own line kinds */
    for (int r = 0; passed && acre_rule_kinds[r]; r++) {
        const acre_rule_kind *rk = acre_rule_kinds[r];
        int first = acre_line_kind_index(rk, 0);
        acre_vline *mine = passed + npassed;
        size_t n = 0;
        if (!rk->verify_lines || first < 0)
            continue;
        for (size_t p = 0; p < npassed; p++)
            if (passed[p].kind >= first && passed[p].kind < first + rk->nlines)
                mine[n++] = passed[p];
        rk->verify_lines(v, id, mine, n);
    }
    free(passed);

    /* totals (SPEC 5.5): earned = Σ amounts; payable when the total is above 0 and at least
     * min_payout, else carried forward */
    snprintf(v->where, sizeof v->where, "affiliate %s", id);
    fixed(v, a, "earned", &earned, scale, mode, "the sum of the line amounts");
    if (acre_vc_num(v, a, "min_payout", &minp)) {
        /* reported */
    } else if (!acre_vc_str(a, "brought_forward") ||
               acre_vc_parse_q(&bf, acre_vc_str(a, "brought_forward"))) {
        acre_vc_bad(v, "brought_forward is missing or not a number");
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
static void digest(acre_vc *v, const char *doc, size_t len, const char *written)
{
    char got[72];
    v->where[0] = '\0';
    if (!written || acre_ledger_digest(got, doc, len)) {
        acre_vc_bad(v, "the document has no final \"digest\" member");
        return;
    }
    if (strcmp(got, written) != 0)
        acre_vc_bad(v, "the content does not hash to its digest (%s written, %s computed)", written,
                    got);
}

/* Checks doc; with `whole`, also its digest, and ends with a summary line naming `name`.
 * Returns 0, or ACRE_ENOMEM when a check could not be made. */
static int check(const char *doc, size_t len, const char *name, const char *prefix, int whole,
                 FILE *out, int *nbad)
{
    acre_vc v = {out, prefix, "", 0, 0};
    json_error_t je;
    json_t *root, *affs, *a;
    const char *period, *prev, *prev_id = NULL;
    size_t i, nlines = 0;
    acre_error err;

    if (acre_rule_kinds_ready(&err)) {
        acre_vc_bad(&v, "the rule kinds cannot be used: %s", err.message);
        *nbad = v.nbad;
        return 0;
    }

    if (!(root = acre_json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je))) {
        *nbad = 0;
        if (json_error_code(&je) == json_error_out_of_memory)
            return ACRE_ENOMEM;
        acre_vc_bad(&v, "not a JSON document: %s (line %d, column %d)", je.text, je.line,
                    je.column);
        *nbad = v.nbad;
        return 0;
    }
    period = acre_vc_str(root, "period");
    prev = acre_vc_str(root, "previous_digest");
    affs = json_object_get(root, "affiliates");
    if (!json_is_object(root) ||
        !acre_vc_one_of(acre_vc_str(root, "format"),
                        (const char *const[]){"acre-ledger/1", NULL}) ||
        !period || strlen(period) != 7 || period[4] != '-' || !json_is_array(affs)) {
        acre_vc_bad(&v,
                    "not an acre ledger: format \"acre-ledger/1\", a period YYYY-MM and affiliates "
                    "are required");
        json_decref(root);
        *nbad = v.nbad;
        return 0;
    }
    if (!json_is_null(json_object_get(root, "previous_digest")) &&
        (!prev || strncmp(prev, "sha256:", 7) != 0 || strlen(prev) != 71))
        acre_vc_bad(&v, "previous_digest must be null or sha256: and 64 hex digits");
    json_array_foreach(affs, i, a)
    {
        const char *id = acre_vc_str(a, "affiliate_id");
        if (prev_id && id && strcmp(prev_id, id) >= 0) {
            snprintf(v.where, sizeof v.where, "affiliate %s", id);
            acre_vc_bad(&v, "out of order: affiliates are ordered by affiliate_id, each once");
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
    digest(&v, doc, len, acre_vc_str(root, "digest"));
    if (v.nbad)
        fprintf(out, "%s: %s: %d problem%s\n", name, period, v.nbad, v.nbad == 1 ? "" : "s");
    else
        fprintf(out, "%s: %s: ok, %zu affiliates, %zu lines re-derived, digest %s\n", name, period,
                json_array_size(affs), nlines, acre_vc_str(root, "digest"));
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
