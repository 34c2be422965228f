/* tools/serve_records.c — `acre serve`'s records: POST /api/v1/KIND and Fast Track's bonus
 * path through the writer, with Idempotency-Key; GET /api/v1/KIND a page at a time. */
#include <openssl/evp.h>
#include <time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"

/* ---- writes ---------------------------------------------------------------------------- */

typedef struct ingest_job {
    const char *kind, *body;
    size_t len;
    const char *client_id, *key;
    char sha[65], source[200], now_iso[32];
    long long now;
    long max_records;
    acre_ingest_prep *prep; /* the body, parsed and validated on the request thread */
    int rc;
    acre_error err;
    acre_ingest_summary sum;
    json_t *rejects;
    char *answer;       /* the stored request's answer */
    int replayed;       /* answer and status are a kept answer */
    int status, reused; /* reused: the key was kept for another request */
} ingest_job;

static void collect(void *ctx, const acre_reject *rj)
{
    ingest_job *j = ctx;
    json_t *v;
    if (json_array_size(j->rejects) >= MAX_RECORDS)
        return; /* more records than a request may have: refused as such (max_records) */
    v = json_loads(rj->json, 0, NULL);
    if (v)
        json_array_append_new(j->rejects, v);
}

static char *summary_text(const char *kind, const acre_ingest_summary *s)
{
    char buf[300];
    snprintf(buf, sizeof buf,
             "{\"kind\":\"%s\",\"received\":%ld,\"inserted\":%ld,\"updated\":%ld,"
             "\"unchanged\":%ld,\"rejected\":%ld}",
             kind, s->received, s->inserted, s->updated, s->unchanged, s->rejected);
    return strdup(buf);
}

/* before_commit: the answer, kept for the Idempotency-Key in the records' transaction */
static int keep_answer(void *ctx, acre_store *s, const acre_ingest_summary *sum, acre_error *err)
{
    ingest_job *j = ctx;
    if (!(j->answer = summary_text(j->kind, sum)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    j->status = MHD_HTTP_OK;
    if (!j->key)
        return 0;
    return acre_idem_put(s, j->client_id, j->key, j->sha, j->status, j->answer, j->now, err);
}

/* A request's batch: `acre ingest --atomic`, at most max_records, not refused as re-sent (an
 * API client may send the same records again: they are unchanged upserts). The request thread
 * prepares it with these and the writer stores it with the same. */
static acre_ingest_opts ingest_opts(ingest_job *j)
{
    acre_ingest_opts o = {.atomic = 1,
                          .source = j->source,
                          .on_reject = collect,
                          .ctx = j,
                          .again = 1,
                          .stored_at = j->now_iso,
                          .max_records = j->max_records,
                          .before_commit = keep_answer,
                          .commit_ctx = j};
    return o;
}

/* The writer's part: references checked and the records stored (in a group's savepoint). */
static void run_ingest(acre_store *s, void *arg)
{
    ingest_job *j = arg;
    acre_ingest_opts o = ingest_opts(j);
    acre_error_clear(&j->err);
    j->rc = acre_ingest_prepared(s, j->prep, &o, &j->sum, &j->err);
}

/* The group the job was stored in did not commit: nothing of it is stored. */
static void lost_ingest(void *arg, int rc, const acre_error *err)
{
    ingest_job *j = arg;
    if (j->rc != 0)
        return; /* refused already: its answer stands */
    j->rc = rc;
    j->err = *err;
    j->sum.rejected = j->sum.received;
    j->sum.inserted = j->sum.updated = j->sum.unchanged = 0;
    free(j->answer);
    j->answer = NULL;
}

/* Marks "client key" in flight: 0, or -1 when it already is. */
static int idem_enter(server *sv, const char *client, const char *key, char **mark)
{
    size_t n = strlen(client) + strlen(key) + 2;
    int rc = 0;
    if (!(*mark = malloc(n)))
        return -1;
    snprintf(*mark, n, "%s %s", client, key);
    pthread_mutex_lock(&sv->idem_mu);
    for (int i = 0; i < sv->ninflight; i++)
        if (strcmp(sv->inflight[i], *mark) == 0)
            rc = -1;
    if (rc == 0 && sv->ninflight == sv->capinflight) {
        int cap = sv->capinflight ? 2 * sv->capinflight : 16;
        char **p = realloc(sv->inflight, (size_t)cap * sizeof *p);
        if (p) {
            sv->inflight = p;
            sv->capinflight = cap;
        } else {
            rc = -1;
        }
    }
    if (rc == 0)
        sv->inflight[sv->ninflight++] = *mark;
    pthread_mutex_unlock(&sv->idem_mu);
    if (rc) {
        free(*mark);
        *mark = NULL;
    }
    return rc;
}

void sv_idem_leave(server *sv, char *mark)
{
    if (!mark)
        return;
    pthread_mutex_lock(&sv->idem_mu);
    for (int i = 0; i < sv->ninflight; i++)
        if (sv->inflight[i] == mark) {
            sv->inflight[i] = sv->inflight[--sv->ninflight];
            break;
        }
    pthread_mutex_unlock(&sv->idem_mu);
    free(mark);
}

/* POST /api/v1/KIND and /v1/integration/bonus, before the body: the token, its scope, the
 * media type, the Idempotency-Key (in flight: 409). 0, or -1 with the answer queued in *ret. */
int sv_records_check(struct MHD_Connection *c, request *r, enum MHD_Result *ret)
{
    char type[64];
    acre_token t;

    r->checked = 1;
    if (sv_authorize(c, r, &t, ret))
        return -1;
    if (!acre_scope_has(t.scope, "ingest")) {
        *ret = sv_forbidden(c, r, "ingest");
        return -1;
    }
    sv_media_type(c, type);
    if (strcmp(type, "application/json") && strcmp(type, "application/x-ndjson")) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "records are sent as application/json or application/x-ndjson, not \"%s\"",
                 !type[0]                  ? "(no Content-Type)"
                 : sv_plain_text(type, 63) ? type
                                           : "(not text)");
        *ret = sv_fail(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", msg, NULL,
                       NULL, 0);
        return -1;
    }
    r->key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (r->key && (!*r->key || strlen(r->key) > 255)) {
        *ret = sv_fail(c, r, MHD_HTTP_BAD_REQUEST, "INVALID_REQUEST",
                       "an Idempotency-Key is 1 to 255 characters", NULL, NULL, 0);
        return -1;
    }
    snprintf(r->client_id, sizeof r->client_id, "%s", t.client_id);
    if (r->key && idem_enter(r->sv, r->client_id, r->key, &r->mark)) {
        *ret = sv_fail(c, r, MHD_HTTP_CONFLICT, "IDEMPOTENCY_CONFLICT",
                       "a request with this Idempotency-Key is still in flight; retry when it has "
                       "been answered",
                       NULL, NULL, 0);
        return -1;
    }
    return 0;
}

/* The Idempotency-Key's kept answer, read on the request thread: 1 when there is one (a replay,
 * or the key kept for another body), 0 when not, -1 when the store failed (j->rc). The key is
 * in flight here (sv_records_check), so no other request can keep it meanwhile. */
static int kept_answer(server *sv, ingest_job *j)
{
    acre_idem kept;
    acre_store *ts = sv_thread_store(sv, &j->err);
    int rc;
    if (!ts) {
        j->rc = ACRE_EIO;
        return -1;
    }
    rc = acre_idem_get(ts, j->client_id, j->key, j->now, &kept, &j->err);
    if (rc == ACRE_ENOTFOUND) {
        acre_error_clear(&j->err);
        return 0;
    }
    if (rc) {
        j->rc = rc;
        return -1;
    }
    if (strcmp(kept.body_sha256, j->sha) == 0) {
        j->replayed = 1;
        j->status = kept.status;
        j->answer = kept.answer;
    } else {
        j->reused = 1;
        free(kept.answer);
    }
    return 1;
}

/* The body has arrived: its kept answer, else the body parsed and validated here (the costly
 * part, on this request thread), then the store's part handed to the writer, suspending the
 * connection. A request answered here (a replay, a reused key, too many records) never
 * waits for the writer. */
/* The Idempotency-Key's fingerprint of the request: the SHA-256 of the path's kind and the
 * body, in j->sha. 0, or -1 out of memory. */
static int fingerprint(ingest_job *j)
{
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    if (!x)
        return -1;
    EVP_DigestInit_ex(x, EVP_sha256(), NULL);
    EVP_DigestUpdate(x, j->kind, strlen(j->kind) + 1);
    EVP_DigestUpdate(x, j->body, j->len);
    EVP_DigestFinal_ex(x, md, &mdlen);
    EVP_MD_CTX_free(x);
    for (unsigned i = 0; i < 32; i++)
        snprintf(j->sha + 2 * i, 3, "%02x", md[i]);
    return 0;
}

enum MHD_Result sv_records_start(struct MHD_Connection *c, request *r)
{
    ingest_job *j = calloc(1, sizeof *j);
    struct tm tm;
    time_t now = time(NULL);
    acre_ingest_opts o;

    if (!j || !(j->rejects = json_array())) {
        free(j);
        return MHD_NO;
    }
    r->ij = j;
    j->kind = r->kind;
    j->body = r->body ? r->body : "";
    j->len = r->len;
    j->client_id = r->client_id;
    j->key = r->key;
    j->now = (long long)now;
    /* Fast Track's path takes one bonus event (SPEC 11) */
    j->max_records = r->one ? 1 : MAX_RECORDS;
    gmtime_r(&now, &tm);
    strftime(j->now_iso, sizeof j->now_iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(j->source, sizeof j->source, "request %s of %s", r->id, r->client_id);
    if (j->key && fingerprint(j))
        return MHD_NO; /* r->ij is freed with the request */
    acre_error_clear(&j->err);
    if (j->key && kept_answer(r->sv, j))
        return sv_records_finish(c, r);
    o = ingest_opts(j);
    if ((j->rc = acre_ingest_prepare(&j->prep, j->kind, j->body, j->len, &o, &j->sum, &j->err)))
        return sv_records_finish(c, r);
    r->job.fn = run_ingest;
    r->job.arg = j;
    r->job.lost = lost_ingest;
    r->job.group = 1;
    return sv_to_writer(r->sv, c, r);
}

/* The writer has run the job: the answer. */
enum MHD_Result sv_records_finish(struct MHD_Connection *c, request *r)
{
    ingest_job *j = r->ij;
    enum MHD_Result ret;

    sv_idem_leave(r->sv, r->mark);
    r->mark = NULL;
    if (j->replayed) {
        const char *hdr[] = {"Idempotent-Replayed", "true"};
        ret = sv_send_json(c, r, (unsigned)j->status, j->answer, hdr, 1);
        j->answer = NULL;
    } else if (j->reused) {
        ret = sv_fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "IDEMPOTENCY_KEY_REUSED",
                      "this Idempotency-Key was used in the last 24 hours for another request",
                      NULL, NULL, 0);
    } else if (j->rc == 0) {
        for (int i = 0; i < N_KINDS && acre_kind_name(i); i++)
            if (strcmp(acre_kind_name(i), j->kind) == 0) {
                pthread_mutex_lock(&r->sv->metrics_mu);
                r->sv->m.stored[i] += j->sum.inserted + j->sum.updated;
                pthread_mutex_unlock(&r->sv->metrics_mu);
            }
        ret = sv_send_json(c, r, MHD_HTTP_OK, j->answer, NULL, 0);
        j->answer = NULL;
    } else if (j->rc == ACRE_EREJECTED &&
               (strcmp(j->err.rule, "json") == 0 || strcmp(j->err.rule, "envelope") == 0)) {
        /* the engine's message names the batch as a file: say it of the request */
        char msg[700];
        const char *why = strstr(j->err.message, j->source), *end;
        why = why ? why + strlen(j->source) + 2 : j->err.message;
        end = strstr(why, "; the file is refused");
        snprintf(msg, sizeof msg, "%.*s; nothing of the request is stored",
                 (int)(end ? (size_t)(end - why) : strlen(why)), why);
        ret = sv_fail(c, r, MHD_HTTP_BAD_REQUEST, "INVALID_REQUEST", msg, j->rejects, NULL, 0);
        j->rejects = NULL;
    } else if (j->rc == ACRE_EREJECTED && strcmp(j->err.rule, "max_records") == 0) {
        char msg[200];
        json_t *d;
        snprintf(msg, sizeof msg,
                 "%ld records; this path takes at most %ld at once, and nothing of these is "
                 "stored",
                 j->sum.received, j->max_records);
        d = json_pack("[{s:I,s:[{s:s,s:s,s:s}]}]", "index", (json_int_t)j->max_records, "errors",
                      "field", "", "rule", "max_records", "message", msg);
        ret = sv_fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", msg, d, NULL, 0);
    } else if (j->rc == ACRE_EREJECTED && strcmp(j->err.rule, "atomic") == 0) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%zu of %ld records are invalid; nothing of the request is stored",
                 json_array_size(j->rejects), j->sum.received);
        ret = sv_fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", msg, j->rejects,
                      NULL, 0);
        j->rejects = NULL;
    } else if (j->rc == ACRE_EREJECTED) {
        ret = sv_fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", j->err.message,
                      j->rejects, NULL, 0);
        j->rejects = NULL;
    } else {
        ret = sv_fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", j->err.message, NULL, NULL,
                      0);
    }
    return ret;
}

void sv_records_free(struct ingest_job *j)
{
    if (j) {
        acre_ingest_prep_free(j->prep);
        json_decref(j->rejects);
        free(j->answer);
        free(j);
    }
}

/* ---- reading records back ------------------------------------------------------------- */

typedef struct records_page {
    char *text; /* "rec,rec,..." */
    size_t len, cap;
    long n, want;
    char last[8200]; /* the cursor of the last record given (a key of up to 4 x 500 bytes, hex) */
    int extra_seen;  /* a record past the page: there is a next page */
    int oom;
} records_page;

static int add_record(void *ctx, const char *json, size_t len, const char *cursor)
{
    records_page *p = ctx;
    if (p->n == p->want) {
        p->extra_seen = 1; /* one more than the page: there is a next page */
        return 1;
    }
    if (p->len + len + 2 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 65536;
        char *t;
        while (cap < p->len + len + 2)
            cap *= 2;
        if (!(t = realloc(p->text, cap))) {
            p->oom = 1;
            return 1;
        }
        p->text = t;
        p->cap = cap;
    }
    if (p->n)
        p->text[p->len++] = ',';
    memcpy(p->text + p->len, json, len);
    p->len += len;
    snprintf(p->last, sizeof p->last, "%s", cursor);
    p->n++;
    return 0;
}

/* GET /api/v1/KIND: the current versions, filtered, a page at a time (SPEC 11 "Pages") */
enum MHD_Result sv_records_get(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"read", NULL};
    acre_list_opts o;
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    long page, per_page, total = 0, before = 0;
    const char *cursor;
    records_page p;
    char *body, *meta;
    size_t n;
    int rc;

    if (sv_allowed(c, r, &t, scopes, &ret) || sv_paging(c, r, &page, &per_page, &cursor, &ret))
        return ret;
    memset(&o, 0, sizeof o);
    o.customer_id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "customer_id");
    o.affiliate_id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "affiliate_id");
    o.from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
    o.to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
    o.updated_since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "updated_since");
    o.after = cursor;
    o.offset = cursor ? 0 : (page - 1) * per_page;
    o.limit = per_page + 1; /* one more says whether a next page exists */
    memset(&p, 0, sizeof p);
    p.want = per_page;
    acre_error_clear(&err);
    if (!(s = sv_thread_store(r->sv, &err)))
        return sv_engine_error(c, r, ACRE_EIO, &err);
    rc = acre_records_list(s, r->kind, &o, add_record, &p, &total, &before, &err);
    if (rc || p.oom) {
        free(p.text);
        return p.oom ? MHD_NO : sv_engine_error(c, r, rc, &err);
    }
    n = p.len + 256 + strlen(p.last);
    if (!(body = malloc(n))) {
        free(p.text);
        return MHD_NO;
    }
    meta = p.extra_seen ? p.last : NULL;
    snprintf(body, n,
             "{\"data\":[%.*s],\"meta\":{\"total\":%ld,\"page\":%ld,\"per_page\":%ld,"
             "\"next_cursor\":%s%s%s}}",
             (int)p.len, p.text ? p.text : "", total, cursor ? before / per_page + 1 : page,
             per_page, meta ? "\"" : "", meta ? meta : "null", meta ? "\"" : "");
    free(p.text);
    return sv_send_json(c, r, MHD_HTTP_OK, body, NULL, 0);
}
