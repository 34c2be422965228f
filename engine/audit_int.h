/* engine/audit_int.h — the parts of `acre audit` (internal; engine/audit*.c). */
#ifndef ACRE_ENGINE_AUDIT_INT_H
#define ACRE_ENGINE_AUDIT_INT_H

#include <stdio.h>

#include "acre/error.h"
#include "acre/store.h"

/* The state rows a later close reads, derived from the ledgers alone (engine/audit_state.c).
 * Writes one "PERIOD\tFAIL\t…" line per problem and adds them to *nbad. Returns 0 or an error. */
int acre_audit_state(acre_store *s, FILE *out, int *nbad, acre_error *err);

/* The logs an incremental close reads instead of the records (late_version, txn_versions),
 * rebuilt from the record tables and compared row by row (engine/audit_logs.c): one
 * "store\tFAIL\t…" line per row missing or too many. Returns 0 or an error. */
int acre_audit_logs(acre_store *s, FILE *out, int *nbad, acre_error *err);

/* Every closed period closed again, in order, in a write transaction rolled back, at its own close's
 * watermark: the ledger bytes and then every state row compared (engine/audit_recompute.c). */
int acre_audit_recompute(acre_store *s, FILE *out, int *nbad, acre_error *err);

#endif
