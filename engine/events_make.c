/* engine/events_make.c — making events (engine/events_int.h): each one's id and body, and the
 * new ones stored in the outbox, many at once. Whether each one's id, or its customer's
 * `qualified` event, is stored already is read for all of them in one run of parameter sets
 * (on PostgreSQL one statement, engine/store_pg_sets.c), then the new ones are inserted (on
 * PostgreSQL sent ahead): a chunk of an ingest's qualified customers costs a few round trips,
 * not three a customer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "digest.h"
#include "events_int.h"
#include "store_int.h"
#include "strset.h"

static const acre_query q_event_id = {
    ACRE_Q_SELECT, "event", {"event_id", NULL}, {{"event_id", ACRE_EQ}}, {NULL}, 0, 1};
static const acre_query q_event_qualified = {ACRE_Q_SELECT,
                                             "event",
                                             {"event_id", NULL},
                                             {{"customer_id", ACRE_EQ}, {"type", ACRE_EQ}},
                                             {NULL},
                                             0,
                                             1};
static const acre_query q_event_add = {ACRE_Q_INSERT, "event", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};

static int oom(acre_error *err)
{
    return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
}

void acre_event_stmts_done(acre_store *s, acre_event_stmts *st)
{
    acre_store_done(s, st->id);
    acre_store_done(s, st->add);
    acre_store_done(s, st->customer);
    acre_store_done(s, st->flags);
    acre_store_done(s, st->qualified);
    memset(st, 0, sizeof *st);
}

/* e's id: "ev_" and 32 hex digits of the SHA-256 of its type, customer and plan (never two
 * events for the same three). 0, or ACRE_ENOMEM. */
static int event_id(char id[36], const acre_event_new *e)
{
    char digest[65];
    acre_buf key = {0};
    acre_buf_adds(&key, e->type);
    acre_buf_add(&key, "", 1);
    acre_buf_adds(&key, e->customer_id);
    acre_buf_add(&key, "", 1);
    acre_buf_adds(&key, e->plan);
    if (key.oom) {
        acre_buf_free(&key);
        return ACRE_ENOMEM;
    }
    acre_sha256_hex(digest, key.p, key.len);
    acre_buf_free(&key);
    snprintf(id, 36, "ev_%.32s", digest);
    return 0;
}

/* e stored under id: its body SPEC 12's members, in its order; pending and due now. */
static int store_event(acre_store *s, acre_stmt *add, const acre_event_new *e, const char *id,
                       acre_error *err)
{
    acre_buf body = {0};
    int rc;
    acre_buf_printf(&body, "{\"event_id\":\"%s\",\"type\":\"%s\",\"affiliate_id\":", id, e->type);
    acre_buf_json_str(&body, e->affiliate_id, strlen(e->affiliate_id));
    acre_buf_adds(&body, ",\"customer_id\":");
    acre_buf_json_str(&body, e->customer_id, strlen(e->customer_id));
    acre_buf_adds(&body, ",\"click_id\":");
    if (e->click_id)
        acre_buf_json_str(&body, e->click_id, strlen(e->click_id));
    else
        acre_buf_adds(&body, "null");
    acre_buf_adds(&body, ",\"campaign_id\":");
    if (e->campaign_id)
        acre_buf_json_str(&body, e->campaign_id, strlen(e->campaign_id));
    else
        acre_buf_adds(&body, "null");
    acre_buf_printf(&body, ",\"qualified_at\":\"%s\",\"ftd\":", e->qualified_at);
    if (e->ftd_id) {
        acre_buf_adds(&body, "{\"transaction_id\":");
        acre_buf_json_str(&body, e->ftd_id, strlen(e->ftd_id));
        acre_buf_printf(&body, ",\"amount\":\"%s\",\"currency\":\"%s\"}", e->ftd_amount,
                        e->ftd_currency);
    } else {
        acre_buf_adds(&body, "null");
    }
    acre_buf_adds(&body, ",\"plan\":");
    acre_buf_json_str(&body, e->plan, strlen(e->plan));
    if (e->extra)
        acre_buf_adds(&body, e->extra);
    acre_buf_adds(&body, "}");
    if (body.oom) {
        acre_buf_free(&body);
        return oom(err);
    }
    {
        long long now = e->made_at;
        acre_value row[14] = {acre_val_text(id),
                              acre_val_int(e->seq),
                              acre_val_text(e->type),
                              acre_val_text(e->affiliate_id),
                              acre_val_text(e->customer_id),
                              acre_val_text(e->plan),
                              acre_val_text(body.p),
                              acre_val_int(now),
                              acre_val_text("pending"),
                              acre_val_int(0),
                              acre_val_int(now),
                              acre_val_null(),
                              acre_val_null(),
                              acre_val_text(e->made_by)};
        rc = acre_store_run(s, add, row, NULL, NULL, "storing an event", err);
    }
    acre_buf_free(&body);
    return rc;
}

/* A read's rows mark the event of the set they answer as stored already. */
typedef struct marks {
    char *stored;
    const int *event; /* set -> event */
    long set;
} marks;

static int mark(void *ctx, const acre_value *row, int n, acre_error *err)
{
    marks *m = ctx;
    (void)row, (void)n, (void)err;
    m->stored[m->event[m->set]] = 1;
    return 0;
}

/* The statement of q: kept in *slot (prepared on first use), or, slot NULL, in *own for this
 * call alone. */
static int stmt_for(acre_store *s, acre_stmt **slot, acre_stmt **own, const acre_query *q,
                    acre_stmt **out, acre_error *err)
{
    int rc;
    if (!slot)
        slot = own;
    if (!*slot && (rc = acre_store_stmt(s, q, slot, err)))
        return rc;
    *out = *slot;
    return 0;
}

int acre_event_make_many(acre_store *s, acre_event_stmts *st, const acre_event_new *e, int n,
                         acre_error *err)
{
    char(*ids)[36] = acre_malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    char *stored = acre_calloc((size_t)n + 1, 1);
    int *event = acre_malloc(((size_t)n + 1) * sizeof *event);
    acre_value *p = acre_malloc(((size_t)n + 1) * 2 * sizeof *p);
    acre_strset seen = {0}, qualified = {0};
    acre_stmt *own[3] = {NULL, NULL, NULL}, *by_id, *by_customer, *add;
    marks m = {stored, event, 0};
    long nsets = 0;
    int rc = 0;

    if (!ids || !stored || !event || !p) {
        rc = oom(err);
        goto out;
    }
    /* within the events themselves: never two of one id, nor two `qualified` of one customer
     * (as when each was made after the one before it) */
    for (int i = 0; i < n && !rc; i++) {
        const char *c = e[i].customer_id;
        int q = strcmp(e[i].type, "qualified") == 0;
        if (event_id(ids[i], &e[i]))
            rc = oom(err);
        else if (acre_strset_get(&seen, ids[i], strlen(ids[i]), NULL) ||
                 (q && acre_strset_get(&qualified, c, strlen(c), NULL)))
            stored[i] = 1;
        else if (acre_strset_put(&seen, ids[i], strlen(ids[i]), 1) ||
                 (q && acre_strset_put(&qualified, c, strlen(c), 1)))
            rc = oom(err);
    }
    if (rc || (rc = stmt_for(s, st ? &st->id : NULL, &own[0], &q_event_id, &by_id, err)) ||
        (rc = stmt_for(s, st ? &st->qualified : NULL, &own[1], &q_event_qualified, &by_customer,
                       err)) ||
        (rc = stmt_for(s, st ? &st->add : NULL, &own[2], &q_event_add, &add, err)))
        goto out;
    /* the ids stored already */
    for (int i = 0; i < n; i++)
        if (!stored[i]) {
            event[nsets] = i;
            p[nsets++] = acre_val_text(ids[i]);
        }
    if ((rc = acre_store_run_sets(s, by_id, p, 1, nsets, &m.set, mark, &m, "reading events", err)))
        goto out;
    /* a customer qualifies once: under a plan changed since (a new version, another
     * assignment) the close may settle it under another plan, but it is not news */
    nsets = 0;
    for (int i = 0; i < n; i++)
        if (!stored[i] && strcmp(e[i].type, "qualified") == 0) {
            event[nsets] = i;
            p[2 * nsets] = acre_val_text(e[i].customer_id);
            p[2 * nsets++ + 1] = acre_val_text("qualified");
        }
    if ((rc = acre_store_run_sets(s, by_customer, p, 2, nsets, &m.set, mark, &m, "reading events",
                                  err)))
        goto out;
    for (int i = 0; i < n && !rc; i++)
        if (!stored[i])
            rc = store_event(s, add, &e[i], ids[i], err);
out:
    for (int i = 0; i < 3; i++)
        acre_store_done(s, own[i]);
    acre_strset_free(&seen);
    acre_strset_free(&qualified);
    free(ids);
    free(stored);
    free(event);
    free(p);
    return rc;
}
