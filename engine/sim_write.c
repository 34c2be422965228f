/* engine/sim_write.c — the comparison of a simulation (SPEC 2, `simulate`): each affiliate's
 * earned per period in the baseline and the simulated ledgers, written as a table, JSON, CSV or
 * a chart (engine/sim_chart.c). Every sum is exact; each figure is rounded once, half-even, at
 * the affiliate's scale, when it is printed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "payouts.h"
#include "sim_int.h"
#include "sim_ledger.h"

static int row_find(sim_row *rows, int n, const char *id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, k = strcmp(rows[mid].id, id);
        if (k == 0)
            return mid;
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Largest absolute difference first, then affiliate_id. */
static int by_move(const void *a, const void *b)
{
    const sim_row *x = a, *y = b;
    acre_dec ax, ay;
    int k;
    acre_dec_init(&ax);
    acre_dec_init(&ay);
    mpq_abs(ax.q, x->diff.q);
    mpq_abs(ay.q, y->diff.q);
    k = acre_dec_cmp(&ay, &ax);
    acre_dec_clear(&ax);
    acre_dec_clear(&ay);
    return k ? k : strcmp(x->id, y->id);
}

void acre_sim_sort(sim_row *rows, int n)
{
    if (n > 1) /* qsort's array must not be NULL, even when empty */
        qsort(rows, (size_t)n, sizeof *rows, by_move);
}

char *acre_sim_percent(const acre_dec *diff, const acre_dec *base, int *oom)
{
    acre_dec x, hundred;
    char *s;
    if (acre_dec_sgn(base) == 0)
        return NULL;
    acre_dec_init(&x);
    acre_dec_init(&hundred);
    acre_dec_set_si(&hundred, 100);
    mpq_abs(x.q, base->q);
    acre_dec_div(&x, diff, &x);
    acre_dec_mul(&x, &x, &hundred);
    s = acre_dec_format_fixed(&x, 1, ACRE_ROUND_HALF_EVEN);
    acre_dec_clear(&x);
    acre_dec_clear(&hundred);
    *oom |= !s;
    return s;
}

char *acre_sim_money(const acre_dec *d, int scale, int *oom)
{
    char *s = acre_dec_format_fixed(d, scale, ACRE_ROUND_HALF_EVEN);
    *oom |= !s;
    return s;
}

/* s, or "" for a string acre_sim_money() could not make */
static const char *or_none(const char *s)
{
    return s ? s : "";
}

/* One line of the table: the label in `width` columns, baseline, simulated, difference and
 * change in percent. */
static void table_row(FILE *out, const char *label, int width, const char *cur,
                      const acre_dec *base, const acre_dec *sim, const acre_dec *diff, int scale,
                      int *oom)
{
    char *b = acre_sim_money(base, scale, oom), *s = acre_sim_money(sim, scale, oom),
         *d = acre_sim_money(diff, scale, oom), *pc = acre_sim_percent(diff, base, oom);
    acre_text_cell(out, label, width, 0);
    fprintf(out, " %-3s %14s %14s %14s %6s%s\n", cur ? cur : "", or_none(b), or_none(s), or_none(d),
            pc                   ? pc
            : acre_dec_sgn(diff) ? "new"
                                 : "-",
            pc ? "%" : "");
    free(b);
    free(s);
    free(d);
    free(pc);
}

/* Reading the ledgers into rows: one ledger at a time, period p, the simulated one or not. */
typedef struct reading {
    const acre_sim *r;
    const char *only;
    sim_row *rows;
    int nrows, cap, p, sim;
} reading;

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s ? acre_strdup(s) : NULL;
    *oom |= s && !d;
    return d;
}

static void row_clear(sim_row *w, int nperiods)
{
    acre_dec_clear(&w->base);
    acre_dec_clear(&w->sim);
    acre_dec_clear(&w->diff);
    for (int p = 0; w->pb && w->ps && p < nperiods; p++) {
        acre_dec_clear(&w->pb[p]);
        acre_dec_clear(&w->ps[p]);
    }
    free(w->pb);
    free(w->ps);
    free(w->id);
    free(w->currency);
}

/* A row's numbers, all 0; with id and currency copied. 0, or -1 out of memory (w is then still
 * safe to clear). */
static int row_init(sim_row *w, const char *id, const char *currency, int nperiods)
{
    int oom = 0;
    memset(w, 0, sizeof *w);
    acre_dec_init(&w->base);
    acre_dec_init(&w->sim);
    acre_dec_init(&w->diff);
    w->id = dup_or_null(id, &oom);
    w->currency = dup_or_null(currency, &oom);
    w->pb = acre_calloc((size_t)nperiods, sizeof *w->pb);
    w->ps = acre_calloc((size_t)nperiods, sizeof *w->ps);
    for (int p = 0; w->pb && w->ps && p < nperiods; p++) {
        acre_dec_init(&w->pb[p]);
        acre_dec_init(&w->ps[p]);
    }
    return oom || !w->id || !w->pb || !w->ps ? -1 : 0;
}

/* An affiliate of one ledger: its row (made the first time it is seen, rows kept in ID order)
 * and its earned in that period. */
static int read_affiliate(void *ctx, const json_t *a, acre_error *err)
{
    reading *x = ctx;
    const char *id = json_string_value(json_object_get(a, "affiliate_id"));
    const char *e = json_string_value(json_object_get(a, "earned"));
    sim_row *w;
    acre_dec *d;
    int j, rc;
    if (!id || (x->only && strcmp(id, x->only) != 0))
        return 0;
    if ((j = row_find(x->rows, x->nrows, id)) < 0) {
        int at = x->nrows;
        if (x->nrows == x->cap) {
            sim_row *nr =
                acre_realloc(x->rows, (size_t)(x->cap = x->cap ? x->cap * 2 : 64) * sizeof *nr);
            if (!nr)
                return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            x->rows = nr;
        }
        while (at > 0 && strcmp(x->rows[at - 1].id, id) > 0)
            at--;
        memmove(&x->rows[at + 1], &x->rows[at], (size_t)(x->nrows - at) * sizeof *x->rows);
        x->nrows++;
        w = &x->rows[j = at];
        if (row_init(w, id, json_string_value(json_object_get(a, "currency")), x->r->n))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        w->scale =
            (int)json_integer_value(json_object_get(json_object_get(a, "rounding"), "scale"));
    }
    w = &x->rows[j];
    if (!e)
        return 0;
    d = x->sim ? &w->ps[x->p] : &w->pb[x->p];
    if ((rc = acre_dec_parse_stored(d, e, err)))
        return rc;
    acre_dec_add(x->sim ? &w->sim : &w->base, x->sim ? &w->sim : &w->base, d);
    return 0;
}

static int by_currency(const void *a, const void *b)
{
    const sim_row *x = a, *y = b;
    return strcmp(x->currency ? x->currency : "", y->currency ? y->currency : "");
}

int acre_sim_totals(const sim_row *rows, int nrows, int nperiods, sim_row **out, int *nout)
{
    sim_row *t = NULL;
    int n = 0;
    *out = NULL;
    *nout = 0;
    for (int i = 0; i < nrows; i++) {
        const char *cur = rows[i].currency ? rows[i].currency : "";
        int j = 0;
        while (j < n && strcmp(t[j].currency, cur) != 0)
            j++;
        if (j == n) {
            sim_row *g = acre_realloc(t, (size_t)(n + 1) * sizeof *g);
            if (!g)
                goto oom;
            t = g;
            if (row_init(&t[n++], "total", cur, nperiods))
                goto oom;
        }
        if (rows[i].scale > t[j].scale)
            t[j].scale = rows[i].scale;
        acre_dec_add(&t[j].base, &t[j].base, &rows[i].base);
        acre_dec_add(&t[j].sim, &t[j].sim, &rows[i].sim);
        for (int p = 0; p < nperiods; p++) {
            acre_dec_add(&t[j].pb[p], &t[j].pb[p], &rows[i].pb[p]);
            acre_dec_add(&t[j].ps[p], &t[j].ps[p], &rows[i].ps[p]);
        }
    }
    for (int j = 0; j < n; j++)
        acre_dec_sub(&t[j].diff, &t[j].sim, &t[j].base);
    if (n > 1)
        qsort(t, (size_t)n, sizeof *t, by_currency);
    *out = t;
    *nout = n;
    return 0;
oom:
    acre_sim_rows_free(t, n, nperiods);
    return -1;
}

void acre_sim_rows_free(sim_row *rows, int n, int nperiods)
{
    for (int i = 0; i < n; i++)
        row_clear(&rows[i], nperiods);
    free(rows);
}

/* The table: largest movers first (at most max_rows), then totals per currency. The affiliate
 * column is as wide as its longest ID: nothing is cut. */
static void write_table(FILE *out, const acre_sim *r, sim_row *rows, int nrows, const sim_row *tot,
                        int ntot, int max_rows, int *oom)
{
    int shown = nrows < max_rows ? nrows : max_rows, changed = 0, nclosed = 0,
        width = acre_text_columns("affiliate"); /* at least 20, as before IDs grew longer */
    for (int p = 0; p < r->n; p++)
        nclosed += r->p[p].closed;
    for (int i = 0; i < shown; i++)
        if (acre_text_columns(rows[i].id) > width)
            width = acre_text_columns(rows[i].id);
    if (width < 20)
        width = 20;
    fprintf(out, "simulate %s..%s: %d closed period%s, %d open\n\n", r->p[0].text,
            r->p[r->n - 1].text, nclosed, nclosed == 1 ? "" : "s", r->n - nclosed);
    acre_text_cell(out, "affiliate", width, 0);
    fprintf(out, " %-3s %14s %14s %14s %7s\n", "cur", "baseline", "simulated", "difference",
            "change");
    for (int i = 0; i < nrows; i++) {
        const sim_row *w = &rows[i];
        changed += acre_dec_sgn(&w->diff) != 0;
        if (i < shown)
            table_row(out, w->id, width, w->currency, &w->base, &w->sim, &w->diff, w->scale, oom);
    }
    if (shown < nrows)
        fprintf(out, "... %d more affiliates (--format csv or json lists all)\n", nrows - shown);
    fputc('\n', out);
    for (int j = 0; j < ntot; j++)
        table_row(out, "total", width, tot[j].currency, &tot[j].base, &tot[j].sim, &tot[j].diff,
                  tot[j].scale, oom);
    fprintf(out, "\n%d of %d affiliates change.\n", changed, nrows);
}

static void write_json(FILE *out, const acre_sim *r, const sim_row *rows, int nrows, int *oom)
{
    fprintf(out, "{\"from\":\"%s\",\"to\":\"%s\",\"periods\":[", r->p[0].text, r->p[r->n - 1].text);
    for (int p = 0; p < r->n; p++)
        fprintf(out, "%s{\"period\":\"%s\",\"baseline\":\"%s\"}", p ? "," : "", r->p[p].text,
                r->p[p].closed ? "closed" : "computed");
    fputs("],\"affiliates\":[", out);
    for (int i = 0; i < nrows; i++) {
        const sim_row *w = &rows[i];
        char *b = acre_sim_money(&w->base, w->scale, oom),
             *s = acre_sim_money(&w->sim, w->scale, oom),
             *d = acre_sim_money(&w->diff, w->scale, oom),
             *pc = acre_sim_percent(&w->diff, &w->base, oom);
        acre_buf id = {0};
        acre_buf_json_str(&id, w->id, strlen(w->id));
        *oom |= id.oom;
        fprintf(out, "%s\n{\"affiliate_id\":%s", i ? "," : "", or_none(id.p));
        acre_buf_free(&id);
        fprintf(out,
                ",\"currency\":\"%s\",\"baseline\":\"%s\",\"simulated\":\"%s\","
                "\"difference\":\"%s\",\"percent\":%s%s%s,\"periods\":[",
                w->currency ? w->currency : "", or_none(b), or_none(s), or_none(d), pc ? "\"" : "",
                pc ? pc : "null", pc ? "\"" : "");
        for (int p = 0; p < r->n; p++) {
            acre_dec dd;
            char *pb = acre_sim_money(&w->pb[p], w->scale, oom),
                 *ps = acre_sim_money(&w->ps[p], w->scale, oom), *pd;
            acre_dec_init(&dd);
            acre_dec_sub(&dd, &w->ps[p], &w->pb[p]);
            pd = acre_sim_money(&dd, w->scale, oom);
            fprintf(out,
                    "%s{\"period\":\"%s\",\"baseline\":\"%s\",\"simulated\":\"%s\","
                    "\"difference\":\"%s\"}",
                    p ? "," : "", r->p[p].text, or_none(pb), or_none(ps), or_none(pd));
            free(pb);
            free(ps);
            free(pd);
            acre_dec_clear(&dd);
        }
        fputs("]}", out);
        free(b);
        free(s);
        free(d);
        free(pc);
    }
    fputs("]}\n", out);
}

static void write_csv(FILE *out, const acre_sim *r, const sim_row *rows, int nrows, int *oom)
{
    fputs("period,affiliate_id,currency,baseline,simulated,difference\n", out);
    for (int p = 0; p < r->n; p++)
        for (int i = 0; i < nrows; i++) {
            const sim_row *w = &rows[i];
            acre_dec dd;
            char *pb = acre_sim_money(&w->pb[p], w->scale, oom),
                 *ps = acre_sim_money(&w->ps[p], w->scale, oom), *pd;
            acre_dec_init(&dd);
            acre_dec_sub(&dd, &w->ps[p], &w->pb[p]);
            pd = acre_sim_money(&dd, w->scale, oom);
            /* an ID is any text: quoted when it holds a comma, a quote or a line break */
            fprintf(out, "%s,", r->p[p].text);
            acre_csv_field(out, w->id, 0);
            fprintf(out, "%s,%s,%s,%s\n", w->currency ? w->currency : "", or_none(pb), or_none(ps),
                    or_none(pd));
            free(pb);
            free(ps);
            free(pd);
            acre_dec_clear(&dd);
        }
}

int acre_sim_write(FILE *out, const acre_sim *r, const char *format, const char *only, int max_rows,
                   acre_error *err)
{
    reading x = {r, only, NULL, 0, 0, 0, 0};
    sim_row *rows = NULL, *tot = NULL;
    int nrows = 0, ntot = 0, rc = 0, oom = 0;
    int table = strcmp(format, "table") == 0, json = strcmp(format, "json") == 0,
        csv = strcmp(format, "csv") == 0, svg = strcmp(format, "svg") == 0,
        html = strcmp(format, "html") == 0;

    if (!table && !json && !csv && !svg && !html)
        return acre_error_set(err, ACRE_EUSAGE, "format", "format",
                              "unknown simulate format %s (table, json, csv, svg or html)", format);
    /* every affiliate of either ledger of any period, with its earned in each */
    for (int i = 0; i < r->n * 2 && !rc; i++) {
        x.p = i / 2;
        x.sim = i % 2;
        rc = acre_sim_each_affiliate(x.sim ? r->p[x.p].sim : r->p[x.p].base, read_affiliate, &x,
                                     err);
    }
    rows = x.rows;
    nrows = x.nrows;
    if (rc)
        goto out;
    if (only && nrows == 0) {
        /* an id in no ledger of the run is most likely a typo: say so rather than print an
         * empty table */
        rc = acre_error_set(err, ACRE_EUSAGE, "affiliate", "unknown_affiliate",
                            "--affiliate %s: no ledger of %s..%s names affiliate %s", only,
                            r->p[0].text, r->p[r->n - 1].text, only);
        goto out;
    }
    for (int i = 0; i < nrows; i++)
        acre_dec_sub(&rows[i].diff, &rows[i].sim, &rows[i].base);
    if (json)
        write_json(out, r, rows, nrows, &oom);
    else if (csv)
        write_csv(out, r, rows, nrows, &oom);
    else if (acre_sim_totals(rows, nrows, r->n, &tot, &ntot))
        oom = 1;
    else {
        acre_sim_sort(rows, nrows);
        if (table)
            write_table(out, r, rows, nrows, tot, ntot, max_rows, &oom);
        else
            acre_sim_chart(out, r, rows, nrows, tot, ntot, html, max_rows, &oom);
    }
    if (oom)
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
out:
    acre_sim_rows_free(rows, nrows, r->n);
    acre_sim_rows_free(tot, ntot, r->n);
    return rc;
}
