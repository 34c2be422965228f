/* engine/statement.c — the statement finance sends an affiliate for a closed period (SPEC 10):
 * each ledger line with its detail (per customer: GGR, deductions, late contributions; the
 * CPA's first deposit and qualification), carryover in and out, sub-affiliate earnings, the
 * totals and the payout status, and the affiliate's last 12 closed periods; as text, or as one
 * self-contained HTML file (print CSS, an inline SVG chart), printable to PDF.
 *
 * Every figure is the ledger's text. A value with no finite decimal form (p/q) is shown as
 * "≈" and four decimals, with the exact fraction beside it in HTML. The chart's bar heights
 * are exact sums scaled in integers: no floating point. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"
#include "acre/ledger.h"
#include "alloc.h"
#include "chart.h"
#include "jsonval.h"
#include "payouts.h"

#define HISTORY 12

typedef struct period_row {
    char period[8];
    char *earned, *payable, *carried; /* NULL: the affiliate is not in that ledger */
} period_row;

typedef struct statement {
    json_t *doc;         /* the period's ledger */
    const json_t *aff;   /* the affiliate's entry in it */
    json_t *names;       /* affiliate_id -> name */
    acre_payout_row pay; /* totals and status */
    period_row hist[HISTORY];
    int nhist;
    int html;
    int oom; /* an allocation failed while writing: the output is cut, the call fails */
    FILE *out;
} statement;

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* ---- what is shown ---- */

static const char *kind_title(const char *kind)
{
    static const char *const t[][2] = {{"cpa", "CPA"},
                                       {"cpa_over_cap", "CPA over the cap (not paid)"},
                                       {"cpa_clawback", "CPA clawed back"},
                                       {"revshare", "Revenue share"},
                                       {"carryover_expired", "Carryover expired"},
                                       {"sub_affiliate", "Sub-affiliate earnings"},
                                       {"volume_bonus", "Volume bonus"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(kind, t[i][0]) == 0)
            return t[i][1];
    return kind;
}

/* A detail key as a person reads it (unknown keys: underscores as spaces). */
static void label(char *out, size_t n, const char *key)
{
    static const char *const t[][2] = {{"qualified_at", "qualified"},
                                       {"ftd_transaction_id", "first deposit"},
                                       {"ftd_amount", "first deposit amount"},
                                       {"ggr", "GGR"},
                                       {"net_revenue", "net revenue"},
                                       {"basis_kind", "basis from"},
                                       {"admin_fee", "admin fee"},
                                       {"carried_in", "carried in"},
                                       {"carried_out", "carried out"},
                                       {"descendant_earned", "sub-affiliate earned"},
                                       {"descendant_currency", "in"},
                                       {"paid_in", "paid in"},
                                       {"paid_amount", "paid"},
                                       {"customer_id", "customer"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(key, t[i][0]) == 0) {
            snprintf(out, n, "%s", t[i][1]);
            return;
        }
    snprintf(out, n, "%s", key);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = ' ';
}

/* Whether a detail value of `key` is a number (an ID or a rule may hold a "/" too). */
static int numeric(const char *key)
{
    static const char *const text[] = {"rule",
                                       "reason",
                                       "record",
                                       "method",
                                       "basis_kind",
                                       "carryover",
                                       "descendant_currency",
                                       "paid_in",
                                       "qualified_at",
                                       "date",
                                       "period",
                                       "plan",
                                       NULL};
    size_t n = strlen(key);
    if (n >= 3 && strcmp(key + n - 3, "_id") == 0)
        return 0;
    for (int i = 0; text[i]; i++)
        if (strcmp(key, text[i]) == 0)
            return 0;
    return 1;
}

/* A fraction p/q as acre writes one ("-3175/27") */
static int fraction(const char *v)
{
    const char *p = v + (*v == '-');
    size_t a = strspn(p, "0123456789");
    return a && p[a] == '/' && strspn(p + a + 1, "0123456789") == strlen(p + a + 1) && p[a + 1];
}

/* A value for people: as it is, or "≈" and 4 decimals for a fraction (new string). */
static char *shown(const char *v)
{
    acre_dec x;
    char *f, *s;
    if (!fraction(v))
        return acre_strdup(v);
    acre_dec_init(&x);
    f = acre_dec_parse_stored(&x, v, NULL) ? NULL
                                           : acre_dec_format_fixed(&x, 4, ACRE_ROUND_HALF_EVEN);
    acre_dec_clear(&x);
    if (!f)
        return acre_strdup(v);
    s = acre_malloc(strlen(f) + 4);
    if (s)
        sprintf(s, "\xe2\x89\x88%s", f); /* ≈ */
    free(f);
    return s;
}

static void esc(FILE *out, const char *s, int html)
{
    if (html) {
        acre_markup_text(out, s);
        return;
    }
    /* a name's line break or tab would start a line of the document of its own */
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
}

/* A value of `key`: shown (a number's fraction as decimals), and in HTML with the exact
 * fraction as its title. */
static void value(statement *st, const char *key, const json_t *v)
{
    char buf[32];
    const char *text = json_string_value(v);
    char *s;
    if (!text) {
        if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else
            snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "");
        text = buf;
    }
    if (!(s = numeric(key) ? shown(text) : acre_strdup(text)))
        st->oom = 1;
    if (st->html && numeric(key) && fraction(text)) {
        fputs("<span title=\"exactly ", st->out);
        esc(st->out, text, 1);
        fputs("\">", st->out);
        esc(st->out, s ? s : text, 1);
        fputs("</span>", st->out);
    } else {
        esc(st->out, s ? s : text, st->html);
    }
    free(s);
}

/* ---- a line ---- */

/* A table of an array of objects (bands, customers, layers): a column per key of the first
 * object but nested arrays, which ("late") become rows of their own under their row. */
static void table(statement *st, const char *key, const json_t *rows)
{
    const json_t *first = json_array_get(rows, 0), *row, *v;
    const char *k;
    char lab[64];
    size_t i, ncol = 0;
    FILE *out = st->out;
    if (!json_is_object(first))
        return;
    label(lab, sizeof lab, key);
    if (st->html) {
        fprintf(out, "<table class=\"detail\"><caption>%s</caption><tr>", lab);
        json_object_foreach((json_t *)first, k, v)
        {
            if (json_is_array(v))
                continue;
            label(lab, sizeof lab, k);
            fprintf(out, "<th>%s</th>", lab);
            ncol++;
        }
        fputs("</tr>\n", out);
    } else {
        fprintf(out, "    %s:\n", lab);
    }
    json_array_foreach(rows, i, row)
    {
        const json_t *late = NULL;
        size_t j;
        const json_t *l;
        fputs(st->html ? "<tr>" : "     ", out);
        json_object_foreach((json_t *)row, k, v)
        {
            if (json_is_array(v)) {
                late = v;
                continue;
            }
            if (st->html) {
                fputs("<td>", out);
                value(st, k, v);
                fputs("</td>", out);
            } else {
                label(lab, sizeof lab, k);
                fprintf(out, " %s ", lab);
                value(st, k, v);
            }
        }
        fputs(st->html ? "</tr>\n" : "\n", out);
        json_array_foreach(late, j, l)
        {
            const char *lk;
            const json_t *lv;
            if (st->html)
                fprintf(out, "<tr class=\"late\"><td colspan=\"%zu\">late: ", ncol);
            else
                fputs("        late:", out);
            json_object_foreach((json_t *)l, lk, lv)
            {
                if (strcmp(lk, "key") == 0 || json_is_array(lv) || json_is_object(lv))
                    continue;
                label(lab, sizeof lab, lk);
                fprintf(out, " %s ", lab);
                value(st, lk, lv);
            }
            fputs(st->html ? "</td></tr>\n" : "\n", out);
        }
    }
    if (st->html)
        fputs("</table>\n", out);
}

/* Whether the line's exact value differs from its rounded amount. */
static int rounded(const json_t *l)
{
    acre_dec a, e;
    int differ;
    acre_dec_init(&a);
    acre_dec_init(&e);
    differ = acre_dec_parse_stored(&a, str(l, "amount"), NULL) ||
             acre_dec_parse_stored(&e, str(l, "exact"), NULL) || acre_dec_cmp(&a, &e) != 0;
    acre_dec_clear(&a);
    acre_dec_clear(&e);
    return differ;
}

static void line(statement *st, const json_t *l)
{
    const json_t *detail = json_object_get(l, "detail"), *v;
    const char *k, *who = json_object_get(l, "customer_id")     ? str(l, "customer_id")
                          : json_object_get(l, "descendant_id") ? str(l, "descendant_id")
                                                                : "";
    /* a sub-affiliate is named; a customer has no name (its ID is not an affiliate's) */
    const char *name = json_object_get(l, "descendant_id") ? str(st->names, who) : "";
    FILE *out = st->out;
    char lab[64];
    int any = 0, col = 0;

    if (st->html) {
        fputs("<section class=\"line\"><h3><span>", out);
        esc(out, kind_title(str(l, "kind")), 1);
        if (*who) {
            fputs(" \xe2\x80\x94 ", out); /* — */
            esc(out, who, 1);
            if (*name) {
                fputs(" (", out);
                esc(out, name, 1);
                fputs(")", out);
            }
        }
        fputs("</span><span class=\"amount\">", out);
        esc(out, str(l, "amount"), 1);
        fputs("</span></h3>\n<p class=\"plan\">plan ", out);
        esc(out, str(l, "plan"), 1);
        if (rounded(l)) {
            fputs("; exactly ", out);
            value(st, "exact", json_object_get(l, "exact"));
        }
        fputs("</p>\n<dl>", out);
    } else {
        /* the heading whole (an ID may be 500 characters), the amount at column 59 or after */
        int cols = acre_text_columns(kind_title(str(l, "kind"))) +
                   (*who ? 2 + acre_text_columns(who) : 0) +
                   (*name ? 3 + acre_text_columns(name) : 0);
        fprintf(out, "  %s%s", kind_title(str(l, "kind")), *who ? ", " : "");
        esc(out, who, 0);
        if (*name) {
            fputs(" (", out);
            esc(out, name, 0);
            fputc(')', out);
        }
        fprintf(out, "%*s %14s\n", cols < 56 ? 56 - cols : 0, "", str(l, "amount"));
        fputs("    plan ", out);
        esc(out, str(l, "plan"), 0);
        if (rounded(l)) {
            fputs("; exactly ", out);
            value(st, "exact", json_object_get(l, "exact"));
        }
        fputc('\n', out);
    }
    json_object_foreach((json_t *)detail, k, v)
    {
        if (json_is_array(v) || json_is_object(v))
            continue;
        label(lab, sizeof lab, k);
        if (st->html) {
            fprintf(out, "<dt>%s</dt><dd>", lab);
            value(st, k, v);
            fputs("</dd>", out);
        } else {
            /* "label value" items, "; " between, wrapped before column 96 */
            char *s = !json_is_string(v) ? NULL
                      : numeric(k)       ? shown(json_string_value(v))
                                         : acre_strdup(json_string_value(v));
            char num[32] = "";
            int w;
            if (json_is_string(v) && !s)
                st->oom = 1;
            if (!json_is_string(v))
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            w = acre_text_columns(lab) + 1 + acre_text_columns(s ? s : num);
            if (any && col + 2 + w > 96) {
                fputs(";\n    ", out);
                col = 4;
            } else {
                fputs(any ? "; " : "    ", out);
                col += any ? 2 : 4;
            }
            fprintf(out, "%s ", lab);
            esc(out, s ? s : num, 0);
            col += w;
            free(s);
            any = 1;
        }
    }
    fputs(st->html ? "</dl>\n" : any ? "\n" : "", out);
    json_object_foreach((json_t *)detail, k, v)
    {
        if (json_is_array(v) && json_array_size(v))
            table(st, k, v);
    }
    if (st->html)
        fputs("</section>\n", out);
}

/* ---- the totals and the history ---- */

static const char *status_text(const char *status)
{
    return strcmp(status, "paid") == 0 ? "paid: the total is at least the minimum payout"
           : strcmp(status, "negative") == 0
               ? "negative: carried to the next period, set against later earnings"
           : strcmp(status, "zero") == 0 ? "nothing to pay"
                                         : "below the minimum payout: carried to the next period";
}

static void totals(statement *st)
{
    const acre_payout_row *p = &st->pay;
    const char *rows[][2] = {{"earned", p->earned},   {"brought forward", p->brought_forward},
                             {"total", p->total},     {"minimum payout", p->min_payout},
                             {"payable", p->payable}, {"carried forward", p->carried_forward}};
    FILE *out = st->out;
    if (st->html)
        fputs("<h2>Totals</h2>\n<table class=\"totals\">\n", out);
    else
        fputs("\nTotals\n", out);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (st->html)
            fprintf(out, "<tr><th>%s</th><td class=\"amount\">%s %s</td></tr>\n", rows[i][0],
                    rows[i][1], p->currency);
        else
            fprintf(out, "  %-56s %14s %s\n", rows[i][0], rows[i][1], p->currency);
    if (st->html)
        fprintf(out, "<tr class=\"status\"><th>status</th><td>%s</td></tr>\n</table>\n",
                status_text(p->status));
    else
        fprintf(out, "  status: %s\n", status_text(p->status));
}

/* The bar of the decimal text v (NULL: none) in a plot whose values span `span` over `px`
 * pixels (acre_chart_px). */
static long bar_px(const char *v, const acre_dec *span, long px, int *oom)
{
    acre_dec x;
    long n = 0;
    acre_dec_init(&x);
    if (v && !acre_dec_parse_stored(&x, v, NULL))
        n = acre_chart_px(&x, span, px, oom);
    acre_dec_clear(&x);
    return n;
}

/* The largest of the values above 0 and the largest magnitude below 0 of the history. */
static void extremes(const statement *st, acre_dec *pos, acre_dec *neg)
{
    acre_dec x;
    acre_dec_init(&x);
    acre_dec_set_si(pos, 0);
    acre_dec_set_si(neg, 0);
    for (int i = 0; i < st->nhist; i++) {
        const char *v[2] = {st->hist[i].earned, st->hist[i].payable};
        for (int k = 0; k < 2; k++) {
            if (!v[k] || acre_dec_parse_stored(&x, v[k], NULL))
                continue;
            if (acre_dec_sgn(&x) > 0 && acre_dec_cmp(&x, pos) > 0)
                acre_dec_set(pos, &x);
            if (acre_dec_sgn(&x) < 0) {
                acre_dec_neg(&x, &x);
                if (acre_dec_cmp(&x, neg) > 0)
                    acre_dec_set(neg, &x);
            }
        }
    }
    acre_dec_clear(&x);
}

/* The SVG chart: per period an earned and a payable bar, from a zero line. */
static void chart(statement *st)
{
    enum { W = 720, H = 220, LEFT = 10, TOP = 20, PLOT = 160 };
    acre_dec pos, neg, span;
    long slot = st->nhist ? (W - 2 * LEFT) / st->nhist : W, bar = slot * 35 / 100, zero;
    FILE *out = st->out;
    acre_dec_init(&pos);
    acre_dec_init(&neg);
    acre_dec_init(&span);
    extremes(st, &pos, &neg);
    acre_dec_add(&span, &pos, &neg);
    {
        /* the zero line: as far down the plot as the largest value above 0 reaches */
        char *p = acre_dec_format(&pos);
        if (!p)
            st->oom = 1;
        zero = TOP + (acre_dec_sgn(&span) > 0 ? bar_px(p, &span, PLOT, &st->oom) : PLOT);
        free(p);
    }
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\" role=\"img\" aria-label=\"earned and payable, last %d closed "
            "periods\">\n",
            W, H, W, H, st->nhist);
    fprintf(out, "<line x1=\"%d\" y1=\"%ld\" x2=\"%d\" y2=\"%ld\" class=\"axis\"/>\n", LEFT, zero,
            W - LEFT, zero);
    for (int i = 0; i < st->nhist; i++) {
        const period_row *r = &st->hist[i];
        const char *v[2] = {r->earned, r->payable};
        long x = LEFT + i * slot + slot / 2 - bar;
        for (int k = 0; k < 2; k++) {
            long h = bar_px(v[k], &span, PLOT, &st->oom);
            if (!v[k])
                continue;
            fprintf(out,
                    "<rect x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\" class=\"%s\">"
                    "<title>%s %s: %s</title></rect>\n",
                    x + k * bar, acre_text_sign(v[k]) < 0 ? zero : zero - h, bar, h,
                    k ? "payable" : "earned", r->period, k ? "payable" : "earned", v[k]);
        }
        fprintf(out, "<text x=\"%ld\" y=\"%d\" class=\"period\">%s</text>\n",
                LEFT + i * slot + slot / 2, H - 8, r->period);
    }
    fputs("</svg>\n<p class=\"legend\"><span class=\"key earned\"></span> earned "
          "<span class=\"key payable\"></span> payable</p>\n",
          out);
    acre_dec_clear(&pos);
    acre_dec_clear(&neg);
    acre_dec_clear(&span);
}

static void history(statement *st)
{
    FILE *out = st->out;
    if (st->html) {
        fprintf(out, "<h2>The last %d closed periods</h2>\n", st->nhist);
        chart(st);
        fputs("<table class=\"history\"><tr><th>period</th><th>earned</th><th>payable</th>"
              "<th>carried forward</th></tr>\n",
              out);
    } else {
        fprintf(out, "\nThe last %d closed periods\n  %-8s %14s %14s %16s\n", st->nhist, "period",
                "earned", "payable", "carried forward");
    }
    for (int i = 0; i < st->nhist; i++) {
        const period_row *r = &st->hist[i];
        if (st->html)
            fprintf(out,
                    "<tr><td>%s</td><td class=\"amount\">%s</td><td class=\"amount\">%s</td>"
                    "<td class=\"amount\">%s</td></tr>\n",
                    r->period, r->earned ? r->earned : "", r->payable ? r->payable : "",
                    r->carried ? r->carried : "");
        else
            fprintf(out, "  %-8s %14s %14s %16s\n", r->period, r->earned ? r->earned : "-",
                    r->payable ? r->payable : "-", r->carried ? r->carried : "-");
    }
    if (st->html)
        fputs("</table>\n", out);
}

static const char css[] =
    "body{font:11pt/1.4 sans-serif;color:#111;max-width:52em;margin:2em auto;padding:0 1em}"
    "h1{font-size:16pt;margin-bottom:.2em}h2{font-size:13pt;margin-top:1.6em;"
    "border-bottom:1px solid #999}h3{font-size:11pt;display:flex;justify-content:space-between;"
    "margin:.8em 0 .2em}.meta,.plan{color:#444;margin:.1em 0}.amount{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}dl{display:flex;flex-wrap:wrap;"
    "margin:.2em 0}dt{color:#555;margin-right:.3em}dd{margin:0 1.2em 0 0}table{border-collapse:"
    "collapse;margin:.4em 0}th,td{padding:.15em .6em;border-bottom:1px solid #ddd;text-align:"
    "left}caption{text-align:left;color:#555}tr.late td{color:#555;font-size:10pt}"
    ".totals th{font-weight:normal}.totals tr.status td{font-weight:bold}svg .earned,.key.earned"
    "{fill:#1f4e79;background:#1f4e79}svg .payable,.key.payable{fill:#5b9e3a;background:#5b9e3a}"
    "svg .axis{stroke:#333}svg .period{font-size:10px;text-anchor:middle;fill:#333}"
    ".key{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}"
    "section.line{break-inside:avoid}@media print{body{margin:0;max-width:none}"
    "h2{break-after:avoid}}@page{size:A4;margin:18mm}";

static void document(statement *st)
{
    const char *id = str(st->aff, "affiliate_id"), *name = str(st->names, id);
    const json_t *lines = json_object_get(st->aff, "lines"), *l;
    FILE *out = st->out;
    size_t i;
    if (st->html) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", out);
        fprintf(out, "Statement %s, ", str(st->doc, "period"));
        esc(out, *name ? name : id, 1);
        fprintf(out,
                "</title>\n<style>%s</style></head><body>\n<h1>Statement %s</h1>\n<p "
                "class=\"meta\">",
                css, str(st->doc, "period"));
        esc(out, name, 1);
        fputs(*name ? " (" : "", out);
        esc(out, id, 1);
        fprintf(out, "%s; currency %s; plan ", *name ? ")" : "", str(st->aff, "currency"));
        esc(out, str(st->aff, "plan"), 1);
        fprintf(out, "</p>\n<p class=\"meta\">ledger %s</p>\n<h2>Lines</h2>\n",
                str(st->doc, "digest"));
    } else {
        fprintf(out, "Statement %s: ", str(st->doc, "period"));
        esc(out, name, 0);
        fputs(*name ? " (" : "", out);
        esc(out, id, 0);
        fputs(*name ? ")\n" : "\n", out);
        fprintf(out, "currency %s; plan ", str(st->aff, "currency"));
        esc(out, str(st->aff, "plan"), 0);
        fprintf(out, "; ledger %s\n\nLines\n", str(st->doc, "digest"));
    }
    json_array_foreach(lines, i, l)
    {
        line(st, l);
    }
    if (!json_array_size(lines))
        fputs(st->html ? "<p>No lines this period.</p>\n" : "  no lines this period\n", out);
    totals(st);
    history(st);
    if (st->html)
        fputs("</body></html>\n", out);
}

/* ---- gathering ---- */

typedef struct closes {
    const char *upto;
    char periods[HISTORY][8];
    int n;
} closes;

static int one_close(void *ctx, const acre_closed *c)
{
    closes *cl = ctx;
    if (strcmp(c->period, cl->upto) > 0)
        return 1;
    if (cl->n == HISTORY) {
        memmove(cl->periods[0], cl->periods[1], sizeof cl->periods[0] * (HISTORY - 1));
        cl->n--;
    }
    memcpy(cl->periods[cl->n++], c->period, 8);
    return 0;
}

static const json_t *entry(const json_t *doc, const char *id)
{
    const json_t *a;
    size_t i;
    json_array_foreach(json_object_get(doc, "affiliates"), i, a)
    {
        if (strcmp(str(a, "affiliate_id"), id) == 0)
            return a;
    }
    return NULL;
}

static void statement_free(statement *st)
{
    for (int i = 0; i < st->nhist; i++) {
        free(st->hist[i].earned);
        free(st->hist[i].payable);
        free(st->hist[i].carried);
    }
    acre_payout_row_free(&st->pay);
    json_decref(st->names);
    json_decref(st->doc);
}

static int load_json(json_t **out, const char *text, acre_error *err)
{
    json_error_t je;
    if ((*out = acre_json_loadb(text, strlen(text), 0, &je)))
        return 0;
    if (json_error_code(&je) == json_error_out_of_memory)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return acre_error_set(err, ACRE_ERROR, NULL, "ledger", "the ledger cannot be read: %s",
                          je.text);
}

/* The history: each of the last HISTORY closed periods up to st's, the affiliate's earned,
 * payable and carried forward in it. */
static int gather_history(statement *st, acre_store *s, const char *period, const char *id,
                          acre_error *err)
{
    closes cl = {period, {{0}}, 0};
    int rc;
    if ((rc = acre_store_closes(s, one_close, &cl, err)))
        return rc;
    for (int i = 0; i < cl.n; i++) {
        period_row *r = &st->hist[st->nhist++];
        const json_t *a = NULL;
        json_t *d = NULL;
        char *text = NULL;
        memcpy(r->period, cl.periods[i], 8);
        if (strcmp(r->period, period) == 0) {
            a = st->aff;
        } else {
            if ((rc = acre_ledger_get(s, r->period, &text, err)) ||
                (rc = load_json(&d, text, err))) {
                free(text);
                return rc;
            }
            free(text);
            a = entry(d, id);
        }
        if (a && (!(r->earned = acre_strdup(str(a, "earned"))) ||
                  !(r->payable = acre_strdup(str(a, "payable"))) ||
                  !(r->carried = acre_strdup(str(a, "carried_forward"))))) {
            json_decref(d);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        json_decref(d);
    }
    return 0;
}

int acre_statement_write(FILE *out, acre_store *s, const char *period, const char *affiliate_id,
                         const char *format, acre_error *err)
{
    statement st;
    char *text = NULL;
    int rc;

    memset(&st, 0, sizeof st);
    st.out = out;
    if (strcmp(format, "html") != 0 && strcmp(format, "text") != 0)
        return acre_error_set(err, ACRE_EUSAGE, "format", "format",
                              "unknown statement format %s (html or text)", format);
    st.html = format[0] == 'h';
    if ((rc = acre_ledger_get(s, period, &text, err)))
        return rc;
    rc = load_json(&st.doc, text, err);
    free(text);
    if (rc)
        return rc;
    if (!(st.aff = entry(st.doc, affiliate_id))) {
        statement_free(&st);
        return acre_error_set(err, ACRE_ENOTFOUND, "affiliate", "affiliate",
                              "affiliate %s has no entry in the ledger of %s", affiliate_id,
                              period);
    }
    if ((rc = acre_payout_names(s, &st.names, err)) ||
        (rc = acre_payout_fill(&st.pay, st.aff, st.names)
                  ? acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory")
                  : 0) ||
        (rc = gather_history(&st, s, period, affiliate_id, err))) {
        statement_free(&st);
        return rc;
    }
    document(&st);
    rc = st.oom ? acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory") : 0;
    statement_free(&st);
    return rc;
}
