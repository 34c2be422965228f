/* engine/sim_chart.c — the simulation as a chart, for a manager's deal review: per affiliate
 * (largest change first) and per currency's total, a bar of the baseline and one of the
 * simulated earned for each period, the difference under each period. "svg" is one SVG
 * document; "html" a self-contained page (print CSS, no script, nothing loaded) with each chart
 * inline and every figure beside it in a table, printable to PDF.
 *
 * Each figure is the comparison's own (engine/sim_write.c: exact sums, rounded once at the
 * affiliate's scale when printed). Bar heights are exact values scaled in integers
 * (acre_chart_px): no floating point. */
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "chart.h"
#include "payouts.h"
#include "sim_int.h"

enum {
    W = 760,    /* the chart's width */
    LEFT = 10,  /* its margins */
    HEAD = 26,  /* a panel's heading, in the SVG document */
    PLOT = 80,  /* the bars' height, from the largest value above 0 to the largest below */
    FOOT = 36,  /* period and difference under the bars */
    GAP = 12,   /* between panels */
    INTRO = 70, /* the SVG document's title and legend */
};

static const char svg_css[] =
    "text{font:11px sans-serif;fill:#222}.title{font-size:14px;font-weight:bold}"
    ".head{font-weight:bold}.base,.key.base{fill:#9aa5b1;background:#9aa5b1}"
    ".sim,.key.sim{fill:#1f4e79;background:#1f4e79}.axis{stroke:#333}"
    ".period,.diff{font-size:10px;text-anchor:middle}.open{font-style:italic}"
    ".diff{fill:#555}.diff.up{fill:#2e6b1f}.diff.down{fill:#a12a2a}";

typedef struct chart {
    FILE *out;
    const acre_sim *r;
    int *oom;
} chart;

/* The figures of one panel, rounded as printed: per period baseline, simulated, difference;
 * then the sums. New strings (NULL where an allocation failed, *oom set). */
typedef struct figures {
    char **pb, **ps, **pd;
    char *b, *s, *d, *pc;
} figures;

static void figures_make(figures *f, const chart *c, const sim_row *w)
{
    int n = c->r->n;
    acre_dec dd;
    f->pb = acre_calloc((size_t)n, sizeof *f->pb);
    f->ps = acre_calloc((size_t)n, sizeof *f->ps);
    f->pd = acre_calloc((size_t)n, sizeof *f->pd);
    *c->oom |= !f->pb || !f->ps || !f->pd;
    acre_dec_init(&dd);
    for (int p = 0; f->pb && f->ps && f->pd && p < n; p++) {
        acre_dec_sub(&dd, &w->ps[p], &w->pb[p]);
        f->pb[p] = acre_sim_money(&w->pb[p], w->scale, c->oom);
        f->ps[p] = acre_sim_money(&w->ps[p], w->scale, c->oom);
        f->pd[p] = acre_sim_money(&dd, w->scale, c->oom);
    }
    acre_dec_clear(&dd);
    f->b = acre_sim_money(&w->base, w->scale, c->oom);
    f->s = acre_sim_money(&w->sim, w->scale, c->oom);
    f->d = acre_sim_money(&w->diff, w->scale, c->oom);
    f->pc = acre_sim_percent(&w->diff, &w->base, c->oom);
}

static void figures_free(figures *f, int n)
{
    for (int p = 0; p < n; p++) {
        free(f->pb ? f->pb[p] : NULL);
        free(f->ps ? f->ps[p] : NULL);
        free(f->pd ? f->pd[p] : NULL);
    }
    free(f->pb);
    free(f->ps);
    free(f->pd);
    free(f->b);
    free(f->s);
    free(f->d);
    free(f->pc);
}

static const char *or_none(const char *s)
{
    return s ? s : "";
}

/* A difference as the chart labels it: "+6.23", "-2.26"; "" for none. */
static void signed_text(FILE *out, const char *d)
{
    if (acre_text_sign(d) > 0)
        fputc('+', out);
    fputs(acre_text_sign(d) ? d : "", out);
}

/* "baseline B, simulated S, difference D (P%)" of a panel. */
static void summary_text(FILE *out, const figures *f, const sim_row *w)
{
    fprintf(out, "baseline %s, simulated %s, difference %s", or_none(f->b), or_none(f->s),
            or_none(f->d));
    if (f->pc)
        fprintf(out, " (%s%%)", f->pc);
    else if (acre_dec_sgn(&w->diff))
        fputs(" (new)", out);
}

/* The largest value above 0 and the largest magnitude below 0 of both series. */
static void extremes(const sim_row *w, int n, acre_dec *pos, acre_dec *neg)
{
    acre_dec_set_si(pos, 0);
    acre_dec_set_si(neg, 0);
    for (int p = 0; p < n; p++) {
        const acre_dec *v[2] = {&w->pb[p], &w->ps[p]};
        for (int k = 0; k < 2; k++) {
            if (acre_dec_sgn(v[k]) > 0 && acre_dec_cmp(v[k], pos) > 0)
                acre_dec_set(pos, v[k]);
            if (acre_dec_sgn(v[k]) < 0) {
                acre_dec m;
                acre_dec_init(&m);
                acre_dec_neg(&m, v[k]);
                if (acre_dec_cmp(&m, neg) > 0)
                    acre_dec_set(neg, &m);
                acre_dec_clear(&m);
            }
        }
    }
}

/* One panel's bars, from y = top: per period the baseline's bar then the simulated one, from a
 * zero line as far down as the largest value above 0 reaches; under them the period (italic
 * when open: its baseline computed, not stored) and the difference. */
static void bars(const chart *c, const sim_row *w, const figures *f, int top)
{
    FILE *out = c->out;
    int n = c->r->n;
    long slot = (W - 2 * LEFT) / n, bar = slot * 35 / 100, zero;
    acre_dec pos, neg, span;
    if (bar > 36)
        bar = 36;
    acre_dec_init(&pos);
    acre_dec_init(&neg);
    acre_dec_init(&span);
    extremes(w, n, &pos, &neg);
    acre_dec_add(&span, &pos, &neg);
    zero = top + (acre_dec_sgn(&span) > 0 ? acre_chart_px(&pos, &span, PLOT, c->oom) : PLOT);
    fprintf(out, "<line x1=\"%d\" y1=\"%ld\" x2=\"%d\" y2=\"%ld\" class=\"axis\"/>\n", LEFT, zero,
            W - LEFT, zero);
    for (int p = 0; p < n; p++) {
        const acre_dec *v[2] = {&w->pb[p], &w->ps[p]};
        const char *t[2] = {f->pb ? f->pb[p] : NULL, f->ps ? f->ps[p] : NULL};
        long mid = LEFT + p * slot + slot / 2;
        for (int k = 0; k < 2; k++) {
            long h = acre_chart_px(v[k], &span, PLOT, c->oom);
            fprintf(out,
                    "<rect x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\" class=\"%s\">"
                    "<title>%s %s: %s</title></rect>\n",
                    mid - bar + k * bar, acre_dec_sgn(v[k]) < 0 ? zero : zero - h, bar, h,
                    k ? "sim" : "base", c->r->p[p].text, k ? "simulated" : "baseline",
                    or_none(t[k]));
        }
        fprintf(out, "<text x=\"%ld\" y=\"%d\" class=\"period%s\">%s</text>\n", mid,
                top + PLOT + 14, c->r->p[p].closed ? "" : " open", c->r->p[p].text);
        if (f->pd && acre_text_sign(f->pd[p])) {
            fprintf(out, "<text x=\"%ld\" y=\"%d\" class=\"diff %s\">", mid, top + PLOT + 28,
                    acre_text_sign(f->pd[p]) < 0 ? "down" : "up");
            signed_text(out, f->pd[p]);
            fputs("</text>\n", out);
        }
    }
    acre_dec_clear(&pos);
    acre_dec_clear(&neg);
    acre_dec_clear(&span);
}

/* A panel's name: "aff_nordic EUR", "total EUR". */
static void name(FILE *out, const sim_row *w)
{
    acre_markup_text(out, w->id);
    fputc(' ', out);
    acre_markup_text(out, or_none(w->currency));
}

/* One panel of the SVG document at y: its heading, then its bars. */
static void svg_panel(const chart *c, const sim_row *w, int y)
{
    figures f = {0};
    figures_make(&f, c, w);
    fprintf(c->out, "<g transform=\"translate(0,%d)\">\n<text x=\"%d\" y=\"16\" class=\"head\">", y,
            LEFT);
    name(c->out, w);
    fputs(": ", c->out);
    summary_text(c->out, &f, w);
    fputs("</text>\n", c->out);
    bars(c, w, &f, HEAD);
    fputs("</g>\n", c->out);
    figures_free(&f, c->r->n);
}

/* One panel of the page: its heading, its chart, its figures. */
static void html_panel(const chart *c, const sim_row *w)
{
    FILE *out = c->out;
    figures f = {0};
    figures_make(&f, c, w);
    fputs("<section class=\"panel\">\n<h3>", out);
    name(out, w);
    fputs("</h3>\n<p class=\"sum\">", out);
    summary_text(out, &f, w);
    fprintf(out,
            "</p>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\" role=\"img\" aria-label=\"",
            W, PLOT + FOOT + 4, W, PLOT + FOOT + 4);
    name(out, w);
    fputs(": baseline and simulated per period\">\n", out);
    bars(c, w, &f, 4);
    fputs("</svg>\n<table><tr><th>period</th><th>baseline</th><th>simulated</th>"
          "<th>difference</th></tr>\n",
          out);
    for (int p = 0; p < c->r->n; p++)
        fprintf(out,
                "<tr><td%s>%s</td><td class=\"amount\">%s</td><td class=\"amount\">%s</td>"
                "<td class=\"amount\">%s</td></tr>\n",
                c->r->p[p].closed ? "" : " class=\"open\"", c->r->p[p].text,
                or_none(f.pb ? f.pb[p] : NULL), or_none(f.ps ? f.ps[p] : NULL),
                or_none(f.pd ? f.pd[p] : NULL));
    fprintf(out,
            "<tr class=\"sum\"><td>%s..%s</td><td class=\"amount\">%s</td><td "
            "class=\"amount\">%s</td><td class=\"amount\">%s</td></tr>\n</table>\n</section>\n",
            c->r->p[0].text, c->r->p[c->r->n - 1].text, or_none(f.b), or_none(f.s), or_none(f.d));
    figures_free(&f, c->r->n);
}

static const char page_css[] =
    "body{font:11pt/1.4 sans-serif;color:#111;max-width:52em;margin:2em auto;padding:0 1em}"
    "h1{font-size:16pt;margin-bottom:.2em}h2{font-size:13pt;margin-top:1.6em;"
    "border-bottom:1px solid #999}h3{font-size:11pt;margin:1em 0 0}.meta,.sum{color:#444;"
    "margin:.1em 0}table{border-collapse:collapse;margin:.2em 0 .6em}th,td{padding:.1em .6em;"
    "border-bottom:1px solid #ddd;text-align:left}.amount{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}td.open{font-style:italic}"
    "tr.sum td{font-weight:bold}svg{max-width:100%;height:auto}"
    ".key{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}"
    "section.panel{break-inside:avoid}@media print{body{margin:0;max-width:none}"
    "h2{break-after:avoid}}@page{size:A4;margin:18mm}";

void acre_sim_chart(FILE *out, const acre_sim *r, const sim_row *rows, int nrows,
                    const sim_row *tot, int ntot, int html, int max_rows, int *oom)
{
    chart c = {out, r, oom};
    int shown = nrows < max_rows ? nrows : max_rows, changed = 0, nclosed = 0;
    /* one affiliate alone: its total is itself */
    int totals = nrows > 1 ? ntot : 0;
    int panels = totals + shown, ph = HEAD + PLOT + FOOT + GAP;
    int height = INTRO + panels * ph + (shown < nrows ? 20 : 0);
    for (int p = 0; p < r->n; p++)
        nclosed += r->p[p].closed;
    for (int i = 0; i < nrows; i++)
        changed += acre_dec_sgn(&rows[i].diff) != 0;

    if (html) {
        fprintf(out,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                "<title>simulate %s..%s</title>\n<style>%s%s</style></head><body>\n"
                "<h1>simulate %s..%s: baseline against simulated</h1>\n",
                r->p[0].text, r->p[r->n - 1].text, page_css, svg_css, r->p[0].text,
                r->p[r->n - 1].text);
        fprintf(out,
                "<p class=\"meta\">%d closed period%s, %d open; %d of %d affiliates change</p>\n"
                "<p class=\"meta\"><span class=\"key base\"></span> baseline (the stored "
                "ledger; an open period, in italics, computed as its close would)"
                "<span class=\"key sim\"></span> simulated</p>\n",
                nclosed, nclosed == 1 ? "" : "s", r->n - nclosed, changed, nrows);
        if (totals)
            fputs("<h2>Totals</h2>\n", out);
        for (int j = 0; j < totals; j++)
            html_panel(&c, &tot[j]);
        fputs("<h2>Affiliates, largest change first</h2>\n", out);
        for (int i = 0; i < shown; i++)
            html_panel(&c, &rows[i]);
        if (shown < nrows)
            fprintf(out,
                    "<p class=\"meta\">%d more affiliates: --format csv or json lists "
                    "all.</p>\n",
                    nrows - shown);
        fputs("</body></html>\n", out);
        return;
    }
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"simulate "
            "%s..%s: baseline against simulated\">\n<style>%s</style>\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
            W, height, W, height, r->p[0].text, r->p[r->n - 1].text, svg_css, W, height);
    fprintf(out,
            "<text x=\"%d\" y=\"22\" class=\"title\">simulate %s..%s: baseline against "
            "simulated</text>\n<text x=\"%d\" y=\"40\">%d closed period%s, %d open; %d of %d "
            "affiliates change; largest change first</text>\n",
            LEFT, r->p[0].text, r->p[r->n - 1].text, LEFT, nclosed, nclosed == 1 ? "" : "s",
            r->n - nclosed, changed, nrows);
    fprintf(out,
            "<rect x=\"%d\" y=\"50\" width=\"10\" height=\"10\" class=\"base\"/><text x=\"%d\" "
            "y=\"59\">baseline (the stored ledger; an open period, in italics, computed as its "
            "close would)</text>\n<rect x=\"%d\" y=\"50\" width=\"10\" height=\"10\" "
            "class=\"sim\"/><text x=\"%d\" y=\"59\">simulated</text>\n",
            LEFT, LEFT + 14, LEFT + 480, LEFT + 494);
    for (int j = 0; j < totals; j++)
        svg_panel(&c, &tot[j], INTRO + j * ph);
    for (int i = 0; i < shown; i++)
        svg_panel(&c, &rows[i], INTRO + (totals + i) * ph);
    if (shown < nrows)
        fprintf(out,
                "<text x=\"%d\" y=\"%d\">%d more affiliates: --format csv or json lists "
                "all</text>\n",
                LEFT, INTRO + panels * ph + 10, nrows - shown);
    fputs("</svg>\n", out);
}
