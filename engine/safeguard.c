/* engine/safeguard.c — refusing a close that skips months and a file sent again (SPEC 10).
 *
 * Both are checked inside the transaction of the close or the ingest, so another process cannot
 * close a month or store a batch between the check and the write. */
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

static const acre_query q_earlier = {ACRE_Q_SELECT,
                                     "ingest_batch",
                                     {"batch", "source", "stored_at", NULL},
                                     {{"kind", ACRE_EQ}, {"sha256", ACRE_EQ}, {"batch", ACRE_NE}},
                                     {"batch", NULL},
                                     0,
                                     1};

typedef struct earlier {
    const char *kind, *sha, *source;
} earlier;

static int refuse_resent(void *ctx, const acre_value *row, int n, acre_error *err)
{
    const earlier *e = ctx;
    const char *at = row[2].type == ACRE_VAL_TEXT ? row[2].s : NULL;
    (void)n;
    return acre_error_set(err, ACRE_EREJECTED, NULL, "resent",
                          "%s: the same bytes (sha256 %.12s) were already ingested as %s batch "
                          "%lld (%.200s) %s%.40s; sending a file again would roll later updates "
                          "back, so nothing of it is stored (--again ingests it anyway)",
                          e->source, e->sha, e->kind, row[0].i, row[1].s ? row[1].s : "",
                          at ? "at " : "at an unknown time", at ? at : "");
}

int acre_resent_check(acre_store *s, const char *kind, const char *sha, long long batch,
                      const char *source, acre_error *err)
{
    earlier e = {kind, sha, source};
    acre_value p[3] = {acre_val_text(kind), acre_val_text(sha), acre_val_int(batch)};
    return acre_store_query(s, &q_earlier, p, refuse_resent, &e, "looking for an earlier batch",
                            err);
}
