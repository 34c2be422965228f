/* engine/payouts.c — what finance pays, from a closed ledger (SPEC 10): each affiliate's totals
 * and status, with its name from the store, as a payout file (csv, json) or the summary table.
 *
 * Every amount is the ledger's own text, or an exact sum of such texts written at their scale:
 * nothing here rounds. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"
#include "acre/ledger.h"
#include "acre/records.h"
#include "alloc.h"
#include "jsonval.h"
#include "payouts.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* ---- names ---- */

typedef struct name_ctx {
    json_t *names;
    int failed; /* out of memory: acre_records_list stops, and this says why */
} name_ctx;

static int one_name(void *ctx, const char *json, size_t len, const char *cursor)
{
    name_ctx *n = ctx;
    json_t *rec;
    json_error_t je;
    (void)cursor;
    /* a stored record is JSON acre wrote: only memory can fail here */
    if (!(rec = acre_json_loadb(json, len, 0, &je)) ||
        (json_is_string(json_object_get(rec, "name")) &&
         json_object_set(n->names, str(rec, "affiliate_id"), json_object_get(rec, "name")))) {
        json_decref(rec);
        n->failed = 1;
        return 1;
    }
    json_decref(rec);
    return 0;
}

int acre_payout_names(acre_store *s, json_t **out, acre_error *err)
{
    acre_list_opts o = {0};
    name_ctx n = {json_object(), 0};
    long total;
    int rc;
    *out = NULL;
    if (!n.names)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    o.limit = LONG_MAX;
    if ((rc = acre_records_list(s, "affiliates", &o, one_name, &n, &total, NULL, err)) ||
        n.failed) {
        json_decref(n.names);
        return rc ? rc : acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    *out = n.names;
    return 0;
}

/* ---- one affiliate's row ---- */

static int decimals(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot ? (int)strlen(dot + 1) : 0;
}

/* The exact sum of texts a and b, at the larger of their scales (new string, or NULL). */
static char *sum_text(const char *a, const char *b)
{
    acre_dec x, y;
    char *s = NULL;
    int scale = decimals(a) > decimals(b) ? decimals(a) : decimals(b);
    acre_dec_init(&x);
    acre_dec_init(&y);
    if (!acre_dec_parse_stored(&x, a, NULL) && !acre_dec_parse_stored(&y, b, NULL)) {
        acre_dec_add(&x, &x, &y);
        s = acre_dec_format_fixed(&x, scale, ACRE_ROUND_HALF_EVEN);
    }
    acre_dec_clear(&x);
    acre_dec_clear(&y);
    return s;
}

/* Text s written with `scale` decimals (it has at most that many: nothing is rounded), or
 * NULL. */
static char *fixed_text(const char *s, int scale)
{
    acre_dec x;
    char *out = NULL;
    acre_dec_init(&x);
    if (!acre_dec_parse_stored(&x, s, NULL))
        out = acre_dec_format_fixed(&x, scale, ACRE_ROUND_HALF_EVEN);
    acre_dec_clear(&x);
    return out;
}

int acre_text_sign(const char *s)
{
    acre_dec x;
    int sgn = 0;
    acre_dec_init(&x);
    if (s && !acre_dec_parse_stored(&x, s, NULL))
        sgn = acre_dec_sgn(&x);
    acre_dec_clear(&x);
    return sgn;
}

int acre_text_columns(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

void acre_text_cell(FILE *out, const char *s, int width, int right)
{
    int pad = width - acre_text_columns(s);
    if (right)
        for (; pad > 0; pad--)
            fputc(' ', out);
    fputs(s, out);
    if (!right)
        for (; pad > 0; pad--)
            fputc(' ', out);
}

void acre_payout_row_free(acre_payout_row *r)
{
    free(r->total);
    free(r->min_payout);
    memset(r, 0, sizeof *r);
}

int acre_payout_fill(acre_payout_row *r, const json_t *aff, const json_t *names)
{
    const json_t *rounding = json_object_get(aff, "rounding");
    const char *min = json_object_get(aff, "min_payout") ? str(aff, "min_payout") : "0";
    int scale = json_is_integer(json_object_get(rounding, "scale"))
                    ? (int)json_integer_value(json_object_get(rounding, "scale"))
                    : decimals(str(aff, "earned"));
    memset(r, 0, sizeof *r);
    r->affiliate_id = str(aff, "affiliate_id");
    r->name = names ? str(names, r->affiliate_id) : "";
    r->currency = str(aff, "currency");
    r->earned = str(aff, "earned");
    r->brought_forward = str(aff, "brought_forward");
    r->payable = str(aff, "payable");
    r->carried_forward = str(aff, "carried_forward");
    /* SPEC 5.5: total = earned + brought_forward, which is payable + carried_forward (one of
     * them is 0): taken so, from what is paid and carried, the row agrees with itself even when
     * plans of two scales round earned and brought_forward apart (SPEC 9) */
    r->total = sum_text(r->payable, r->carried_forward);
    r->min_payout = fixed_text(min, decimals(min) > scale ? decimals(min) : scale);
    if (!r->total || !r->min_payout) {
        acre_payout_row_free(r);
        return ACRE_ENOMEM;
    }
    r->status = acre_text_sign(r->payable) > 0  ? "paid"
                : acre_text_sign(r->total) < 0  ? "negative"
                : acre_text_sign(r->total) == 0 ? "zero"
                                                : "below_min_payout";
    return 0;
}

/* ---- per currency ---- */

typedef struct cur_total {
    char currency[8];
    acre_dec earned, brought_forward, total, payable, carried_forward;
    int scale;
    long affiliates, paid;
} cur_total;

static int by_currency(const void *a, const void *b)
{
    return strcmp(((const cur_total *)a)->currency, ((const cur_total *)b)->currency);
}

static void add_to(acre_dec *sum, const char *text, int *scale)
{
    acre_dec x;
    acre_dec_init(&x);
    if (!acre_dec_parse_stored(&x, text, NULL))
        acre_dec_add(sum, sum, &x);
    acre_dec_clear(&x);
    if (decimals(text) > *scale)
        *scale = decimals(text);
}

static void totals_free(cur_total *t, int n)
{
    for (int i = 0; i < n; i++) {
        acre_dec_clear(&t[i].earned);
        acre_dec_clear(&t[i].brought_forward);
        acre_dec_clear(&t[i].total);
        acre_dec_clear(&t[i].payable);
        acre_dec_clear(&t[i].carried_forward);
    }
    free(t);
}

/* ---- the payout file ---- */

void acre_csv_field(FILE *out, const char *s, int last)
{
    if (s && strpbrk(s, ",\"\n\r")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else if (s) {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

/* A name in the payout file: a spreadsheet takes a cell beginning with = + - @ (or a tab or
 * carriage return) as a formula, so such a name is written after an apostrophe, which the
 * spreadsheet shows as text. */
static void csv_text(FILE *out, const char *s)
{
    if (strchr("=+-@\t\r", s[0]) && s[0]) {
        char *q = acre_malloc(strlen(s) + 2);
        if (q) {
            q[0] = '\'';
            strcpy(q + 1, s);
            acre_csv_field(out, q, 0);
            free(q);
            return;
        }
    }
    acre_csv_field(out, s, 0);
}

static int write_total_json(json_t *list, const cur_total *t)
{
    char *e = acre_dec_format_fixed(&t->earned, t->scale, ACRE_ROUND_HALF_EVEN);
    char *b = acre_dec_format_fixed(&t->brought_forward, t->scale, ACRE_ROUND_HALF_EVEN);
    char *o = acre_dec_format_fixed(&t->total, t->scale, ACRE_ROUND_HALF_EVEN);
    char *p = acre_dec_format_fixed(&t->payable, t->scale, ACRE_ROUND_HALF_EVEN);
    char *c = acre_dec_format_fixed(&t->carried_forward, t->scale, ACRE_ROUND_HALF_EVEN);
    int rc = !e || !b || !o || !p || !c ||
             json_array_append_new(
                 list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "currency",
                                 t->currency, "earned", e, "brought_forward", b, "total", o,
                                 "payable", p, "carried_forward", c, "affiliates",
                                 (json_int_t)t->affiliates, "paid", (json_int_t)t->paid));
    free(e);
    free(b);
    free(o);
    free(p);
    free(c);
    return rc;
}

static int write_total_csv(FILE *out, const cur_total *t)
{
    char *v[5] = {acre_dec_format_fixed(&t->earned, t->scale, ACRE_ROUND_HALF_EVEN),
                  acre_dec_format_fixed(&t->brought_forward, t->scale, ACRE_ROUND_HALF_EVEN),
                  acre_dec_format_fixed(&t->total, t->scale, ACRE_ROUND_HALF_EVEN),
                  acre_dec_format_fixed(&t->payable, t->scale, ACRE_ROUND_HALF_EVEN),
                  acre_dec_format_fixed(&t->carried_forward, t->scale, ACRE_ROUND_HALF_EVEN)};
    int rc = 0;
    for (int i = 0; i < 5; i++)
        rc |= !v[i];
    if (!rc) {
        /* a total's row: no affiliate, "total" for its name, no min_payout, no status */
        acre_csv_field(out, "", 0);
        acre_csv_field(out, "total", 0);
        acre_csv_field(out, t->currency, 0);
        acre_csv_field(out, v[0], 0);
        acre_csv_field(out, v[1], 0);
        acre_csv_field(out, v[2], 0);
        acre_csv_field(out, "", 0);
        acre_csv_field(out, v[3], 0);
        acre_csv_field(out, v[4], 0);
        acre_csv_field(out, "", 1);
    }
    for (int i = 0; i < 5; i++)
        free(v[i]);
    return rc;
}

static int payouts(FILE *out, const json_t *doc, const json_t *names, const char *only, int json,
                   acre_error *err)
{
    const json_t *affs = json_object_get(doc, "affiliates"), *a;
    cur_total *tot = NULL;
    json_t *rows = json ? json_array() : NULL, *totals = json ? json_array() : NULL;
    int ntot = 0, rc = 0;
    size_t i;

    if (json && (!rows || !totals))
        rc = ACRE_ENOMEM;
    if (!json)
        fputs("affiliate_id,name,currency,earned,brought_forward,total,min_payout,payable,"
              "carried_forward,status\n",
              out);
    json_array_foreach(affs, i, a)
    {
        acre_payout_row r;
        cur_total *t = NULL;
        if (only && strcmp(str(a, "affiliate_id"), only) != 0)
            continue;
        if (rc || (rc = acre_payout_fill(&r, a, names)))
            break;
        for (int k = 0; k < ntot && !t; k++)
            if (strcmp(tot[k].currency, r.currency) == 0)
                t = &tot[k];
        if (!t) {
            cur_total *g = realloc(tot, (size_t)(ntot + 1) * sizeof *tot);
            if (!g) {
                acre_payout_row_free(&r);
                rc = ACRE_ENOMEM;
                break;
            }
            tot = g;
            t = &tot[ntot++];
            memset(t, 0, sizeof *t);
            snprintf(t->currency, sizeof t->currency, "%s", r.currency);
            acre_dec_init(&t->earned);
            acre_dec_init(&t->brought_forward);
            acre_dec_init(&t->total);
            acre_dec_init(&t->payable);
            acre_dec_init(&t->carried_forward);
        }
        add_to(&t->earned, r.earned, &t->scale);
        add_to(&t->brought_forward, r.brought_forward, &t->scale);
        add_to(&t->total, r.total, &t->scale);
        add_to(&t->payable, r.payable, &t->scale);
        add_to(&t->carried_forward, r.carried_forward, &t->scale);
        t->affiliates++;
        t->paid += strcmp(r.status, "paid") == 0;
        if (json) {
            rc = json_array_append_new(
                     rows,
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "affiliate_id",
                               r.affiliate_id, "name", r.name, "currency", r.currency, "earned",
                               r.earned, "brought_forward", r.brought_forward, "total", r.total,
                               "min_payout", r.min_payout, "payable", r.payable, "carried_forward",
                               r.carried_forward, "status", r.status))
                     ? ACRE_ENOMEM
                     : 0;
        } else {
            acre_csv_field(out, r.affiliate_id, 0);
            csv_text(out, r.name);
            acre_csv_field(out, r.currency, 0);
            acre_csv_field(out, r.earned, 0);
            acre_csv_field(out, r.brought_forward, 0);
            acre_csv_field(out, r.total, 0);
            acre_csv_field(out, r.min_payout, 0);
            acre_csv_field(out, r.payable, 0);
            acre_csv_field(out, r.carried_forward, 0);
            acre_csv_field(out, r.status, 1);
        }
        acre_payout_row_free(&r);
    }
    if (ntot > 1)
        qsort(tot, (size_t)ntot, sizeof *tot, by_currency);
    for (int k = 0; k < ntot && !rc; k++)
        rc = (json ? write_total_json(totals, &tot[k]) : write_total_csv(out, &tot[k]))
                 ? ACRE_ENOMEM
                 : 0;
    if (json && !rc) {
        json_t *o =
            json_pack("{s:s, s:O, s:O, s:O}", "period", str(doc, "period"), "digest",
                      json_object_get(doc, "digest") ? json_object_get(doc, "digest") : json_null(),
                      "affiliates", rows, "totals", totals);
        if (!o || json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER))
            rc = ACRE_ENOMEM;
        else
            fputc('\n', out);
        json_decref(o);
    }
    json_decref(rows);
    json_decref(totals);
    totals_free(tot, ntot);
    return rc ? acre_error_set(err, rc, NULL, NULL, "out of memory") : 0;
}

int acre_payouts_write(FILE *out, acre_store *s, const char *ledger, const char *format,
                       const char *only, acre_error *err)
{
    json_error_t je;
    json_t *doc, *names = NULL;
    int rc;

    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
        return acre_error_set(err, ACRE_EUSAGE, "format", "format",
                              "unknown payouts format %s (csv or json)", format);
    if (!(doc = acre_json_loadb(ledger, strlen(ledger), 0, &je))) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        return acre_error_set(err, ACRE_ERROR, NULL, "ledger", "the ledger cannot be read: %s",
                              je.text);
    }
    if (s && (rc = acre_payout_names(s, &names, err))) {
        json_decref(doc);
        return rc;
    }
    rc = payouts(out, doc, names, only, format[0] == 'j', err);
    json_decref(names);
    json_decref(doc);
    return rc;
}
