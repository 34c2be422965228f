/* acre/audit.h — checking every stored ledger against its digest and the chain. */
#ifndef ACRE_AUDIT_H
#define ACRE_AUDIT_H

#include <stdio.h>

#include "error.h"
#include "store.h"

/* Checks every closed period in order: its ledger hashes to its digest, its previous_digest is
 * the digest of the period closed before it, and its numbers add up (acre_verify's arithmetic,
 * naming the affiliate and line). Writes one line per period
 * ("PERIOD\tok\tDIGEST" or "PERIOD\tFAIL\twhat, with the values") and a summary to out; sets
 * *nbad to the number of problems. Returns 0, or an error when the store cannot be read. */
int acre_audit(acre_store *s, FILE *out, int *nbad, acre_error *err);

#endif
