/* acre/events.h — events for affiliates' postbacks (SPEC 12; docs/events.md): the signing
 * secrets, and the outbox a deliverer works through. acre itself makes the events: a
 * `qualified` event when an ingest makes a customer qualify, a `clawback` event when a close
 * claws a CPA back. The HTTP requests are the caller's (the `acre` program uses libcurl). */
#ifndef ACRE_EVENTS_H
#define ACRE_EVENTS_H

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The signing secret of a stored affiliate, 64 hex digits: made (32 random bytes) the first
 * time, kept with `now` (the caller's clock, ISO 8601 UTC), the same one after, a new one with
 * `rotate`. ACRE_ENOTFOUND when no such affiliate is stored. */
int acre_affiliate_secret(acre_store *s, const char *affiliate_id, int rotate, const char *now,
                          char secret[65], acre_error *err);

/* X-Acre-Signature's value for a body sent at Unix time ts with secret:
 * "v1=" HEX(HMAC-SHA256(secret, ts "." body)). 0, or ACRE_ENOMEM. */
int acre_postback_signature(char out[68], const char *secret, long long ts, const char *body,
                            size_t len);

/* One event of the outbox. Texts are borrowed for the callback's duration. */
typedef struct acre_event {
    const char *event_id, *type, *affiliate_id, *customer_id, *plan;
    const char *body;   /* the JSON sent, made with the event */
    const char *status; /* "pending", "delivered" or "dead" */
    long long seq;      /* the store's sequence number when it was made: events in order */
    long long made_at;  /* Unix seconds (the ingest's stored_at; 0 until the first attempt when
                         * it had none, or a close made it: the library reads no clock) */
    long attempts;
    long long next_at;        /* when the next attempt is due (pending) */
    long long done_at;        /* delivered or dead at, else 0 */
    const char *last_error;   /* what the last failed attempt got, or NULL */
    const char *made_by;      /* "ingest", or "close" (a customer settled, a CPA clawed back) */
    const char *postback_url; /* the affiliate's now, or NULL: such an event is not attempted */
    const char *secret;       /* the affiliate's signing secret, or NULL */
} acre_event;

/* Calls fn for each event of status `status` (NULL: all), in the order they were made; with
 * due_at >= 0 only the pending events due by then (next_at <= due_at). fn's nonzero return
 * stops the walk and is returned. */
int acre_events_each(acre_store *s, const char *status, long long due_at,
                     int (*fn)(void *ctx, const acre_event *e), void *ctx, acre_error *err);

/* The result of an attempt at Unix time now: delivered (a 2xx answer), or failed with `error`
 * (the status or what went wrong); a failed event is due again after 1 minute doubling per
 * attempt, at most 6 hours, with jitter, or dead once 72 hours have passed since it was made.
 * *status_out (may be NULL) is the event's status after. attempts_seen is the attempts the
 * caller read before its attempt: when the event is no longer pending, or another deliverer
 * recorded an attempt since, nothing changes (its result stands). ACRE_ENOTFOUND for an unknown
 * id. */
int acre_event_attempted(acre_store *s, const char *event_id, long attempts_seen, int delivered,
                         const char *error, long long now, const char **status_out,
                         acre_error *err);

/* A dead (or pending) event made due now again, with its attempts and its 72 hours starting
 * over. ACRE_ENOTFOUND for an unknown id, ACRE_EREFUSED for a delivered one. */
int acre_event_retry(acre_store *s, const char *event_id, long long now, acre_error *err);

/* How long events are retried, and the most between two attempts. */
#define ACRE_EVENT_LIFE (72 * 3600)
#define ACRE_EVENT_MAX_DELAY (6 * 3600)

#ifdef __cplusplus
}
#endif

#endif
