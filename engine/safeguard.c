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

int acre_resent_check(acre_store *s, const char *kind, const char *sha, long long batch,
                      const char *source, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st,
                                "SELECT batch, source, stored_at FROM ingest_batch WHERE kind = "
                                "?1 AND sha256 = ?2 AND batch <> ?3 ORDER BY batch LIMIT 1",
                                err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, batch);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rc = 0;
    } else if (rc != SQLITE_ROW) {
        rc = acre_store_fail(s, "looking for an earlier batch", err);
    } else if (!(rc = acre_store_row(s, st, err))) {
        const char *at = (const char *)sqlite3_column_text(st, 2);
        rc = acre_error_set(err, ACRE_EREJECTED, NULL, "resent",
                            "%s: the same bytes (sha256 %.12s) were already ingested as %s "
                            "batch %lld (%.200s) %s%.40s; sending a file again would roll later "
                            "updates back, so nothing of it is stored (--again ingests it "
                            "anyway)",
                            source, sha, kind, (long long)sqlite3_column_int64(st, 0),
                            (const char *)sqlite3_column_text(st, 1),
                            at ? "at " : "at an unknown time", at ? at : "");
    }
    sqlite3_finalize(st);
    return rc;
}
