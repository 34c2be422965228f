/* engine/verify_int.h — the arithmetic half of acre_verify, for the audit (internal). */
#ifndef ACRE_ENGINE_VERIFY_INT_H
#define ACRE_ENGINE_VERIFY_INT_H

#include <stddef.h>
#include <stdio.h>

/* Re-derives the numbers of the ledger document doc[0..len) as acre_verify does, without the
 * digest and the summary line: one line per problem, each starting with `prefix`, then the place
 * (affiliate, line) and what does not add up. Sets *nbad. Returns 0, or ACRE_ENOMEM when a check
 * could not be made. */
int acre_verify_numbers(const char *doc, size_t len, const char *prefix, FILE *out, int *nbad);

#endif
