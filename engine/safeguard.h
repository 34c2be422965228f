/* engine/safeguard.h — the month-end safeguard of SPEC 10 that the close keeps (internal): a
 * close that skips months. */
#ifndef ACRE_ENGINE_SAFEGUARD_H
#define ACRE_ENGINE_SAFEGUARD_H

#include "acre/error.h"
#include "store_int.h"

/* A close or preview of `period` when the last closed period is `last` (months since year 0;
 * below 0: nothing closed). Returns 0 when period is the month after last, or nothing is
 * closed yet; else ACRE_EREFUSED (rule "gap") with a message naming the months it would leave
 * unclosed. */
int acre_gap_check(int last, int period, acre_error *err);

#endif
