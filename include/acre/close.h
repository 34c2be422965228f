/* acre/close.h — closing a period and previewing it (a closed ledger: acre/ledger.h). */
#ifndef ACRE_CLOSE_H
#define ACRE_CLOSE_H

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A refused close returns ACRE_EREFUSED (acre/error.h). */

/* Computes `period` ("YYYY-MM") for every affiliate exactly as SPEC 5 says. With `store`, the
 * ledger and the state the next close starts from are written in one transaction; without, it is
 * a preview and nothing is written. *ledger is the ledger JSON (new: the caller frees). */
int acre_close_period(acre_store *s, const char *period, int store, char **ledger,
                      acre_error *err);

/* How acre_close_period_opts closes. */
typedef struct acre_close_opts {
    int store;     /* write the close (1) or preview it (0) */
    int allow_gap; /* PERIOD may leave months after the last closed period unclosed; without it
                    * such a close is refused (ACRE_EREFUSED, rule "gap"), as acre_close_period
                    * refuses it. The first close of a store has no gap. */
    int full_read; /* read every record stored, as the first close does, instead of the months
                    * since the last close and what changed before them (the same ledger:
                    * docs/design.md "An incremental close") */
    /* may be NULL; else called on the calling thread as the close goes: with stage "reading"
     * and the records read so far, every ACRE_CLOSE_PROGRESS of them, then "computing" (the
     * rules) and "writing" (the ledger, and with `store` the close), each with every record
     * read. A close that reads little calls it only at those stages. */
    void (*progress)(void *ctx, const char *stage, long records);
    void *progress_ctx;
} acre_close_opts;

/* Records read between two calls of acre_close_opts.progress. */
#define ACRE_CLOSE_PROGRESS 65536

/* acre_close_period with options. */
int acre_close_period_opts(acre_store *s, const char *period, const acre_close_opts *o,
                           char **ledger, acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
