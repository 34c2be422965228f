/* acre/records.h — reading back the current versions of stored records (SPEC 11's GET
 * /KIND): filtered, in key order, a page at a time. */
#ifndef ACRE_RECORDS_H
#define ACRE_RECORDS_H

#include <stddef.h>

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct acre_list_opts {
    const char *customer_id;   /* the record's customer_id (a bonus event's user_id), or NULL */
    const char *affiliate_id;  /* the record's affiliate_id (customers, affiliates, assignments) */
    const char *from, *to;     /* YYYY-MM-DD, inclusive: the record's date (activity and FX
                                * rates: date; transactions: transaction_date; bonus events:
                                * timestamp; customers: signup_date; flags: flagged_at) */
    const char *updated_since; /* ISO 8601: only records whose current version was ingested
                                * at or after it */
    const char *after;         /* a cursor (acre_records_list gives them): the records after it */
    long offset;               /* without `after`: records to skip */
    long limit;                /* records to give, at least 1 */
} acre_list_opts;

/* Calls fn with the JSON text of the current version of each record of KIND that matches o, in
 * key order, from o->after or o->offset, at most o->limit of them, and `cursor`, the text that
 * as o->after continues after that record (both borrowed for the call). *total is the number of
 * records that match o's filters (not counting the page), and *before (may be NULL) the number
 * of those up to o->after (or skipped for o->offset). Returns 0; ACRE_EUSAGE for an unknown
 * kind or a filter the kind does not have (rule "filter", naming it) or a malformed value
 * (rule "from", "to", "updated_since", "cursor"). Reads every version of the kind's records: it
 * costs what the table holds. */
int acre_records_list(acre_store *s, const char *kind, const acre_list_opts *o,
                      int (*fn)(void *ctx, const char *json, size_t len, const char *cursor),
                      void *ctx, long *total, long *before, acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
