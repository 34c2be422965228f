/* acre/verify.h — checking a ledger document on its own, without a store. */
#ifndef ACRE_VERIFY_H
#define ACRE_VERIFY_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Re-derives every number of the ledger document doc[0..len) from the document alone (SPEC 6,
 * docs/close.md "Verifying a ledger file"): each line's amount from its exact value and rounding,
 * each exact value from its detail (bands and their slices, rates, fees, carryover, the CPA rule,
 * the clawed-back amount, the sub-affiliate level), each affiliate's totals from its lines, the
 * order of affiliates and lines, and the digest from the document's bytes. Writes one line per
 * problem to out, in document order, prefixed with `name` and the place (affiliate, line number
 * from 1, kind and plan), then a summary line. Sets *nbad to the number of problems (0: the
 * document adds up). Returns 0, or ACRE_ENOMEM. */
int acre_verify(const char *doc, size_t len, const char *name, FILE *out, int *nbad,
                acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
