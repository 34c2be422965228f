/* tools/serve.c — `acre serve`: the HTTP API of SPEC 11 on libmicrohttpd (docs/api.md).
 *
 * Threads. libmicrohttpd's pool of request threads (--threads) reads requests (a body is at
 * most 16 MiB) and answers them. Every batch of records is a job for one writer thread, which
 * owns the store's write handle and runs the jobs in the order they came; the request's
 * connection is suspended meanwhile (its thread serves its other connections) and resumed by
 * the writer, and the answer is sent then. A request is one transaction, and its answer is sent
 * only after its commit (synchronous=FULL), so an answered request is stored, whenever the
 * server is killed. Token checks read on a store handle per request thread; a token's row is
 * written there too, in a short transaction after the secret's PBKDF2 (which holds no lock). A
 * slow client never holds the write lock: a job is made only once its body has arrived.
 *
 * Validation is acre_ingest_buffer's, the same code and messages as `acre ingest`, with
 * --atomic (a request is all-or-nothing), at most 1,000 records, and without the re-sent check
 * (an API client may send the same records again: they are unchanged upserts). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "acre.h"
#include "cli.h"
#include "http_parse.h"
#include "serve.h"

#define MAX_BODY (16u << 20) /* bytes of a request body (SPEC 11: 413 above) */
#define MAX_RECORDS 1000     /* records of a request (rule max_records) */
#define RATE_SLOTS 4096      /* tokens counted at once by the rate limiter */
#define STOP_WAIT_MS 30000   /* how long SIGTERM waits for requests in flight */

/* ---- the writer ------------------------------------------------------------------------ */

typedef struct job {
    void (*fn)(acre_store *s, void *arg);
    void *arg;
    struct MHD_Connection *conn; /* suspended until the job is done; resumed then */
    int done;
    struct job *next;
} job;

typedef struct rate_slot {
    char key[80]; /* "client ID" or "ip ADDRESS" */
    long long minute;
    long count;
} rate_slot;

/* /metrics: requests by route and status, their latency, records stored by kind */
#define N_ROUTES 9
static const char *const route_names[N_ROUTES] = {
    "other", "health", "token", "records", "periods", "preview", "close", "ledgers", "metrics"};
static const long long latency_us[] = {5000,   10000,   25000,   50000,   100000,  250000,
                                       500000, 1000000, 2500000, 5000000, 10000000};
#define N_LATENCY ((int)(sizeof latency_us / sizeof latency_us[0]))
#define N_KINDS 16

typedef struct metrics {
    long long requests[N_ROUTES][600]; /* by route and status (100-599) */
    long long latency[N_LATENCY + 1];  /* cumulative at writing; here per bucket, +Inf last */
    long long latency_sum_us, latency_count;
    long long stored[N_KINDS]; /* records inserted or updated, by acre_kind_name index */
    long long limited;
} metrics;

typedef struct server {
    serve_opts o;
    pthread_mutex_t metrics_mu;
    metrics m;
    acre_store *ws; /* the writer's */
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t jobs;
    job *head, *tail;
    int stop;
    long active; /* requests begun and not yet completed */
    pthread_key_t store_key;
    pthread_mutex_t rate_mu;
    rate_slot *slots;
    pthread_mutex_t idem_mu;
    char **inflight; /* "client_id key" of POSTs with an Idempotency-Key in flight */
    int ninflight, capinflight;
} server;

static void *writer_main(void *arg)
{
    server *sv = arg;
    pthread_mutex_lock(&sv->mu);
    for (;;) {
        job *j;
        while (!sv->head && !sv->stop)
            pthread_cond_wait(&sv->jobs, &sv->mu);
        if (!sv->head)
            break;
        j = sv->head;
        sv->head = j->next;
        if (!sv->head)
            sv->tail = NULL;
        pthread_mutex_unlock(&sv->mu);
        j->fn(sv->ws, j->arg);
        pthread_mutex_lock(&sv->mu);
        j->done = 1;
        /* the request thread answers on its next call, once resumed */
        MHD_resume_connection(j->conn);
    }
    pthread_mutex_unlock(&sv->mu);
    return NULL;
}

/* Suspends the connection c (inside its access handler) and queues j for the writer, which
 * resumes c once j has run: a request thread serves its other connections meanwhile. */
static void to_writer(server *sv, struct MHD_Connection *c, job *j)
{
    j->conn = c;
    j->done = 0;
    j->next = NULL;
    MHD_suspend_connection(c);
    pthread_mutex_lock(&sv->mu);
    if (sv->tail)
        sv->tail->next = j;
    else
        sv->head = j;
    sv->tail = j;
    pthread_cond_signal(&sv->jobs);
    pthread_mutex_unlock(&sv->mu);
}

static int job_done(server *sv, const job *j)
{
    int d;
    pthread_mutex_lock(&sv->mu);
    d = j->done;
    pthread_mutex_unlock(&sv->mu);
    return d;
}

/* The calling request thread's read handle on the store, opened on first use. */
static acre_store *thread_store(server *sv, acre_error *err)
{
    acre_store *s = pthread_getspecific(sv->store_key);
    if (s)
        return s;
    if (acre_store_open(&s, sv->o.db, err))
        return NULL;
    if (sv->o.key_file && acre_store_set_ledger_key_file(s, sv->o.key_file, err)) {
        acre_store_free(s);
        return NULL;
    }
    pthread_setspecific(sv->store_key, s);
    return s;
}

static void free_thread_store(void *p)
{
    acre_store_free(p);
}

/* ---- a request ------------------------------------------------------------------------- */

enum { R_NONE, R_HEALTH, R_TOKEN, R_RECORDS, R_PERIODS, R_PREVIEW, R_CLOSE, R_LEDGER, R_METRICS };

struct ingest_job;

typedef struct request {
    server *sv;
    int route;        /* R_* once routed */
    const char *kind; /* R_RECORDS: the record kind (static or the URL's, which outlives us) */
    int checked;      /* R_RECORDS: token, scope, media type and key checked */
    int one;          /* Fast Track's /v1/integration/bonus: one record */
    int drop;         /* the body is not kept (preview, close) */
    char client_id[40], *mark; /* the token's client; its Idempotency-Key in flight */
    const char *key;           /* Idempotency-Key (the connection's header) or NULL */
    char *body;
    size_t len, cap;
    int too_large; /* 1: answered 413 on the first call; 2: a body grown past the limit */
    char id[80];   /* X-Request-ID, the trace_id of its errors */
    job job;
    struct ingest_job *ij;      /* the write handed to the writer */
    struct close_job *cj;       /* a close handed to the writer */
    char period[8];             /* R_PREVIEW, R_CLOSE, R_LEDGER: YYYY-MM */
    unsigned status;            /* the status queued, for /metrics */
    int defer;                  /* answers are kept in `early`, not queued (a body is on its way) */
    struct MHD_Response *early; /* a refusal made before the body: sent once it is read */
    size_t dropped;             /* bytes of the body read and dropped meanwhile */
    struct timespec start;
} request;

static void random_hex(char *out, size_t bytes)
{
    unsigned char b[32];
    static const char hex[] = "0123456789abcdef";
    if (bytes > sizeof b || RAND_bytes(b, (int)bytes) != 1)
        memset(b, 0, sizeof b);
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * bytes] = 0;
}

/* 1 when s is 1 to max printable ASCII characters without spaces */
static int plain_text(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 127)
            return 0;
    return 1;
}

/* The client's X-Request-ID when it is 1-64 printable ASCII characters; else a new one. */
static void request_id(struct MHD_Connection *c, char out[80])
{
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-ID");
    if (plain_text(id, 64))
        memcpy(out, id, strlen(id) + 1);
    else
        random_hex(out, 16);
}

/* Queues resp (taken), or keeps it for when the body has been read (r->defer): a client that
 * is still sending when the connection closes may lose the answer (a reset), so a refusal made
 * before the body is sent after it, the body read and dropped. */
static enum MHD_Result queue(struct MHD_Connection *c, request *r, unsigned status,
                             struct MHD_Response *resp)
{
    enum MHD_Result ret = MHD_YES;
    if (r->defer && !r->early) {
        r->early = resp;
    } else {
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
    }
    if (ret == MHD_YES)
        r->status = status;
    return ret;
}

/* Queues status with the JSON text `body` (taken: freed here) and headers hdr[0..2n). */
static enum MHD_Result send_json(struct MHD_Connection *c, request *r, unsigned status, char *body,
                                 const char *const *hdr, int n)
{
    struct MHD_Response *resp;
    if (!body)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "X-Request-ID", r->id);
    for (int i = 0; i < n; i++)
        MHD_add_response_header(resp, hdr[2 * i], hdr[2 * i + 1]);
    return queue(c, r, status, resp);
}

/* The same for a body of another media type (a ledger as CSV, /metrics), its text taken. */
static enum MHD_Result send_text(struct MHD_Connection *c, request *r, unsigned status,
                                 const char *type, char *body, size_t len)
{
    struct MHD_Response *resp;
    if (!body)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "X-Request-ID", r->id);
    return queue(c, r, status, resp);
}

static enum MHD_Result send_value(struct MHD_Connection *c, request *r, unsigned status, json_t *v,
                                  const char *const *hdr, int n)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return send_json(c, r, status, text, hdr, n);
}

/* The error body of SPEC 11; details is taken (NULL: null). */
static enum MHD_Result fail(struct MHD_Connection *c, request *r, unsigned status, const char *code,
                            const char *message, json_t *details, const char *const *hdr, int n)
{
    json_t *v = json_pack("{s:s,s:s,s:s,s:o}", "error", code, "message", message, "trace_id", r->id,
                          "details", details ? details : json_null());
    if (!v) /* a message that is not UTF-8: the code alone */
        v = json_pack("{s:s,s:s,s:s,s:n}", "error", code, "message", code, "trace_id", r->id,
                      "details");
    return send_value(c, r, status, v, hdr, n);
}

static enum MHD_Result not_allowed(struct MHD_Connection *c, request *r, const char *allow)
{
    const char *hdr[] = {"Allow", allow};
    char msg[80];
    snprintf(msg, sizeof msg, "this path answers %s only", allow);
    return fail(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", msg, NULL, hdr, 1);
}

/* The media type of Content-Type, lower-case, without parameters. */
static void media_type(struct MHD_Connection *c, char out[64])
{
    http_media_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"), out);
}

/* ---- limits and tokens ----------------------------------------------------------------- */

/* Counts a request of `key` ("client ID", "ip ADDRESS") in this minute: 0, or the seconds
 * until it may send again. A slot of another key counted in an earlier minute is taken over;
 * when the 64 slots a key may use are all this minute's, the first is taken over. */
static long rate_limited(server *sv, const char *key, long long now)
{
    unsigned long h = 5381;
    long long minute = now / 60;
    long wait = 0;
    rate_slot *sl = NULL;
    for (const char *p = key; *p; p++)
        h = h * 33 + (unsigned char)*p;
    pthread_mutex_lock(&sv->rate_mu);
    for (int i = 0; i < 64 && !sl; i++) { /* the key's own slot */
        rate_slot *t = &sv->slots[(h + (unsigned long)i) % RATE_SLOTS];
        if (strcmp(t->key, key) == 0)
            sl = t;
    }
    for (int i = 0; i < 64 && !sl; i++) { /* else one counted in an earlier minute */
        rate_slot *t = &sv->slots[(h + (unsigned long)i) % RATE_SLOTS];
        if (t->minute != minute)
            sl = t;
    }
    if (!sl)
        sl = &sv->slots[h % RATE_SLOTS];
    if (strcmp(sl->key, key) || sl->minute != minute) {
        snprintf(sl->key, sizeof sl->key, "%s", key);
        sl->minute = minute;
        sl->count = 0;
    }
    if (++sl->count > sv->o.rate)
        wait = (long)((minute + 1) * 60 - now);
    pthread_mutex_unlock(&sv->rate_mu);
    return wait;
}

static enum MHD_Result limited(struct MHD_Connection *c, request *r, long wait, const char *who)
{
    char secs[24], msg[160];
    pthread_mutex_lock(&r->sv->metrics_mu);
    r->sv->m.limited++;
    pthread_mutex_unlock(&r->sv->metrics_mu);
    const char *hdr[] = {"Retry-After", secs};
    snprintf(secs, sizeof secs, "%ld", wait);
    snprintf(msg, sizeof msg, "more than %ld requests this minute %s; retry in %ld s",
             r->sv->o.rate, who, wait);
    return fail(c, r, MHD_HTTP_TOO_MANY_REQUESTS, "RATE_LIMITED", msg, NULL, hdr, 1);
}

/* Checks Authorization: 0 and *t, or -1 once an answer (401, 429, 500) is queued in *ret. The
 * rate limit counts the token's client, whatever token of it is used. */
static int authorize(struct MHD_Connection *c, request *r, acre_token *t, enum MHD_Result *ret)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *bearer[] = {"WWW-Authenticate", "Bearer realm=\"acre\""};
    const char *invalid[] = {"WWW-Authenticate", "Bearer realm=\"acre\", error=\"invalid_token\""};
    long long now = (long long)time(NULL);
    char key[80];
    acre_error err;
    acre_store *s;
    long wait;
    int rc;

    acre_error_clear(&err);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        *ret = fail(c, r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                    "this request needs Authorization: Bearer TOKEN (POST /oauth/token)", NULL,
                    bearer, 1);
        return -1;
    }
    h += 7;
    h += strspn(h, " ");
    if (!(s = thread_store(r->sv, &err))) {
        *ret = fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL, NULL, 0);
        return -1;
    }
    if ((rc = acre_token_check(s, h, now, t, &err))) {
        if (rc == ACRE_ENOTFOUND)
            *ret = fail(c, r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED", err.message, NULL, invalid, 1);
        else
            *ret =
                fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL, NULL, 0);
        return -1;
    }
    snprintf(key, sizeof key, "client %s", t->client_id);
    if ((wait = rate_limited(r->sv, key, now)) > 0) {
        *ret = limited(c, r, wait, "with this client's tokens");
        return -1;
    }
    return 0;
}

static enum MHD_Result forbidden(struct MHD_Connection *c, request *r, const char *scope)
{
    char msg[160];
    snprintf(msg, sizeof msg, "this request needs the scope \"%s\"", scope);
    return fail(c, r, MHD_HTTP_FORBIDDEN, "FORBIDDEN", msg, NULL, NULL, 0);
}

static enum MHD_Result oauth_error(struct MHD_Connection *c, request *r, unsigned status,
                                   const char *code, const char *why, int basic)
{
    const char *hdr[] = {"Cache-Control", "no-store",         "Pragma",
                         "no-cache",      "WWW-Authenticate", "Basic realm=\"acre\""};
    json_t *v = json_pack("{s:s,s:s}", "error", code, "error_description", why);
    return send_value(c, r, status, v, hdr, basic ? 3 : 2);
}

/* POST /oauth/token (RFC 6749 4.4, 2.3.1 and 5.2), on the request thread: the secret's
 * PBKDF2 holds no lock, and the token's row is one short write transaction of its own. */
static enum MHD_Result token(struct MHD_Connection *c, request *r)
{
    char type[64], *form, *id = NULL, *secret = NULL, *scope = NULL, *grant = NULL;
    char basic_buf[1024], *bid = NULL, *bsecret = NULL;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    int basic = auth && strncasecmp(auth, "Basic ", 6) == 0, bad = 0;
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    int rc;

    media_type(c, type);
    if (strcmp(type, "application/x-www-form-urlencoded") != 0)
        return oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request",
                           "the body must be application/x-www-form-urlencoded", 0);
    if (!(form = malloc(r->len + 1)))
        return MHD_NO;
    memcpy(form, r->body ? r->body : "", r->len);
    form[r->len] = 0;
    {
        http_form f;
        bad = http_form_fields(form, &f) != 0;
        grant = f.grant_type;
        id = f.client_id;
        secret = f.client_secret;
        scope = f.scope;
    }
    if (!bad && basic) {
        if (http_basic(auth, basic_buf, sizeof basic_buf, &bid, &bsecret)) {
            ret = oauth_error(c, r, MHD_HTTP_UNAUTHORIZED, "invalid_client",
                              "the Authorization header's Basic credentials are malformed", 1);
            goto out;
        }
        /* one way of authenticating (RFC 6749 2.3): a client_id in the body too is allowed
         * when it is the same, a secret is not */
        if (secret || (id && strcmp(id, bid) != 0))
            bad = 1;
        id = bid;
        secret = bsecret;
    }
    if (bad || !grant) {
        ret = oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request",
                          bad ? "the body is malformed, a parameter is given twice, or the "
                                "credentials are given two ways"
                              : "grant_type is missing",
                          0);
        goto out;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        ret = oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "unsupported_grant_type",
                          "this server grants client_credentials only", 0);
        goto out;
    }
    if (!id || !secret) {
        ret = oauth_error(c, r, MHD_HTTP_UNAUTHORIZED, "invalid_client",
                          "client_id and client_secret are needed (in the body or HTTP Basic)",
                          basic);
        goto out;
    }
    acre_error_clear(&err);
    if (!(s = thread_store(r->sv, &err))) {
        ret = fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL, NULL, 0);
        goto out;
    }
    rc = acre_token_issue(s, id, secret, scope, (long long)time(NULL), &t, &err);
    if (rc == 0) {
        const char *hdr[] = {"Cache-Control", "no-store", "Pragma", "no-cache"};
        json_t *v = json_pack("{s:s,s:s,s:I,s:s}", "access_token", t.access_token, "token_type",
                              "Bearer", "expires_in", (json_int_t)ACRE_TOKEN_TTL, "scope", t.scope);
        ret = send_value(c, r, MHD_HTTP_OK, v, hdr, 2);
    } else if (strcmp(err.rule, "invalid_client") == 0) {
        ret = oauth_error(c, r, MHD_HTTP_UNAUTHORIZED, "invalid_client", err.message, basic);
    } else if (strcmp(err.rule, "invalid_scope") == 0) {
        ret = oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_scope", err.message, 0);
    } else {
        ret = fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL, NULL, 0);
    }
    OPENSSL_cleanse(&t, sizeof t);
out:
    OPENSSL_cleanse(form, r->len);
    OPENSSL_cleanse(basic_buf, sizeof basic_buf);
    free(form);
    return ret;
}

/* ---- writes ---------------------------------------------------------------------------- */

typedef struct ingest_job {
    const char *kind, *body;
    size_t len;
    const char *client_id, *key;
    char sha[65], source[200], now_iso[32];
    long long now;
    long max_records;
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

static void run_ingest(acre_store *s, void *arg)
{
    ingest_job *j = arg;
    acre_ingest_opts o = {.atomic = 1,
                          .source = j->source,
                          .on_reject = collect,
                          .ctx = j,
                          .again = 1,
                          .stored_at = j->now_iso,
                          .max_records = j->max_records,
                          .before_commit = keep_answer,
                          .commit_ctx = j};
    acre_error_clear(&j->err);
    if (j->key) {
        acre_idem kept;
        int rc = acre_idem_get(s, j->client_id, j->key, j->now, &kept, &j->err);
        if (rc == 0) {
            if (strcmp(kept.body_sha256, j->sha) == 0) {
                j->replayed = 1;
                j->status = kept.status;
                j->answer = kept.answer;
            } else {
                j->reused = 1;
                free(kept.answer);
            }
            return;
        }
        if (rc != ACRE_ENOTFOUND) {
            j->rc = rc;
            return;
        }
        acre_error_clear(&j->err);
    }
    j->rc = acre_ingest_buffer(s, j->kind, j->body, j->len, &o, &j->sum, &j->err);
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

static void idem_leave(server *sv, char *mark)
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
static int records_check(struct MHD_Connection *c, request *r, enum MHD_Result *ret)
{
    char type[64];
    acre_token t;

    r->checked = 1;
    if (authorize(c, r, &t, ret))
        return -1;
    if (!acre_scope_has(t.scope, "ingest")) {
        *ret = forbidden(c, r, "ingest");
        return -1;
    }
    media_type(c, type);
    if (strcmp(type, "application/json") && strcmp(type, "application/x-ndjson")) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "records are sent as application/json or application/x-ndjson, not \"%s\"",
                 !type[0]               ? "(no Content-Type)"
                 : plain_text(type, 63) ? type
                                        : "(not text)");
        *ret = fail(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", msg, NULL,
                    NULL, 0);
        return -1;
    }
    r->key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (r->key && (!*r->key || strlen(r->key) > 255)) {
        *ret = fail(c, r, MHD_HTTP_BAD_REQUEST, "INVALID_REQUEST",
                    "an Idempotency-Key is 1 to 255 characters", NULL, NULL, 0);
        return -1;
    }
    snprintf(r->client_id, sizeof r->client_id, "%s", t.client_id);
    if (r->key && idem_enter(r->sv, r->client_id, r->key, &r->mark)) {
        *ret = fail(c, r, MHD_HTTP_CONFLICT, "IDEMPOTENCY_CONFLICT",
                    "a request with this Idempotency-Key is still in flight; retry when it has "
                    "been answered",
                    NULL, NULL, 0);
        return -1;
    }
    return 0;
}

/* The body has arrived: hands the write to the writer, suspending the connection. */
static enum MHD_Result records_start(struct MHD_Connection *c, request *r)
{
    ingest_job *j = calloc(1, sizeof *j);
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    struct tm tm;
    time_t now = time(NULL);

    if (!j || !x || !(j->rejects = json_array())) {
        free(j);
        EVP_MD_CTX_free(x);
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
    /* the key's fingerprint: the path's kind and the body */
    EVP_DigestInit_ex(x, EVP_sha256(), NULL);
    EVP_DigestUpdate(x, j->kind, strlen(j->kind) + 1);
    EVP_DigestUpdate(x, j->body, j->len);
    EVP_DigestFinal_ex(x, md, &mdlen);
    EVP_MD_CTX_free(x);
    for (unsigned i = 0; i < 32; i++)
        snprintf(j->sha + 2 * i, 3, "%02x", md[i]);
    r->job.fn = run_ingest;
    r->job.arg = j;
    to_writer(r->sv, c, &r->job);
    return MHD_YES;
}

/* The writer has run the job: the answer. */
static enum MHD_Result records_finish(struct MHD_Connection *c, request *r)
{
    ingest_job *j = r->ij;
    enum MHD_Result ret;

    idem_leave(r->sv, r->mark);
    r->mark = NULL;
    if (j->replayed) {
        const char *hdr[] = {"Idempotent-Replayed", "true"};
        ret = send_json(c, r, (unsigned)j->status, j->answer, hdr, 1);
        j->answer = NULL;
    } else if (j->reused) {
        ret = fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "IDEMPOTENCY_KEY_REUSED",
                   "this Idempotency-Key was used in the last 24 hours for another request", NULL,
                   NULL, 0);
    } else if (j->rc == 0) {
        for (int i = 0; i < N_KINDS && acre_kind_name(i); i++)
            if (strcmp(acre_kind_name(i), j->kind) == 0) {
                pthread_mutex_lock(&r->sv->metrics_mu);
                r->sv->m.stored[i] += j->sum.inserted + j->sum.updated;
                pthread_mutex_unlock(&r->sv->metrics_mu);
            }
        ret = send_json(c, r, MHD_HTTP_OK, j->answer, NULL, 0);
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
        ret = fail(c, r, MHD_HTTP_BAD_REQUEST, "INVALID_REQUEST", msg, j->rejects, NULL, 0);
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
        ret = fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", msg, d, NULL, 0);
    } else if (j->rc == ACRE_EREJECTED && strcmp(j->err.rule, "atomic") == 0) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%zu of %ld records are invalid; nothing of the request is stored",
                 json_array_size(j->rejects), j->sum.received);
        ret = fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", msg, j->rejects, NULL,
                   0);
        j->rejects = NULL;
    } else if (j->rc == ACRE_EREJECTED) {
        ret = fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", j->err.message,
                   j->rejects, NULL, 0);
        j->rejects = NULL;
    } else {
        ret = fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", j->err.message, NULL, NULL, 0);
    }
    return ret;
}

/* ---- periods, ledgers, metrics (finance) ---------------------------------------------- */

/* authorize, then one of the scopes `any` (NULL-ended): 0 and *t, or -1 with *ret queued */
static int allowed(struct MHD_Connection *c, request *r, acre_token *t, const char *const *any,
                   enum MHD_Result *ret)
{
    if (authorize(c, r, t, ret))
        return -1;
    for (int i = 0; any[i]; i++)
        if (acre_scope_has(t->scope, any[i]))
            return 0;
    *ret = forbidden(c, r, any[0]);
    return -1;
}

/* A query parameter true/false: 0 or 1, or -1 (malformed) */
static int flag_arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!v || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || !*v ? 1 : -1;
}

static enum MHD_Result bad_request(struct MHD_Connection *c, request *r, const char *msg)
{
    return fail(c, r, MHD_HTTP_BAD_REQUEST, "INVALID_REQUEST", msg, NULL, NULL, 0);
}

/* a refusal of the engine (a close refused, a ledger missing) as SPEC 11's answer */
static enum MHD_Result engine_error(struct MHD_Connection *c, request *r, int rc,
                                    const acre_error *err)
{
    if (rc == ACRE_EREFUSED || rc == ACRE_EINVALID || rc == ACRE_EREJECTED) {
        json_t *d = json_pack("[{s:s,s:s,s:s}]", "field", err->field, "rule", err->rule, "message",
                              err->message);
        return fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", err->message, d, NULL,
                    0);
    }
    if (rc == ACRE_ENOTFOUND)
        return fail(c, r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", err->message, NULL, NULL, 0);
    if (rc == ACRE_EUSAGE)
        return bad_request(c, r, err->message);
    return fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err->message, NULL, NULL, 0);
}

/* page, per_page and cursor: 0, or -1 with a 400 queued */
static int paging(struct MHD_Connection *c, request *r, long *page, long *per_page,
                  const char **cursor, enum MHD_Result *ret)
{
    const char *p = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page");
    const char *k = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "per_page");
    char *end;
    *page = 1;
    *per_page = 50;
    *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
    if (p && ((*page = strtol(p, &end, 10)) < 1 || *end || end == p || *page > 1000000000L)) {
        *ret = bad_request(c, r, "page is a whole number from 1");
        return -1;
    }
    if (k && ((*per_page = strtol(k, &end, 10)) < 1 || *end || end == k || *per_page > 500)) {
        *ret = bad_request(c, r, "per_page is a whole number from 1 to 500");
        return -1;
    }
    if (*cursor && p) {
        *ret = bad_request(c, r, "give page or cursor, not both");
        return -1;
    }
    return 0;
}

typedef struct period_list {
    json_t *all;
} period_list;

static int add_period(void *ctx, const acre_closed *cl)
{
    period_list *l = ctx;
    json_t *v = json_pack("{s:s,s:s,s:s?}", "period", cl->period, "digest", cl->digest,
                          "previous_digest", cl->previous_digest[0] ? cl->previous_digest : NULL);
    return v && json_array_append_new(l->all, v) == 0 ? 0 : 1;
}

/* GET /api/v1/periods: the closed periods with their digests, oldest first; the cursor is the
 * last period of the page before */
static enum MHD_Result periods(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", "read", NULL};
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    long page, per_page, from = 0;
    size_t n;
    const char *cursor;
    period_list l;
    json_t *data, *v;
    int rc;

    if (allowed(c, r, &t, scopes, &ret) || paging(c, r, &page, &per_page, &cursor, &ret))
        return ret;
    if (cursor && !http_period(cursor, strlen(cursor)))
        return bad_request(c, r, "cursor: not one this server gave");
    acre_error_clear(&err);
    if (!(s = thread_store(r->sv, &err)))
        return engine_error(c, r, ACRE_EIO, &err);
    if (!(l.all = json_array()))
        return MHD_NO;
    if ((rc = acre_store_closes(s, add_period, &l, &err))) {
        json_decref(l.all);
        return engine_error(c, r, rc, &err);
    }
    n = json_array_size(l.all);
    if (cursor) {
        from = (long)n;
        for (size_t i = 0; i < n; i++)
            if (strcmp(json_string_value(json_object_get(json_array_get(l.all, i), "period")),
                       cursor) > 0) {
                from = (long)i;
                break;
            }
    } else {
        from = (page - 1) * per_page;
    }
    data = json_array();
    for (long i = from; data && i < from + per_page && i < (long)n; i++)
        json_array_append(data, json_array_get(l.all, (size_t)i));
    v = json_pack(
        "{s:o,s:{s:I,s:I,s:I,s:o}}", "data", data, "meta", "total", (json_int_t)n, "page",
        (json_int_t)(cursor ? from / per_page + 1 : page), "per_page", (json_int_t)per_page,
        "next_cursor",
        from + per_page < (long)n
            ? json_object_get(json_array_get(l.all, (size_t)(from + per_page - 1)), "period")
            : json_null());
    /* json_pack's "o" stole a reference the array still holds */
    if (v && from + per_page < (long)n)
        json_incref(json_object_get(json_object_get(v, "meta"), "next_cursor"));
    json_decref(l.all);
    return send_value(c, r, MHD_HTTP_OK, v, NULL, 0);
}

/* a ledger document in `format` (its whole text for json without an affiliate) */
static enum MHD_Result send_ledger(struct MHD_Connection *c, request *r, char *ledger,
                                   const char *format, const char *only)
{
    char *text = NULL;
    size_t len = 0;
    acre_error err;
    FILE *out;
    int rc;
    if (strcmp(format, "json") == 0 && !only)
        return send_text(c, r, MHD_HTTP_OK, "application/json", ledger, strlen(ledger));
    if (!(out = open_memstream(&text, &len))) {
        free(ledger);
        return MHD_NO;
    }
    acre_error_clear(&err);
    rc = acre_ledger_write(out, ledger, format, only, &err);
    fclose(out);
    free(ledger);
    if (rc) {
        free(text);
        return engine_error(c, r, rc, &err);
    }
    return send_text(c, r, MHD_HTTP_OK,
                     strcmp(format, "json") == 0  ? "application/json"
                     : strcmp(format, "csv") == 0 ? "text/csv; charset=utf-8"
                                                  : "text/plain; charset=utf-8",
                     text, len);
}

static const char *ledger_format(struct MHD_Connection *c)
{
    const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    static const char *const ok[] = {"json", "csv", "hledger", "beancount", "summary", NULL};
    if (!f)
        return "json";
    for (int i = 0; ok[i]; i++)
        if (strcmp(f, ok[i]) == 0)
            return ok[i];
    return NULL;
}

/* POST /api/v1/periods/PERIOD/preview, on the request thread (a preview writes nothing) */
static enum MHD_Result preview(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    const char *format = ledger_format(c);
    acre_close_opts o = {.store = 0, .allow_gap = flag_arg(c, "allow_gap")};
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    char *ledger = NULL;
    int rc;

    if (!r->checked && allowed(c, r, &t, scopes, &ret))
        return ret;
    if (!format || o.allow_gap < 0)
        return bad_request(c, r,
                           "format is json, csv, hledger, beancount or summary; allow_gap "
                           "true or false");
    acre_error_clear(&err);
    if (!(s = thread_store(r->sv, &err)))
        return engine_error(c, r, ACRE_EIO, &err);
    if ((rc = acre_close_period_opts(s, r->period, &o, &ledger, &err)))
        return engine_error(c, r, rc, &err);
    return send_ledger(c, r, ledger, format, NULL);
}

typedef struct close_job {
    char period[8];
    acre_close_opts o;
    int rc;
    acre_error err;
    char *ledger;
} close_job;

static void run_close(acre_store *s, void *arg)
{
    close_job *j = arg;
    acre_error_clear(&j->err);
    j->rc = acre_close_period_opts(s, j->period, &j->o, &j->ledger, &j->err);
}

/* POST /api/v1/periods/PERIOD/close: checked, then handed to the writer */
static enum MHD_Result close_start(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    int early = flag_arg(c, "early"), gap = flag_arg(c, "allow_gap");
    acre_token t;
    enum MHD_Result ret;
    close_job *j;

    if (!r->checked && allowed(c, r, &t, scopes, &ret))
        return ret;
    if (early < 0 || gap < 0)
        return bad_request(c, r, "early and allow_gap are true or false");
    if (!early) {
        /* a period is closed once it has ended by the UTC clock (SPEC 10), as `acre close` */
        time_t now = time(NULL);
        struct tm tm;
        int y = atoi(r->period), m = atoi(r->period + 5);
        char msg[200];
        gmtime_r(&now, &tm);
        if (y * 12 + m - 1 >= (tm.tm_year + 1900) * 12 + tm.tm_mon) {
            json_t *d;
            snprintf(msg, sizeof msg,
                     "%s has not ended by the UTC clock: a period is closed after its last day; "
                     "early=true closes it now",
                     r->period);
            d = json_pack("[{s:s,s:s,s:s}]", "field", "period", "rule", "early", "message", msg);
            return fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", msg, d, NULL, 0);
        }
    }
    if (!(j = calloc(1, sizeof *j)))
        return MHD_NO;
    memcpy(j->period, r->period, sizeof j->period);
    j->o.store = 1;
    j->o.allow_gap = gap;
    r->cj = j;
    r->job.fn = run_close;
    r->job.arg = j;
    to_writer(r->sv, c, &r->job);
    return MHD_YES;
}

static enum MHD_Result close_finish(struct MHD_Connection *c, request *r)
{
    close_job *j = r->cj;
    const char *d;
    if (j->rc)
        return engine_error(c, r, j->rc, &j->err);
    /* the ledger ends with "digest":"sha256:<64 hex>" (then the mac, with a key) */
    d = strstr(j->ledger, "\n\"digest\":\"");
    {
        char head[128];
        snprintf(head, sizeof head, "{\"period\":\"%s\",\"digest\":\"%.71s\"}", j->period,
                 d ? d + 11 : "");
        return send_json(c, r, MHD_HTTP_OK, strdup(head), NULL, 0);
    }
}

/* GET /api/v1/ledgers/PERIOD: finance any affiliate's; affiliate:ID its own only */
static enum MHD_Result ledger(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    const char *format = ledger_format(c);
    const char *only = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "affiliate");
    char own[200] = "";
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    char *doc = NULL;
    int rc, mine = 0;

    if (authorize(c, r, &t, &ret))
        return ret;
    if (!acre_scope_has(t.scope, scopes[0])) {
        /* an affiliate's token: its own affiliate, named or not */
        for (const char *p = t.scope; *p;) {
            size_t w = strcspn(p, " ");
            if (w > 10 && w - 10 < sizeof own && strncmp(p, "affiliate:", 10) == 0) {
                char id[200];
                memcpy(id, p + 10, w - 10);
                id[w - 10] = 0;
                mine++;
                if (!own[0] || (only && strcmp(only, id) == 0))
                    snprintf(own, sizeof own, "%s", id);
            }
            p += w;
            p += strspn(p, " ");
        }
        if (!mine)
            return forbidden(c, r, "finance");
        if ((only && strcmp(only, own) != 0) || (!only && mine > 1))
            return fail(c, r, MHD_HTTP_FORBIDDEN, "FORBIDDEN",
                        mine > 1 && !only
                            ? "this token is for several affiliates: name one with affiliate="
                            : "this token reads its own affiliate's ledger lines only",
                        NULL, NULL, 0);
        only = own;
    }
    if (!format)
        return bad_request(c, r, "format is json, csv, hledger, beancount or summary");
    acre_error_clear(&err);
    if (!(s = thread_store(r->sv, &err)))
        return engine_error(c, r, ACRE_EIO, &err);
    if ((rc = acre_ledger_get(s, r->period, &doc, &err))) {
        if (rc == ACRE_ENOTFOUND) {
            char msg[120];
            snprintf(msg, sizeof msg, "%s is not closed", r->period);
            return fail(c, r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", msg, NULL, NULL, 0);
        }
        return engine_error(c, r, rc, &err);
    }
    return send_ledger(c, r, doc, format, only && *only ? only : NULL);
}

/* GET /metrics: Prometheus' text format */
static enum MHD_Result metrics_text(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    acre_token t;
    enum MHD_Result ret;
    metrics m;
    char *text = NULL;
    size_t len = 0;
    long long cum = 0;
    FILE *out;

    if (allowed(c, r, &t, scopes, &ret))
        return ret;
    pthread_mutex_lock(&r->sv->metrics_mu);
    m = r->sv->m;
    pthread_mutex_unlock(&r->sv->metrics_mu);
    if (!(out = open_memstream(&text, &len)))
        return MHD_NO;
    fputs("# HELP acre_http_requests_total HTTP requests answered, by route and status.\n"
          "# TYPE acre_http_requests_total counter\n",
          out);
    for (int i = 0; i < N_ROUTES; i++)
        for (int st = 100; st < 600; st++)
            if (m.requests[i][st])
                fprintf(out, "acre_http_requests_total{route=\"%s\",status=\"%d\"} %lld\n",
                        route_names[i], st, m.requests[i][st]);
    fputs("# HELP acre_http_request_duration_seconds Time from a request's headers to its "
          "answer.\n"
          "# TYPE acre_http_request_duration_seconds histogram\n",
          out);
    for (int i = 0; i <= N_LATENCY; i++) {
        cum += m.latency[i];
        if (i < N_LATENCY)
            fprintf(out, "acre_http_request_duration_seconds_bucket{le=\"%lld.%06lld\"} %lld\n",
                    latency_us[i] / 1000000, latency_us[i] % 1000000, cum);
        else
            fprintf(out, "acre_http_request_duration_seconds_bucket{le=\"+Inf\"} %lld\n", cum);
    }
    fprintf(out,
            "acre_http_request_duration_seconds_sum %lld.%06lld\n"
            "acre_http_request_duration_seconds_count %lld\n",
            m.latency_sum_us / 1000000, m.latency_sum_us % 1000000, m.latency_count);
    fputs("# HELP acre_records_stored_total Records inserted or updated through the API, by "
          "kind.\n"
          "# TYPE acre_records_stored_total counter\n",
          out);
    for (int i = 0; i < N_KINDS && acre_kind_name(i); i++)
        fprintf(out, "acre_records_stored_total{kind=\"%s\"} %lld\n", acre_kind_name(i),
                m.stored[i]);
    fprintf(out,
            "# HELP acre_http_requests_limited_total Requests answered 429.\n"
            "# TYPE acre_http_requests_limited_total counter\n"
            "acre_http_requests_limited_total %lld\n",
            m.limited);
    fclose(out);
    return send_text(c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
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
static enum MHD_Result records_get(struct MHD_Connection *c, request *r)
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

    if (allowed(c, r, &t, scopes, &ret) || paging(c, r, &page, &per_page, &cursor, &ret))
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
    if (!(s = thread_store(r->sv, &err)))
        return engine_error(c, r, ACRE_EIO, &err);
    rc = acre_records_list(s, r->kind, &o, add_record, &p, &total, &before, &err);
    if (rc || p.oom) {
        free(p.text);
        return p.oom ? MHD_NO : engine_error(c, r, rc, &err);
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
    return send_json(c, r, MHD_HTTP_OK, body, NULL, 0);
}

/* ---- routing --------------------------------------------------------------------------- */

static const char *known_kind(const char *kind)
{
    for (int i = 0; acre_kind_name(i); i++)
        if (strcmp(acre_kind_name(i), kind) == 0)
            return acre_kind_name(i);
    return NULL;
}

/* Routes a request on its first call (its headers): the answer when it needs no body
 * (/health, 404, 405), the checks of a write, and the route in r->route. 1 when *ret is the
 * answer; 0 to read the body. */
static int route(struct MHD_Connection *c, request *r, const char *url, const char *method,
                 int body_sent, enum MHD_Result *ret)
{
    int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    if (strcmp(url, "/health") == 0) {
        r->route = R_HEALTH;
        *ret = !get ? not_allowed(c, r, "GET")
                    : send_value(c, r, MHD_HTTP_OK,
                                 json_pack("{s:s,s:i}", "status", "ok", "schema_version",
                                           ACRE_SCHEMA_VERSION),
                                 NULL, 0);
        return 1;
    }
    if (strcmp(url, "/oauth/token") == 0) {
        r->route = R_TOKEN;
        if (!post) {
            *ret = not_allowed(c, r, "POST");
            return 1;
        }
        return 0;
    }
    if (strcmp(url, "/api/v1/openapi.json") == 0) {
        extern const char acre_openapi_json[];
        extern const unsigned long acre_openapi_json_len;
        char *doc;
        acre_token t;
        if (!get) {
            *ret = not_allowed(c, r, "GET");
            return 1;
        }
        if (authorize(c, r, &t, ret)) /* any token: only /health needs none (SPEC 11) */
            return 1;
        if (!(doc = malloc(acre_openapi_json_len + 1)))
            return *ret = MHD_NO, 1;
        memcpy(doc, acre_openapi_json, acre_openapi_json_len + 1);
        *ret = send_text(c, r, MHD_HTTP_OK, "application/json", doc, acre_openapi_json_len);
        return 1;
    }
    if (strcmp(url, "/metrics") == 0) {
        r->route = R_METRICS;
        *ret = get ? metrics_text(c, r) : not_allowed(c, r, "GET");
        return 1;
    }
    if (strcmp(url, "/api/v1/periods") == 0) {
        r->route = R_PERIODS;
        *ret = get ? periods(c, r) : not_allowed(c, r, "GET");
        return 1;
    }
    if (strncmp(url, "/api/v1/periods/", 16) == 0 && http_period(url + 16, 7) &&
        (strcmp(url + 23, "/preview") == 0 || strcmp(url + 23, "/close") == 0)) {
        static const char *const finance[] = {"finance", NULL};
        acre_token t;
        memcpy(r->period, url + 16, 7);
        r->route = url[24] == 'p' ? R_PREVIEW : R_CLOSE;
        if (!post) {
            *ret = not_allowed(c, r, "POST");
            return 1;
        }
        /* the token now; the body, which is ignored, is dropped as it comes */
        r->drop = 1;
        r->checked = 1;
        return allowed(c, r, &t, finance, ret) ? 1 : 0;
    }
    if (strncmp(url, "/api/v1/ledgers/", 16) == 0 && http_period(url + 16, strlen(url + 16))) {
        memcpy(r->period, url + 16, 7);
        r->route = R_LEDGER;
        *ret = get ? ledger(c, r) : not_allowed(c, r, "GET");
        return 1;
    }
    if (strcmp(url, "/v1/integration/bonus") == 0)
        r->kind = "bonus-events", r->one = 1;
    else if (strncmp(url, "/api/v1/", 8) == 0)
        r->kind = known_kind(url + 8);
    if (!r->kind) {
        *ret = fail(c, r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such path", NULL, NULL, 0);
        return 1;
    }
    r->route = R_RECORDS;
    if (get && !r->one) {
        *ret = records_get(c, r);
        return 1;
    }
    if (!post) {
        *ret = not_allowed(c, r, r->one ? "POST" : "GET, POST");
        return 1;
    }
    /* Checked now when the body has not come yet (chunked, large, or Expect: 100-continue), so
     * a request refused costs no body; a small body already sent is read first, and the checks
     * answered after it (answering before would close the connection on unread bytes). */
    if (!body_sent && records_check(c, r, ret))
        return 1;
    return 0;
}

static enum MHD_Result too_large(struct MHD_Connection *c, request *r)
{
    char msg[120];
    if (!r->too_large)
        r->too_large = 1;
    snprintf(msg, sizeof msg, "a request body is at most %u bytes", MAX_BODY);
    return fail(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "PAYLOAD_TOO_LARGE", msg, NULL, NULL, 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    server *sv = cls;
    request *r = *con_cls;
    enum MHD_Result ret;
    (void)version;

    if (!r) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
        unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
        int body_sent = cl && n <= 65536 && !(expect && strcasecmp(expect, "100-continue") == 0);
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->sv = sv;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        request_id(c, r->id);
        *con_cls = r;
        pthread_mutex_lock(&sv->mu);
        sv->active++;
        pthread_mutex_unlock(&sv->mu);
        if (n > MAX_BODY)
            return too_large(c, r);
        /* a body to come, not held back by Expect: 100-continue: a refusal now is kept until
         * the body has been read (and dropped) */
        r->defer = ((cl && n > 0) ||
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding")) &&
                   !(expect && strcasecmp(expect, "100-continue") == 0);
        if (route(c, r, url, method, body_sent, &ret)) {
            r->defer = 0;
            return ret;
        }
        r->defer = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large == 1)
            return MHD_YES;        /* answered on the first call: MHD closes the connection */
        if (r->early || r->drop) { /* refused already, or ignored: dropped as it comes */
            r->dropped += n;
            return r->dropped > 4 * (size_t)MAX_BODY ? MHD_NO : MHD_YES;
        }
        if (r->too_large || r->len + n > MAX_BODY) {
            /* A chunked body over the limit: libmicrohttpd answers only once the body is read
             * (it takes no answer in the middle of an upload), so the rest is read and
             * dropped, up to four times the limit; past that the connection is closed. */
            free(r->body);
            r->body = NULL;
            r->cap = 0;
            r->too_large = 2;
            r->len += n;
            return r->len > 4 * (size_t)MAX_BODY ? MHD_NO : MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t cap = r->cap ? r->cap : 65536;
            char *p;
            while (cap < r->len + n)
                cap *= 2;
            if (cap > MAX_BODY)
                cap = MAX_BODY;
            if (!(p = realloc(r->body, cap)))
                return MHD_NO;
            r->body = p;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    if (r->too_large == 1)
        return MHD_YES;
    if (r->early) {
        struct MHD_Response *resp = r->early;
        r->early = NULL;
        ret = MHD_queue_response(c, r->status, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (r->too_large)
        return too_large(c, r);
    if (r->route == R_TOKEN) {
        char ip[INET6_ADDRSTRLEN + 4] = "ip ?";
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        long wait;
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip + 3,
                          sizeof ip - 3);
            else
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip + 3,
                          sizeof ip - 3);
        }
        if ((wait = rate_limited(sv, ip, (long long)time(NULL))) > 0)
            return limited(c, r, wait, "for tokens from this address");
        return token(c, r);
    }
    if (r->route == R_PREVIEW)
        return preview(c, r);
    if (r->route == R_CLOSE) {
        if (!r->cj)
            return close_start(c, r);
        if (!job_done(sv, &r->job))
            return MHD_YES;
        return close_finish(c, r);
    }
    if (r->route == R_RECORDS) {
        if (!r->checked && records_check(c, r, &ret))
            return ret;
        if (!r->ij)
            return records_start(c, r);
        if (!job_done(sv, &r->job))
            return MHD_YES;
        return records_finish(c, r);
    }
    return MHD_NO;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    server *sv = cls;
    request *r = *con_cls;
    (void)c, (void)toe;
    if (!r)
        return;
    idem_leave(sv, r->mark);
    if (r->status >= 100 && r->status < 600) {
        struct timespec end;
        long long us;
        int b = 0;
        clock_gettime(CLOCK_MONOTONIC, &end);
        us = (long long)(end.tv_sec - r->start.tv_sec) * 1000000 +
             (end.tv_nsec - r->start.tv_nsec) / 1000;
        while (b < N_LATENCY && us > latency_us[b])
            b++;
        pthread_mutex_lock(&sv->metrics_mu);
        sv->m.requests[r->route][r->status]++;
        sv->m.latency[b]++;
        sv->m.latency_sum_us += us;
        sv->m.latency_count++;
        pthread_mutex_unlock(&sv->metrics_mu);
    }
    if (r->early)
        MHD_destroy_response(r->early);
    if (r->cj) {
        free(r->cj->ledger);
        free(r->cj);
    }
    if (r->ij) {
        json_decref(r->ij->rejects);
        free(r->ij->answer);
        free(r->ij);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
    pthread_mutex_lock(&sv->mu);
    sv->active--;
    pthread_mutex_unlock(&sv->mu);
}

/* ---- the server ------------------------------------------------------------------------ */

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, int *v6)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints, *res = NULL;
    size_t n;
    if (!colon || colon == listen || !colon[1] || (n = (size_t)(colon - listen)) >= sizeof host)
        return -1;
    memcpy(host, listen, n);
    host[n] = 0;
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = 0;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

int serve_run(const serve_opts *opts)
{
    server sv;
    struct sockaddr_storage ss;
    socklen_t sslen;
    int v6 = 0, code = EXIT_OK, sig;
    char *cert = NULL, *key = NULL;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    acre_error err;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    char host[INET6_ADDRSTRLEN] = "?";

    memset(&sv, 0, sizeof sv);
    sv.o = *opts;
    if (!sv.o.listen)
        sv.o.listen = "127.0.0.1:8360";
    if (sv.o.threads <= 0)
        sv.o.threads = 4;
    if (sv.o.rate <= 0)
        sv.o.rate = 1000;
    if (parse_listen(sv.o.listen, &ss, &sslen, &v6)) {
        fprintf(stderr, "acre: serve: --listen must be HOST:PORT, not \"%s\"\n", sv.o.listen);
        return EXIT_USAGE;
    }
    if (!sv.o.tls_cert != !sv.o.tls_key) {
        fprintf(stderr, "acre: serve: --tls-cert and --tls-key go together\n");
        return EXIT_USAGE;
    }
    if (sv.o.tls_cert) {
        size_t n;
        if (!(cert = read_file(sv.o.tls_cert, &n)) || !(key = read_file(sv.o.tls_key, &n))) {
            fprintf(stderr, "acre: serve: cannot read %s\n", cert ? sv.o.tls_key : sv.o.tls_cert);
            free(cert);
            return EXIT_USAGE;
        }
        flags |= MHD_USE_TLS;
    }
    if (v6)
        flags |= MHD_USE_IPv6;
    acre_error_clear(&err);
    if (acre_store_open(&sv.ws, sv.o.db, &err) ||
        (sv.o.key_file && acre_store_set_ledger_key_file(sv.ws, sv.o.key_file, &err))) {
        fprintf(stderr, "acre: %s\n", err.message);
        acre_store_free(sv.ws);
        free(cert);
        free(key);
        return EXIT_REFUSED;
    }
    if (!(sv.slots = calloc(RATE_SLOTS, sizeof *sv.slots))) {
        acre_store_free(sv.ws);
        free(cert);
        free(key);
        return EXIT_REFUSED;
    }
    pthread_mutex_init(&sv.mu, NULL);
    pthread_mutex_init(&sv.rate_mu, NULL);
    pthread_mutex_init(&sv.idem_mu, NULL);
    pthread_mutex_init(&sv.metrics_mu, NULL);
    pthread_cond_init(&sv.jobs, NULL);
    pthread_key_create(&sv.store_key, free_thread_store);
    /* every thread started from here on leaves SIGTERM and SIGINT to sigwait below */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_create(&sv.writer, NULL, writer_main, &sv);

    if (cert)
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &sv, MHD_OPTION_SOCK_ADDR, &ss,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sv.o.threads,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, &sv, MHD_OPTION_HTTPS_MEM_CERT,
                             cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_PRIORITIES,
                             "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &sv, MHD_OPTION_SOCK_ADDR, &ss,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sv.o.threads,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, &sv, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "acre: serve: cannot listen on %s%s\n", sv.o.listen,
                cert ? " (or the certificate and key are not a PEM pair)" : "");
        code = EXIT_REFUSED;
    } else {
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        if (v6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
        /* one line, so a script that asked for port 0 learns the port */
        printf("{\"listening\":\"%s%s%s:%u\",\"tls\":%s}\n", v6 ? "[" : "", host, v6 ? "]" : "",
               info ? (unsigned)info->port : 0u, cert ? "true" : "false");
        fflush(stdout);
        while (sigwait(&set, &sig) != 0)
            ;
        /* stop accepting (the listening socket closed: a new client is refused, not left in
         * the backlog), let the requests in flight finish, then stop */
        MHD_socket fd = MHD_quiesce_daemon(d);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
        for (int waited = 0; waited < STOP_WAIT_MS; waited += 10) {
            long active;
            pthread_mutex_lock(&sv.mu);
            active = sv.active;
            pthread_mutex_unlock(&sv.mu);
            if (active == 0)
                break;
            usleep(10000);
        }
    }
    /* the writer runs what is queued before it stops, and resumes those connections: only then
     * may the daemon free them */
    pthread_mutex_lock(&sv.mu);
    sv.stop = 1;
    pthread_cond_broadcast(&sv.jobs);
    pthread_mutex_unlock(&sv.mu);
    pthread_join(sv.writer, NULL);
    if (d)
        MHD_stop_daemon(d);
    acre_store_free(sv.ws);
    pthread_key_delete(sv.store_key);
    free(sv.slots);
    free(sv.inflight);
    free(cert);
    free(key);
    return code;
}
