/* engine/sim_int.h — a simulation's result and the comparison read from it (engine/simulate.c
 * computes, engine/sim_write.c compares and writes the table, JSON and CSV, engine/sim_chart.c
 * the chart; internal). */
#ifndef ACRE_ENGINE_SIM_INT_H
#define ACRE_ENGINE_SIM_INT_H

#include <stdio.h>

#include "acre/decimal.h"
#include "acre/simulate.h"

#define MAX_PERIODS 240

typedef struct sim_period {
    char text[8];
    int closed;       /* closed in the store */
    long long seq;    /* its close's watermark when closed */
    char *base, *sim; /* the two ledgers */
} sim_period;

struct acre_sim {
    sim_period p[MAX_PERIODS];
    int n;
};

/* One affiliate of the comparison: its earned in each period (pb baseline, ps simulated, an
 * affiliate missing from a ledger counting 0), the sums over the periods and the difference
 * sim - base, exact. */
typedef struct sim_row {
    char *id, *currency; /* copied from a ledger */
    int scale;
    acre_dec base, sim, diff;
    acre_dec *pb, *ps; /* per period, r->n of each */
} sim_row;

/* d rounded half-even to scale, new; on a failed allocation NULL, and *oom is set (the report
 * then ends with an error, so what was printed is not taken for the result). */
char *acre_sim_money(const acre_dec *d, int scale, int *oom);

/* difference / |baseline| as a percentage with one decimal, new, or NULL when the baseline is
 * 0 (*oom set when an allocation failed). */
char *acre_sim_percent(const acre_dec *diff, const acre_dec *base, int *oom);

/* The rows sorted largest absolute difference first, then by affiliate_id. */
void acre_sim_sort(sim_row *rows, int n);

/* The totals per currency of rows (in currency order), each a row "total" at the largest scale
 * of its currency's rows: *out new (acre_sim_rows_free). 0, or -1 out of memory. */
int acre_sim_totals(const sim_row *rows, int nrows, int nperiods, sim_row **out, int *nout);
void acre_sim_rows_free(sim_row *rows, int n, int nperiods);

/* The chart (engine/sim_chart.c): "svg", one SVG document, or "html", a self-contained page
 * with the same chart and every figure in tables. The totals tot (acre_sim_totals), then at
 * most max_rows affiliates of rows (sorted by acre_sim_sort), each baseline against simulated
 * per period. Sets *oom when an allocation failed. */
void acre_sim_chart(FILE *out, const acre_sim *r, const sim_row *rows, int nrows,
                    const sim_row *tot, int ntot, int html, int max_rows, int *oom);

#endif
