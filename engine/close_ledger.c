/* engine/close_ledger.c — a close's totals and its ledger document (SPEC 5.5, 6).
 *
 * After the rule kinds have added their lines: each listed affiliate's lines in ledger order,
 * earned, payable and carried_forward; then the document in its fixed key order, with amounts
 * as fixed-point strings, its digest chained to the previous ledger's (and the keyed mac). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "close_int.h"
#include "digest.h"
#include "ledger_key.h"

static int line_order(const void *x, const void *y)
{
    const acre_line *a = x, *b = y;
    int k;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    if ((k = strcmp(a->plan, b->plan)))
        return k;
    if ((k = strcmp(a->customer_id ? a->customer_id : "", b->customer_id ? b->customer_id : "")))
        return k;
    return strcmp(a->descendant_id ? a->descendant_id : "",
                  b->descendant_id ? b->descendant_id : "");
}

static const char *mode_name(acre_round m)
{
    return m == ACRE_ROUND_HALF_UP ? "half_up" : m == ACRE_ROUND_DOWN ? "down" : "half_even";
}

static void rounding_json(acre_buf *b, int scale, acre_round mode)
{
    char n[12];
    int k = sizeof n;
    unsigned u = scale < 0 ? 0u : (unsigned)scale;
    do {
        n[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    acre_buf_adds(b, ",\"rounding\":{\"scale\":");
    acre_buf_add(b, n + k, sizeof n - (size_t)k);
    acre_buf_adds(b, ",\"mode\":\"");
    acre_buf_adds(b, mode_name(mode));
    acre_buf_adds(b, "\"}");
}

static void fixed(acre_buf *b, const char *key, const acre_dec *v, int scale, acre_round mode)
{
    char *s = acre_dec_format_fixed(v, scale, mode);
    if (!s)
        b->oom = 1;
    acre_buf_printf(b, ",\"%s\":\"%s\"", key, s ? s : "");
    free(s);
}

int acre_close_listed(const acre_aff *a)
{
    return a->plan || a->nlines || acre_dec_sgn(&a->brought_forward);
}

void acre_close_totals(ctx *x)
{
    acre_close *c = &x->c;
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        acre_dec total;
        if (!acre_close_listed(a))
            continue;
        if (a->nlines > 1)
            qsort(a->lines, (size_t)a->nlines, sizeof *a->lines, line_order);
        acre_dec_set_si(&a->earned, 0);
        for (int k = 0; k < a->nlines; k++)
            acre_dec_add(&a->earned, &a->earned, &a->lines[k].amount);
        acre_dec_init(&total);
        acre_dec_add(&total, &a->earned, &a->brought_forward);
        if (acre_dec_sgn(&total) > 0 && acre_dec_cmp(&total, &a->min_payout) >= 0) {
            acre_dec_set(&a->payable, &total);
            acre_dec_set_si(&a->carried_forward, 0);
        } else {
            acre_dec_set_si(&a->payable, 0);
            acre_dec_set(&a->carried_forward, &total);
        }
        acre_dec_clear(&total);
    }
}

int acre_close_write_ledger(ctx *x, acre_buf *b, char digest[72])
{
    acre_close *c = &x->c;
    const char *prev = x->ncloses ? x->closes[x->ncloses - 1].digest : NULL;
    int first = 1;
    char hex[65];

    acre_buf_printf(b, "{\"format\":\"acre-ledger/1\",\"period\":\"%s\",\"previous_digest\":",
                    c->period_text);
    if (prev)
        acre_buf_printf(b, "\"%s\"", prev);
    else
        acre_buf_adds(b, "null");
    acre_buf_adds(b, ",\"affiliates\":[");
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        if (!acre_close_listed(a))
            continue;
        acre_buf_adds(b, first ? "\n{" : ",\n{");
        first = 0;
        acre_detail_str(b, "affiliate_id", a->id);
        acre_detail_str(b, "currency", a->currency);
        acre_detail_str(b, "plan", a->plan ? a->plan->label : NULL);
        acre_buf_printf(b, ",\"rounding\":{\"scale\":%d,\"mode\":\"%s\"}", a->scale,
                        mode_name(a->mode));
        acre_detail_dec(b, "min_payout", &a->min_payout);
        acre_buf_adds(b, ",\"lines\":[");
        for (int k = 0; k < a->nlines; k++) {
            acre_line *l = &a->lines[k];
            char *amount = acre_dec_format_fixed(&l->amount, l->scale, l->mode);
            acre_buf_adds(b, k ? ",\n" : "\n");
            acre_buf_adds(b, "{\"kind\":\"");
            acre_buf_adds(b, acre_line_kind_names[l->kind]);
            acre_buf_adds(b, "\"");
            acre_detail_str(b, "plan", l->plan);
            if (l->customer_id)
                acre_detail_str(b, "customer_id", l->customer_id);
            if (l->descendant_id) {
                acre_detail_str(b, "descendant_id", l->descendant_id);
                acre_buf_printf(b, ",\"depth\":%d", l->depth);
            }
            acre_buf_adds(b, ",\"amount\":\"");
            if (!amount)
                b->oom = 1;
            acre_buf_adds(b, amount ? amount : "");
            acre_buf_adds(b, "\"");
            acre_detail_dec(b, "exact", &l->exact);
            rounding_json(b, l->scale, l->mode);
            acre_buf_adds(b, ",\"detail\":{");
            if (l->detail.p)
                acre_buf_add(b, l->detail.p, l->detail.len);
            acre_buf_adds(b, "}}");
            acre_buf_free(&l->detail); /* held once: in the document from now on */
            free(amount);
        }
        acre_buf_adds(b, "]");
        fixed(b, "earned", &a->earned, a->scale, a->mode);
        fixed(b, "brought_forward", &a->brought_forward, a->scale, a->mode);
        fixed(b, "payable", &a->payable, a->scale, a->mode);
        fixed(b, "carried_forward", &a->carried_forward, a->scale, a->mode);
        acre_buf_adds(b, "}");
    }
    acre_buf_adds(b, "]");
    /* affiliates with records in the period but no plan (SPEC 10), only when there are any, so
     * that a ledger without them reads as before */
    first = 1;
    for (int i = 0; i < c->naffs; i++) {
        const acre_aff *a = &c->affs[i];
        if (!a->unassigned_records)
            continue;
        acre_buf_adds(b, first ? ",\n\"unassigned\":[\n{" : ",\n{");
        first = 0;
        acre_detail_str(b, "affiliate_id", a->id);
        acre_buf_printf(b, ",\"customers\":%d,\"records\":%ld}", a->unassigned_customers,
                        a->unassigned_records);
    }
    acre_buf_adds(b, first ? "}" : "]}");
    if (b->oom)
        return ACRE_ENOMEM;
    acre_sha256_hex(hex, b->p, b->len);
    snprintf(digest, 72, "sha256:%s", hex);
    b->len--; /* drop the closing brace, add the digest (and, with a ledger key, the mac) */
    acre_buf_printf(b, ",\n\"digest\":\"%s\"", digest);
    acre_ledger_mac_add(x->s, b, digest);
    acre_buf_adds(b, "}\n");
    return b->oom ? ACRE_ENOMEM : 0;
}
