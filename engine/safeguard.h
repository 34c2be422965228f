/* engine/safeguard.h — the month-end safeguards of SPEC 10 that the library keeps (internal):
 * a close that skips months, and a file sent again. */
#ifndef ACRE_ENGINE_SAFEGUARD_H
#define ACRE_ENGINE_SAFEGUARD_H

#include "acre/error.h"
#include "store_int.h"

/* A close or preview of `period` when the last closed period is `last` (months since year 0;
 * below 0: nothing closed). Returns 0 when period is the month after last, or nothing is
 * closed yet; else ACRE_EREFUSED (rule "gap") with a message naming the months it would leave
 * unclosed. */
int acre_gap_check(int last, int period, acre_error *err);

/* Whether the store already holds a batch of `kind` other than `batch` whose bytes have SHA-256
 * `sha` (64 hex digits). Returns 0 when it does not; ACRE_EREJECTED (rule "resent") naming that
 * batch, its file and when it was stored when it does; another code when the store failed.
 * `source` names the file being ingested, for the message. */
int acre_resent_check(acre_store *s, const char *kind, const char *sha, long long batch,
                      const char *source, acre_error *err);

#endif
