/* acre/simulate.h — what affiliates would have earned under other plans (SPEC 2, `simulate`). */
#ifndef ACRE_SIMULATE_H
#define ACRE_SIMULATE_H

#include <stdio.h>

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An assignment given in place of an affiliate's stored ones. */
typedef struct acre_sim_assign {
    const char *affiliate_id;
    const char *plan_id;
    long version; /* 0: the newest stored version */
} acre_sim_assign;

typedef struct acre_sim_options {
    const char *from, *to; /* YYYY-MM; to NULL: from alone */
    FILE *const *plan_files; /* each one plan or an array, in place of the stored plan_id@version */
    const char *const *plan_names; /* the files' names, for messages */
    int nplans;
    const acre_sim_assign *assigns;
    int nassigns;
    /* called after each period is computed, on the calling thread; may be NULL */
    void (*progress)(void *ctx, const char *period, int done, int total);
    void *progress_ctx;
    /* nonzero: of each ledger keep only what acre_sim_write reads (acre_sim_period), as soon as
     * it is made, so that no ledger is held while the next is computed (`acre simulate` sets it:
     * a ledger is 62 MB at 200,000 customers) */
    int summaries;
} acre_sim_options;

typedef struct acre_sim acre_sim;

/* Recomputes the periods from..to as closes would, inside a write transaction it rolls back (so
 * it holds the store's write lock while it runs, and writes nothing): the closes from `from` on
 * are undone, the plans and assignments replaced, and each
 * period closed in order, a closed period seeing only the record versions its own close saw, an
 * open one everything stored. The baseline is the stored ledger of a closed period, and the close
 * of an open one computed the same way with the stored plans. The store itself is only read.
 * Periods before the last close that were never closed are skipped, as they were. *out is new
 * (acre_sim_free). Errors: ACRE_EUSAGE (bad range, unknown affiliate or plan), ACRE_EREJECTED (a
 * plan file refused), ACRE_EREFUSED (a close refused, e.g. a missing FX rate; the message says
 * whether in the baseline or the simulation). */
int acre_simulate(acre_sim **out, acre_store *s, const acre_sim_options *o, acre_error *err);

/* Writes the comparison: "table" (per affiliate over all periods, largest differences first, at
 * most `max_rows` affiliates, then totals per currency), "json" or "csv" (every affiliate and
 * period). Only affiliate `only` when not NULL. */
int acre_sim_write(FILE *out, const acre_sim *r, const char *format, const char *only,
                   int max_rows, acre_error *err);

/* The ledgers compared for the i-th period (0-based), borrowed; NULL past the last. With
 * acre_sim_options.summaries, each is what the comparison reads of the ledger instead: one JSON
 * object {"affiliates":[…]} with each affiliate's affiliate_id, currency, rounding and earned. */
const char *acre_sim_period(const acre_sim *r, int i, const char **baseline,
                            const char **simulated);

void acre_sim_free(acre_sim *r);

#ifdef __cplusplus
}
#endif

#endif
