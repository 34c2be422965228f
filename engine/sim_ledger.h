/* engine/sim_ledger.h — a ledger's text read without a tree (engine/sim_ledger.c; internal). */
#ifndef ACRE_ENGINE_SIM_LEDGER_H
#define ACRE_ENGINE_SIM_LEDGER_H

#include <jansson.h>
#include <stddef.h>

#include "acre/error.h"

/* The index just past the JSON string starting at t[i] (a '"'), or n. */
size_t acre_sim_skip_string(const char *t, size_t n, size_t i);

/* Calls fn with each element of the member "affiliates" of the ledger document t, only the
 * members the comparison reads (affiliate_id, currency, rounding, earned) parsed, so that its
 * lines are never parsed. Returns 0, fn's nonzero return, or ACRE_ENOMEM (err set). */
int acre_sim_each_affiliate(const char *t, int (*fn)(void *ctx, const json_t *a, acre_error *err),
                            void *ctx, acre_error *err);

/* *text, a ledger, replaced by those members of each affiliate in an "affiliates" array, which
 * acre_sim_each_affiliate reads as it reads the ledger (acre_sim_options.summaries). */
int acre_sim_summarize(char **text, acre_error *err);

#endif
