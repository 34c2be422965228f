/* engine/events_int.h — making events (engine/events.c; internal). */
#ifndef ACRE_ENGINE_EVENTS_INT_H
#define ACRE_ENGINE_EVENTS_INT_H

#include "acre/error.h"
#include "acre/store.h"

/* An event to make: its texts (NULL: null in the body; ftd_id NULL: "ftd" is null); extra, when
 * not NULL, is more members for the body (",\"k\":v..."). */
typedef struct acre_event_new {
    const char *type, *affiliate_id, *customer_id, *plan;
    const char *click_id, *campaign_id, *qualified_at;
    const char *ftd_id, *ftd_amount, *ftd_currency;
    const char *extra;
    long long seq; /* the store's sequence number now */
} acre_event_new;

/* Stores e in the outbox, pending and due now, inside the caller's transaction; nothing when
 * the same customer, type and plan has an event already (its id, "ev_" and 32 hex digits of the
 * SHA-256 of the three, is the same). */
int acre_event_make(acre_store *s, const acre_event_new *e, acre_error *err);

/* Evaluates the qualification of the customers ids[0..n) (sorted, distinct) as the data stands
 * in the caller's open transaction, and makes a `qualified` event for each who newly qualifies
 * (the header of engine/events.c says how). */
int acre_events_on_ingest(acre_store *s, char *const *ids, int n, acre_error *err);

#endif
