/* acre/ingest.h — validating and storing records (SPEC 2 and 3). */
#ifndef ACRE_INGEST_H
#define ACRE_INGEST_H

#include <stdio.h>

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct acre_ingest_summary {
    long received, inserted, updated, unchanged, rejected;
} acre_ingest_summary;

/* A refused record, handed to the caller: `json` is the NDJSON reject line of SPEC 2 (no
 * newline), `text` the same for a person ("orders.ndjson record 17: amount_currency: ..."). Both
 * are borrowed for the duration of the call. */
typedef struct acre_reject {
    const char *json;
    const char *text;
} acre_reject;

typedef struct acre_ingest_opts {
    int atomic;          /* refuse the whole file if any record is invalid */
    const char *source;  /* the file's name, as reject lines name it ("-" for stdin) */
    void (*on_reject)(void *ctx, const acre_reject *r);
    void *ctx;
    int again;             /* store the file even if a batch of its kind had the same bytes */
    const char *stored_at; /* when, as the batch remembers it (ISO 8601 UTC), or NULL: unknown */
} acre_ingest_opts;

/* Reads one file of KIND records from `in` (NDJSON, a JSON array, or a {"data":[...]}
 * envelope, told apart by their first bytes), validates each record, and stores the valid ones
 * in one transaction. `sum` is added to, so one summary can cover several files.
 *
 * Returns 0 when the file was stored (some records may have been rejected: see sum->rejected);
 * ACRE_EREJECTED when the file was refused whole (malformed JSON, --atomic with an invalid
 * record, or, without opts->again, bytes whose SHA-256 a stored batch of the same kind has: rule
 * "resent", SPEC 10; a file of no records is never refused so): nothing of it is stored and
 * err says why; ACRE_EUSAGE for an unknown kind; another
 * negative code when reading or the store failed, with nothing of the file stored. */
int acre_ingest(acre_store *s, const char *kind, FILE *in, const acre_ingest_opts *opts,
                acre_ingest_summary *sum, acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
