/* engine/events_int.h — making events (engine/events.c, engine/events_make.c; internal). */
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
    long long seq;       /* the store's sequence number now */
    long long made_at;   /* Unix seconds, as the caller's clock says; 0: not known (then the
                          * first attempt's time: the library reads no clock) */
    const char *made_by; /* "ingest" or "close" */
} acre_event_new;

/* The statements acre_event_make_many runs, prepared on first use and kept for the next event of a
 * batch (acre_event_stmts_done finalizes them); NULL: prepared for this event alone. */
typedef struct acre_event_stmts {
    struct acre_stmt *id, *add, *customer, *flags, *qualified;
} acre_event_stmts;
void acre_event_stmts_done(acre_store *s, acre_event_stmts *st);

/* Stores each of e[0..n) in the outbox, pending and due now, inside the caller's transaction,
 * in order (engine/events_make.c); nothing for one whose customer, type and plan has an event
 * already (its id, "ev_" and 32 hex digits of the SHA-256 of the three, is the same), nor for
 * a `qualified` event of a customer that has one under any plan, stored or earlier in e. */
int acre_event_make_many(acre_store *s, acre_event_stmts *st, const acre_event_new *e, int n,
                         acre_error *err);

/* Evaluates the qualification of the customers ids[0..n) (sorted, distinct) as the data stands
 * in the caller's open transaction, and makes a `qualified` event for each who newly qualifies
 * (the header of engine/events.c says how). activity: the batch was activity, which matters
 * only to a plan with an activity threshold. */
int acre_events_on_ingest(acre_store *s, char *const *ids, int n, int activity, long long made_at,
                          acre_error *err);

#endif
