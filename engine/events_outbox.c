/* engine/events_outbox.c — the outbox of events (include/acre/events.h): walking it, recording
 * each attempt's result with its backoff, and retrying a dead event. Each change is one
 * transaction of its own, so that an attempt's result is kept however the deliverer ends. */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "acre/events.h"
#include "alloc.h"
#include "store_int.h"

#define EV_COLS                                                                                    \
    {                                                                                              \
        "event_id", "type", "affiliate_id", "customer_id", "plan", "body", "status", "seq",        \
            "made_at", "attempts", "next_at", "done_at", "last_error", "made_by", NULL             \
    }
enum {
    E_ID,
    E_TYPE,
    E_AFF,
    E_CUST,
    E_PLAN,
    E_BODY,
    E_STATUS,
    E_SEQ,
    E_MADE,
    E_ATTEMPTS,
    E_NEXT,
    E_DONE,
    E_ERROR,
    E_BY
};

static const acre_query q_all = {
    ACRE_Q_SELECT, "event", EV_COLS, {{NULL, 0}}, {"seq", "event_id", NULL}, 0, 0};
static const acre_query q_status = {
    ACRE_Q_SELECT, "event", EV_COLS, {{"status", ACRE_EQ}}, {"seq", "event_id", NULL}, 0, 0};
static const acre_query q_due = {ACRE_Q_SELECT,
                                 "event",
                                 EV_COLS,
                                 {{"status", ACRE_EQ}, {"next_at", ACRE_LE}},
                                 {"seq", "event_id", NULL},
                                 0,
                                 0};
static const acre_query q_one = {ACRE_Q_SELECT, "event", EV_COLS, {{"event_id", ACRE_EQ}},
                                 {NULL},        0,       1};
static const acre_query q_url = {ACRE_Q_SELECT,
                                 "affiliate",
                                 {"postback_url", NULL},
                                 {{"affiliate_id", ACRE_EQ}},
                                 {"seq", NULL},
                                 1,
                                 1};
static const acre_query q_secret = {
    ACRE_Q_SELECT, "affiliate_secret", {"secret", NULL}, {{"affiliate_id", ACRE_EQ}}, {NULL}, 0, 1};
static const acre_query q_set = {
    ACRE_Q_UPDATE,
    "event",
    {"status", "attempts", "next_at", "done_at", "last_error", "made_at", NULL},
    {{"event_id", ACRE_EQ}},
    {NULL},
    0,
    0};
static const acre_query q_restart = {
    ACRE_Q_UPDATE,
    "event",
    {"status", "attempts", "next_at", "done_at", "last_error", "made_at", NULL},
    {{"event_id", ACRE_EQ}},
    {NULL},
    0,
    0};

static const char *text(const acre_value *v)
{
    return v->type == ACRE_VAL_TEXT ? v->s : NULL;
}

static long long num(const acre_value *v)
{
    return v->type == ACRE_VAL_INT ? v->i : 0;
}

static void fill(acre_event *e, const acre_value *r)
{
    memset(e, 0, sizeof *e);
    e->event_id = text(&r[E_ID]);
    e->type = text(&r[E_TYPE]);
    e->affiliate_id = text(&r[E_AFF]);
    e->customer_id = text(&r[E_CUST]);
    e->plan = text(&r[E_PLAN]);
    e->body = text(&r[E_BODY]);
    e->status = text(&r[E_STATUS]);
    e->seq = num(&r[E_SEQ]);
    e->made_at = num(&r[E_MADE]);
    e->attempts = (long)num(&r[E_ATTEMPTS]);
    e->next_at = num(&r[E_NEXT]);
    e->done_at = num(&r[E_DONE]);
    e->last_error = text(&r[E_ERROR]);
    e->made_by = text(&r[E_BY]);
}

/* The first column of the one row q gives for the affiliate, as text (new), or NULL. */
static int lookup(acre_store *s, const acre_query *q, const char *aff, char **out, acre_error *err)
{
    acre_value id = acre_val_text(aff);
    acre_rows rows;
    int rc;
    *out = NULL;
    if ((rc = acre_store_rows(s, q, &id, &rows, "reading an affiliate", err)))
        return rc;
    if (rows.n > 0 && text(acre_row(&rows, 0)) &&
        !(*out = acre_strndup(acre_row(&rows, 0)->s, acre_row(&rows, 0)->n)))
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    acre_rows_free(&rows);
    return rc;
}

int acre_events_each(acre_store *s, const char *status, long long due_at,
                     int (*fn)(void *ctx, const acre_event *e), void *ctx, acre_error *err)
{
    acre_value p[2] = {acre_val_text(due_at >= 0 ? "pending" : status), acre_val_int(due_at)};
    acre_rows rows;
    char **aff = NULL; /* per row: its affiliate's URL and secret now */
    int rc;
    memset(&rows, 0, sizeof rows);
    if ((rc = acre_store_begin_read(s, err)))
        return rc;
    rc = acre_store_rows(s,
                         due_at >= 0 ? &q_due
                         : status    ? &q_status
                                     : &q_all,
                         p, &rows, "reading events", err);
    if (!rc && rows.n && !(aff = acre_calloc((size_t)rows.n * 2, sizeof *aff)))
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    for (long i = 0; !rc && i < rows.n; i++) {
        const char *id = text(&acre_row(&rows, i)[E_AFF]);
        if (id && !(rc = lookup(s, &q_url, id, &aff[2 * i], err)))
            rc = lookup(s, &q_secret, id, &aff[2 * i + 1], err);
    }
    /* the read ends before fn runs: fn may record an attempt (a write of its own) */
    acre_store_rollback(s);
    for (long i = 0; !rc && i < rows.n; i++) {
        acre_event e;
        fill(&e, acre_row(&rows, i));
        e.postback_url = aff[2 * i];
        e.secret = aff[2 * i + 1];
        rc = fn(ctx, &e);
    }
    for (long i = 0; aff && i < rows.n * 2; i++)
        free(aff[i]);
    free(aff);
    acre_rows_free(&rows);
    return rc;
}

/* The delay before attempt n + 1 after n failed: 1 minute doubling, at most 6 hours, then
 * between half of it and all of it at random, so that receivers coming back are not met by
 * every event at once. */
static long long backoff(long n)
{
    long long d = 60;
    unsigned char r[4];
    unsigned v;
    for (long i = 1; i < n && d < ACRE_EVENT_MAX_DELAY; i++)
        d *= 2;
    if (d > ACRE_EVENT_MAX_DELAY)
        d = ACRE_EVENT_MAX_DELAY;
    if (RAND_bytes(r, sizeof r) != 1)
        return d;
    v = (unsigned)r[0] << 24 | (unsigned)r[1] << 16 | (unsigned)r[2] << 8 | r[3];
    return d / 2 + (long long)(v % (unsigned)(d / 2 + 1));
}

int acre_event_attempted(acre_store *s, const char *event_id, long attempts_seen, int delivered,
                         const char *error, long long now, const char **status_out, acre_error *err)
{
    acre_value id = acre_val_text(event_id);
    acre_rows rows;
    const char *status = "pending";
    int rc;
    if ((rc = acre_store_begin(s, err)))
        return rc;
    if ((rc = acre_store_rows(s, &q_one, &id, &rows, "reading an event", err)))
        goto out;
    if (rows.n == 0) {
        acre_rows_free(&rows);
        rc = acre_error_set(err, ACRE_ENOTFOUND, "event_id", "unknown_event", "no event %s",
                            event_id);
        goto out;
    }
    {
        acre_event e;
        long n;
        fill(&e, acre_row(&rows, 0));
        n = e.attempts + 1;
        if (e.made_at == 0)
            e.made_at = now; /* made by a close, or an ingest with no time: its 72 hours start */
        if (strcmp(e.status, "pending") != 0 || e.attempts != attempts_seen) {
            /* another deliverer's result came first: it stands */
            status = strcmp(e.status, "delivered") == 0 ? "delivered"
                     : strcmp(e.status, "dead") == 0    ? "dead"
                                                        : "pending";
            acre_rows_free(&rows);
            goto out;
        }
        if (delivered)
            status = "delivered";
        else if (now - e.made_at >= ACRE_EVENT_LIFE)
            status = "dead";
        {
            acre_value set[7] = {
                acre_val_text(status),
                acre_val_int(n),
                acre_val_int(strcmp(status, "pending") ? e.next_at : now + backoff(n)),
                strcmp(status, "pending") ? acre_val_int(now) : acre_val_null(),
                delivered ? acre_val_null() : acre_val_text(error),
                acre_val_int(e.made_at),
                id};
            rc = acre_store_query(s, &q_set, set, NULL, NULL, "recording an attempt", err);
        }
    }
    acre_rows_free(&rows);
out:
    if (rc) {
        acre_store_rollback(s);
        return rc;
    }
    if (status_out)
        *status_out = status;
    return acre_store_commit(s, err);
}

int acre_event_retry(acre_store *s, const char *event_id, long long now, acre_error *err)
{
    acre_value id = acre_val_text(event_id);
    acre_rows rows;
    int rc;
    if ((rc = acre_store_begin(s, err)))
        return rc;
    if ((rc = acre_store_rows(s, &q_one, &id, &rows, "reading an event", err)))
        goto out;
    if (rows.n == 0)
        rc = acre_error_set(err, ACRE_ENOTFOUND, "event_id", "unknown_event", "no event %s",
                            event_id);
    else if (strcmp(text(&acre_row(&rows, 0)[E_STATUS]), "delivered") == 0)
        rc = acre_error_set(err, ACRE_EREFUSED, "event_id", "delivered",
                            "event %s was delivered: a receiver that lost it can ask for it "
                            "again by its id, it is not sent twice",
                            event_id);
    acre_rows_free(&rows);
    if (!rc) {
        acre_value set[7] = {acre_val_text("pending"),
                             acre_val_int(0),
                             acre_val_int(now),
                             acre_val_null(),
                             acre_val_null(),
                             acre_val_int(now),
                             id};
        rc = acre_store_query(s, &q_restart, set, NULL, NULL, "retrying an event", err);
    }
out:
    if (rc) {
        acre_store_rollback(s);
        return rc;
    }
    return acre_store_commit(s, err);
}
