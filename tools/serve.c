/* tools/serve.c — `acre serve`: the HTTP API of SPEC 11 on libmicrohttpd (docs/api.md).
 *
 * Threads. libmicrohttpd's pool of request threads (--threads) reads requests (a body is at
 * most 16 MiB), parses and validates a batch of records there (acre_ingest_prepare: the costly
 * part), and answers. The store's part of every batch (references, versions, the batch row) is
 * a job for one writer thread, which owns the store's write handle and runs the jobs in the
 * order they came; the request's connection is suspended meanwhile (its thread serves its
 * other connections) and resumed by the writer, and the answer is sent then. The batches
 * queued together are one group commit (acre_store_group_begin, GROUP_MAX at most): each is a
 * savepoint, all-or-nothing on its own, and one commit (synchronous=FULL: one fsync) makes them
 * all durable; only then are they answered, so an answered request is stored, whenever the
 * server is killed. A close is a job alone. Token checks read on a store handle per request
 * thread; a token's row is written there too, in a short transaction after the secret's PBKDF2
 * (which holds no lock). A slow client never holds the write lock: a job is made only once its
 * body has arrived.
 *
 * Validation is `acre ingest`'s, the same code and messages (acre_ingest_prepare and
 * acre_ingest_prepared give what acre_ingest_buffer gives), with --atomic (a request is
 * all-or-nothing), at most 1,000 records, and without the re-sent check (an API client may send
 * the same records again: they are unchanged upserts). */
#define _GNU_SOURCE /* pthread_setname_np */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "acre.h"
#include "cli.h"
#include "http_parse.h"
#include "postbacks_cmd.h"
#include "serve_int.h"

const char *const route_names[N_ROUTES] = {"other",   "health",  "token",     "records",
                                           "periods", "preview", "close",     "ledgers",
                                           "metrics", "payouts", "statements"};
const long long latency_us[N_LATENCY] = {5000,   10000,   25000,   50000,   100000,  250000,
                                         500000, 1000000, 2500000, 5000000, 10000000};

/* Runs jobs[0..n): alone, or as one group commit (GROUP_MAX at most). */
static void run_jobs(server *sv, job **jobs, int n)
{
    acre_error err;
    acre_error_clear(&err);
    if (n == 1 || acre_store_group_begin(sv->ws, &err)) {
        for (int i = 0; i < n; i++)
            jobs[i]->fn(sv->ws, jobs[i]->arg);
        return;
    }
    for (int i = 0; i < n; i++)
        jobs[i]->fn(sv->ws, jobs[i]->arg);
    if (acre_store_group_commit(sv->ws, &err))
        for (int i = 0; i < n; i++)
            jobs[i]->lost(jobs[i]->arg, err.code ? err.code : ACRE_EIO, &err);
}

static void *writer_main(void *arg)
{
    server *sv = arg;
    pthread_setname_np(pthread_self(), "acre-writer"); /* for top -H and tools/bench/serve.py */
    pthread_mutex_lock(&sv->mu);
    for (;;) {
        job *jobs[GROUP_MAX];
        int n = 0;
        while (!sv->head && !sv->stop)
            pthread_cond_wait(&sv->jobs, &sv->mu);
        if (!sv->head)
            break;
        /* the first job, and the group jobs queued behind it with it */
        do {
            jobs[n++] = sv->head;
            sv->head = sv->head->next;
        } while (sv->head && jobs[0]->group && sv->head->group && n < GROUP_MAX);
        if (!sv->head)
            sv->tail = NULL;
        pthread_mutex_unlock(&sv->mu);
        run_jobs(sv, jobs, n);
        pthread_mutex_lock(&sv->mu);
        /* answered only now, after the commit: the request thread answers on its next call */
        for (int i = 0; i < n; i++) {
            jobs[i]->done = 1;
            MHD_resume_connection(jobs[i]->conn);
        }
    }
    pthread_mutex_unlock(&sv->mu);
    return NULL;
}

/* Suspends the connection c (inside its access handler) and queues j for the writer, which
 * resumes c once j has run: a request thread serves its other connections meanwhile. Once the
 * writer has stopped (SIGTERM, after the requests in flight), a request that comes after them
 * on a kept-alive connection is answered 503 instead: a connection suspended then would never
 * be resumed. Returns the handler's result. */
enum MHD_Result sv_to_writer(server *sv, struct MHD_Connection *c, request *r)
{
    job *j = &r->job;
    j->conn = c;
    j->done = 0;
    j->next = NULL;
    pthread_mutex_lock(&sv->mu);
    if (sv->stop) {
        pthread_mutex_unlock(&sv->mu);
        return sv_fail(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "UNAVAILABLE",
                       "the server is stopping; nothing of the request is stored", NULL, NULL, 0);
    }
    MHD_suspend_connection(c);
    if (sv->tail)
        sv->tail->next = j;
    else
        sv->head = j;
    sv->tail = j;
    pthread_cond_signal(&sv->jobs);
    pthread_mutex_unlock(&sv->mu);
    return MHD_YES;
}

int sv_job_done(server *sv, const job *j)
{
    int d;
    pthread_mutex_lock(&sv->mu);
    d = j->done;
    pthread_mutex_unlock(&sv->mu);
    return d;
}

/* The calling request thread's read handle on the store, opened on first use. */
acre_store *sv_thread_store(server *sv, acre_error *err)
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

void sv_random_hex(char *out, size_t bytes)
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
int sv_plain_text(const char *s, size_t max)
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
    if (sv_plain_text(id, 64))
        memcpy(out, id, strlen(id) + 1);
    else
        sv_random_hex(out, 16);
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
enum MHD_Result sv_send_json(struct MHD_Connection *c, request *r, unsigned status, char *body,
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
enum MHD_Result sv_send_text(struct MHD_Connection *c, request *r, unsigned status,
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

enum MHD_Result sv_send_value(struct MHD_Connection *c, request *r, unsigned status, json_t *v,
                              const char *const *hdr, int n)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return sv_send_json(c, r, status, text, hdr, n);
}

/* The error body of SPEC 11; details is taken (NULL: null). */
enum MHD_Result sv_fail(struct MHD_Connection *c, request *r, unsigned status, const char *code,
                        const char *message, json_t *details, const char *const *hdr, int n)
{
    json_t *v = json_pack("{s:s,s:s,s:s,s:o}", "error", code, "message", message, "trace_id", r->id,
                          "details", details ? details : json_null());
    if (!v) /* a message that is not UTF-8: the code alone */
        v = json_pack("{s:s,s:s,s:s,s:n}", "error", code, "message", code, "trace_id", r->id,
                      "details");
    return sv_send_value(c, r, status, v, hdr, n);
}

enum MHD_Result sv_not_allowed(struct MHD_Connection *c, request *r, const char *allow)
{
    const char *hdr[] = {"Allow", allow};
    char msg[80];
    snprintf(msg, sizeof msg, "this path answers %s only", allow);
    return sv_fail(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", msg, NULL, hdr, 1);
}

/* The media type of Content-Type, lower-case, without parameters. */
void sv_media_type(struct MHD_Connection *c, char out[64])
{
    http_media_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"), out);
}

/* A query parameter true/false: 0 or 1, or -1 (malformed) */
int sv_flag_arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!v || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || !*v ? 1 : -1;
}

enum MHD_Result sv_bad_request(struct MHD_Connection *c, request *r, const char *msg)
{
    return sv_fail(c, r, MHD_HTTP_BAD_REQUEST, "INVALID_REQUEST", msg, NULL, NULL, 0);
}

/* a refusal of the engine (a close refused, a ledger missing) as SPEC 11's answer */
enum MHD_Result sv_engine_error(struct MHD_Connection *c, request *r, int rc, const acre_error *err)
{
    if (rc == ACRE_EREFUSED || rc == ACRE_EINVALID || rc == ACRE_EREJECTED) {
        json_t *d = json_pack("[{s:s,s:s,s:s}]", "field", err->field, "rule", err->rule, "message",
                              err->message);
        return sv_fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", err->message, d,
                       NULL, 0);
    }
    if (rc == ACRE_ENOTFOUND)
        return sv_fail(c, r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", err->message, NULL, NULL, 0);
    if (rc == ACRE_EUSAGE)
        return sv_bad_request(c, r, err->message);
    return sv_fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err->message, NULL, NULL, 0);
}

/* page, per_page and cursor: 0, or -1 with a 400 queued */
int sv_paging(struct MHD_Connection *c, request *r, long *page, long *per_page, const char **cursor,
              enum MHD_Result *ret)
{
    const char *p = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page");
    const char *k = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "per_page");
    char *end;
    *page = 1;
    *per_page = 50;
    *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
    if (p && ((*page = strtol(p, &end, 10)) < 1 || *end || end == p || *page > 1000000000L)) {
        *ret = sv_bad_request(c, r, "page is a whole number from 1");
        return -1;
    }
    if (k && ((*per_page = strtol(k, &end, 10)) < 1 || *end || end == k || *per_page > 500)) {
        *ret = sv_bad_request(c, r, "per_page is a whole number from 1 to 500");
        return -1;
    }
    if (*cursor && p) {
        *ret = sv_bad_request(c, r, "give page or cursor, not both");
        return -1;
    }
    return 0;
}

/* ---- slow clients ---------------------------------------------------------------------- */

static conn_watch *watch_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The connection's request has arrived whole (held: 1), or has been answered and the wait for
 * the next one begins (0). */
static void watch_mark(server *sv, struct MHD_Connection *c, int held)
{
    conn_watch *w = watch_of(c);
    if (!w)
        return;
    pthread_mutex_lock(&sv->watch_mu);
    w->held = held;
    if (!held)
        clock_gettime(CLOCK_MONOTONIC, &w->since);
    pthread_mutex_unlock(&sv->watch_mu);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    server *sv = cls;
    conn_watch *w = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(w = calloc(1, sizeof *w)))
            return; /* not watched: libmicrohttpd's idle timeout still holds */
        w->fd = ci->connect_fd;
        clock_gettime(CLOCK_MONOTONIC, &w->since);
        pthread_mutex_lock(&sv->watch_mu);
        w->next = sv->watched;
        if (sv->watched)
            sv->watched->prev = w;
        sv->watched = w;
        pthread_mutex_unlock(&sv->watch_mu);
        *socket_context = w;
    } else if (w) {
        /* called before libmicrohttpd closes the socket: the sweeper, which takes the same
         * lock, never shuts down a descriptor that has been closed (and reused) */
        pthread_mutex_lock(&sv->watch_mu);
        if (w->prev)
            w->prev->next = w->next;
        else
            sv->watched = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&sv->watch_mu);
        free(w);
        *socket_context = NULL;
    }
}

/* Shuts down each connection whose request has taken longer than --request-timeout to arrive
 * (a slow-loris client dribbling its headers or body to dodge the idle timeout); its thread
 * then reads the end of the stream and closes it. Four times a second. */
static void *sweeper_main(void *arg)
{
    server *sv = arg;
    pthread_setname_np(pthread_self(), "acre-sweeper");
    pthread_mutex_lock(&sv->watch_mu);
    while (!sv->sweeper_stop) {
        struct timespec now, until;
        long shut = 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (conn_watch *w = sv->watched; w; w = w->next)
            if (!w->held && !w->shut && now.tv_sec - w->since.tv_sec > sv->o.request_timeout) {
                shutdown(w->fd, SHUT_RDWR);
                w->shut = 1;
                shut++;
            }
        if (shut) {
            pthread_mutex_lock(&sv->metrics_mu);
            sv->m.slow += shut;
            pthread_mutex_unlock(&sv->metrics_mu);
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sv->sweep, &sv->watch_mu, &until);
    }
    pthread_mutex_unlock(&sv->watch_mu);
    return NULL;
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
        *ret = !get ? sv_not_allowed(c, r, "GET")
                    : sv_send_value(c, r, MHD_HTTP_OK,
                                    json_pack("{s:s,s:i}", "status", "ok", "schema_version",
                                              ACRE_SCHEMA_VERSION),
                                    NULL, 0);
        return 1;
    }
    if (strcmp(url, "/oauth/token") == 0) {
        r->route = R_TOKEN;
        if (!post) {
            *ret = sv_not_allowed(c, r, "POST");
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
            *ret = sv_not_allowed(c, r, "GET");
            return 1;
        }
        if (sv_authorize(c, r, &t, ret)) /* any token: only /health needs none (SPEC 11) */
            return 1;
        if (!(doc = malloc(acre_openapi_json_len + 1)))
            return *ret = MHD_NO, 1;
        memcpy(doc, acre_openapi_json, acre_openapi_json_len + 1);
        *ret = sv_send_text(c, r, MHD_HTTP_OK, "application/json", doc, acre_openapi_json_len);
        return 1;
    }
    if (strcmp(url, "/metrics") == 0) {
        r->route = R_METRICS;
        *ret = get ? sv_metrics_text(c, r) : sv_not_allowed(c, r, "GET");
        return 1;
    }
    if (strcmp(url, "/api/v1/periods") == 0) {
        r->route = R_PERIODS;
        *ret = get ? sv_periods(c, r) : sv_not_allowed(c, r, "GET");
        return 1;
    }
    if (strncmp(url, "/api/v1/periods/", 16) == 0 && http_period(url + 16, 7) &&
        (strcmp(url + 23, "/preview") == 0 || strcmp(url + 23, "/close") == 0)) {
        static const char *const finance[] = {"finance", NULL};
        acre_token t;
        memcpy(r->period, url + 16, 7);
        r->route = url[24] == 'p' ? R_PREVIEW : R_CLOSE;
        if (!post) {
            *ret = sv_not_allowed(c, r, "POST");
            return 1;
        }
        /* the token now; the body, which is ignored, is dropped as it comes */
        r->drop = 1;
        r->checked = 1;
        return sv_allowed(c, r, &t, finance, ret) ? 1 : 0;
    }
    if (strncmp(url, "/api/v1/ledgers/", 16) == 0 && http_period(url + 16, strlen(url + 16))) {
        memcpy(r->period, url + 16, 7);
        r->route = R_LEDGER;
        *ret = get ? sv_ledger(c, r) : sv_not_allowed(c, r, "GET");
        return 1;
    }
    if (strncmp(url, "/api/v1/payouts/", 16) == 0 && http_period(url + 16, strlen(url + 16))) {
        memcpy(r->period, url + 16, 7);
        r->route = R_PAYOUTS;
        *ret = get ? sv_ledger(c, r) : sv_not_allowed(c, r, "GET");
        return 1;
    }
    /* /api/v1/affiliates/ID/statements/YYYY-MM: the ID is all between (it may hold a "/") */
    if (strncmp(url, "/api/v1/affiliates/", 19) == 0 && strlen(url) > 19 + 19 &&
        strncmp(url + strlen(url) - 19, "/statements/", 12) == 0 &&
        http_period(url + strlen(url) - 7, 7)) {
        size_t n = strlen(url) - 19 - 19;
        char id[2048];
        r->route = R_STATEMENT;
        memcpy(r->period, url + strlen(url) - 7, 7);
        if (n >= sizeof id) {
            /* longer than any ID: after the token's check, as for any other path */
            acre_token t;
            if (!sv_authorize(c, r, &t, ret))
                *ret = sv_fail(c, r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such affiliate", NULL,
                               NULL, 0);
            return 1;
        }
        memcpy(id, url + 19, n);
        id[n] = 0;
        *ret = get ? sv_statement(c, r, id) : sv_not_allowed(c, r, "GET");
        return 1;
    }
    if (strcmp(url, "/v1/integration/bonus") == 0)
        r->kind = "bonus-events", r->one = 1;
    else if (strncmp(url, "/api/v1/", 8) == 0)
        r->kind = known_kind(url + 8);
    if (!r->kind) {
        *ret = sv_fail(c, r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such path", NULL, NULL, 0);
        return 1;
    }
    r->route = R_RECORDS;
    if (get && !r->one) {
        *ret = sv_records_get(c, r);
        return 1;
    }
    if (!post) {
        *ret = sv_not_allowed(c, r, r->one ? "POST" : "GET, POST");
        return 1;
    }
    /* Checked now when the body has not come yet (chunked, large, or Expect: 100-continue), so
     * a request refused costs no body; a small body already sent is read first, and the checks
     * answered after it (answering before would close the connection on unread bytes). */
    if (!body_sent && sv_records_check(c, r, ret))
        return 1;
    return 0;
}

static enum MHD_Result too_large(struct MHD_Connection *c, request *r)
{
    char msg[120];
    if (!r->too_large)
        r->too_large = 1;
    snprintf(msg, sizeof msg, "a request body is at most %u bytes", MAX_BODY);
    return sv_fail(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "PAYLOAD_TOO_LARGE", msg, NULL, NULL, 0);
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
        if (!r->defer && !(cl && n > 0))
            watch_mark(sv, c, 1); /* no body: the request has arrived (a page is made next) */
        if (route(c, r, url, method, body_sent, &ret)) {
            r->defer = 0;
            if (!r->early)
                watch_mark(sv, c, 1); /* answered: the request has arrived */
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
    watch_mark(sv, c, 1); /* the request has arrived whole: not timed from here */
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
        if ((wait = sv_rate_limited(sv, ip, (long long)time(NULL))) > 0)
            return sv_limited(c, r, wait, "for tokens from this address");
        return sv_token(c, r);
    }
    if (r->route == R_PREVIEW)
        return sv_preview(c, r);
    if (r->route == R_CLOSE) {
        if (!r->cj)
            return sv_close_start(c, r);
        if (!sv_job_done(sv, &r->job))
            return MHD_YES;
        return sv_close_finish(c, r);
    }
    if (r->route == R_RECORDS) {
        if (!r->checked && sv_records_check(c, r, &ret))
            return ret;
        if (!r->ij)
            return sv_records_start(c, r);
        if (!sv_job_done(sv, &r->job))
            return MHD_YES;
        return sv_records_finish(c, r);
    }
    return MHD_NO;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    server *sv = cls;
    request *r = *con_cls;
    (void)toe;
    watch_mark(sv, c, 0); /* the wait for the next request begins */
    if (!r)
        return;
    sv_idem_leave(sv, r->mark);
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
    sv_close_free(r->cj);
    sv_records_free(r->ij);
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
    postbacks_loop *deliverer = NULL;
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
    if (sv.o.request_timeout <= 0)
        sv.o.request_timeout = 60;
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
    pthread_mutex_init(&sv.watch_mu, NULL);
    pthread_cond_init(&sv.sweep, NULL);
    pthread_mutex_init(&sv.metrics_mu, NULL);
    pthread_cond_init(&sv.jobs, NULL);
    pthread_key_create(&sv.store_key, free_thread_store);
    /* every thread started from here on leaves SIGTERM and SIGINT to sigwait below */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (sv.o.deliver_every >= 0 && postbacks_global_init()) {
        fprintf(stderr, "acre: serve: libcurl could not start: no postbacks are delivered\n");
        sv.o.deliver_every = -1;
    }
    pthread_create(&sv.writer, NULL, writer_main, &sv);
    pthread_create(&sv.sweeper, NULL, sweeper_main, &sv);
    /* postbacks: the outbox's events delivered beside the requests (docs/events.md) */
    if (sv.o.deliver_every >= 0 &&
        !(deliverer = postbacks_loop_start(sv.o.db, sv.o.deliver_every ? sv.o.deliver_every : 10)))
        fprintf(stderr, "acre: serve: the postbacks' delivery could not start\n");

    if (cert)
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &sv, MHD_OPTION_SOCK_ADDR, &ss,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sv.o.threads,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, &sv,
                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, &sv,
                             MHD_OPTION_HTTPS_MEM_CERT,
                             cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_PRIORITIES,
                             "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &sv, MHD_OPTION_SOCK_ADDR, &ss,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sv.o.threads,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, &sv,
                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, &sv, MHD_OPTION_END);
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
    pthread_mutex_lock(&sv.watch_mu);
    sv.sweeper_stop = 1;
    pthread_cond_signal(&sv.sweep);
    pthread_mutex_unlock(&sv.watch_mu);
    pthread_join(sv.sweeper, NULL);
    postbacks_loop_stop(deliverer);
    acre_store_free(sv.ws);
    pthread_key_delete(sv.store_key);
    free(sv.slots);
    free(sv.inflight);
    free(cert);
    free(key);
    return code;
}

const char *serve_http_version(void)
{
    return MHD_get_version();
}
