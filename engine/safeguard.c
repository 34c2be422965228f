/* engine/safeguard.c — refusing a close that skips months (SPEC 10).
 *
 * It is checked inside the close's transaction, so another process cannot close a month between
 * the check and the write. (A file sent again is refused by the ingest, inside its transaction:
 * acre_istore_resent in engine/ingest_store.c.) */
#include "safeguard.h"

#include <stdio.h>
#include <string.h>

#include "acre/close.h"
#include "close.h"

/* At most this many months are named; a longer gap says how many more. */
#define GAP_NAMED 12

int acre_gap_check(int last, int period, acre_error *err)
{
    char p[8], l[8], m[8], list[GAP_NAMED * 9 + 40] = "";
    size_t n = 0;
    int skipped;

    if (last < 0 || period <= last + 1)
        return 0;
    skipped = period - last - 1;
    for (int i = last + 1; i < period && i <= last + GAP_NAMED; i++) {
        acre_period_text(m, i);
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i > last + 1 ? ", " : "", m);
    }
    if (skipped > GAP_NAMED)
        snprintf(list + n, sizeof list - n, " and %d more", skipped - GAP_NAMED);
    acre_period_text(p, period);
    acre_period_text(l, last);
    return acre_error_set(err, ACRE_EREFUSED, "period", "gap",
                          "%s is not the month after the last closed period %s: it would leave "
                          "%s unclosed (%d month%s), and a month before a closed one can never "
                          "be closed; close %s first, or allow the gap (--allow-gap)",
                          p, l, list, skipped, skipped == 1 ? "" : "s", list[0] ? list : "them");
}
