/* tools/serve_int.h — what the files of `acre serve` share (internal): the server, a request,
 * the writer's jobs, the answers' helpers. tools/serve.c has the server, the writer, the
 * answers and the routing; serve_auth.c tokens, scopes and limits; serve_records.c records in
 * and out; serve_finance.c periods, previews, closes, ledgers and metrics. */
#ifndef ACRE_TOOLS_SERVE_INT_H
#define ACRE_TOOLS_SERVE_INT_H

#include <pthread.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "acre.h"
#include "serve.h"

#define MAX_BODY (16u << 20) /* bytes of a request body (SPEC 11: 413 above) */
#define MAX_RECORDS 1000     /* records of a request (rule max_records) */
#define RATE_SLOTS 4096      /* tokens counted at once by the rate limiter */
#define STOP_WAIT_MS 30000   /* how long SIGTERM waits for requests in flight */

/* ---- the writer ------------------------------------------------------------------------ */

#define GROUP_MAX 32 /* batches committed together at most (one fsync) */

typedef struct job {
    void (*fn)(acre_store *s, void *arg);
    void *arg;
    /* group: fn may run in a group commit with the jobs queued beside it (its writes a
     * savepoint); lost is then called if the group's commit failed after fn stored its part */
    int group;
    void (*lost)(void *arg, int rc, const acre_error *err);
    struct MHD_Connection *conn; /* suspended until the job is done; resumed then */
    int done;
    struct job *next;
} job;

/* A connection, watched for slow clients: a request must arrive whole (headers and body)
 * within --request-timeout seconds of the end of the one before it (or of the connection's
 * start), or the sweeper shuts the socket down. A request that has arrived is not timed (its
 * writer job, its answer); libmicrohttpd's own idle timeout covers a client that stops. */
typedef struct conn_watch {
    int fd;
    struct timespec since; /* when the wait for its current request began */
    int held;              /* its request has arrived: not timed */
    int shut;              /* shut down by the sweeper */
    struct conn_watch *prev, *next;
} conn_watch;

typedef struct rate_slot {
    char key[80]; /* "client ID" or "ip ADDRESS" */
    long long minute;
    long count;
} rate_slot;

/* /metrics: requests by route and status, their latency, records stored by kind */
#define N_ROUTES 11
extern const char *const route_names[N_ROUTES];
extern const long long latency_us[]; /* the histogram's bucket bounds, microseconds */
#define N_LATENCY 11
#define N_KINDS 16

typedef struct metrics {
    long long requests[N_ROUTES][600]; /* by route and status (100-599) */
    long long latency[N_LATENCY + 1];  /* cumulative at writing; here per bucket, +Inf last */
    long long latency_sum_us, latency_count;
    long long stored[N_KINDS]; /* records inserted or updated, by acre_kind_name index */
    long long limited;
    long long slow; /* connections shut down for taking too long to send a request */
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
    pthread_mutex_t watch_mu; /* the watched connections, and the sweeper's stop */
    pthread_cond_t sweep;
    conn_watch *watched;
    pthread_t sweeper;
    int sweeper_stop;
    pthread_mutex_t idem_mu;
    char **inflight; /* "client_id key" of POSTs with an Idempotency-Key in flight */
    int ninflight, capinflight;
} server;

/* ---- a request ------------------------------------------------------------------------- */

enum {
    R_NONE,
    R_HEALTH,
    R_TOKEN,
    R_RECORDS,
    R_PERIODS,
    R_PREVIEW,
    R_CLOSE,
    R_LEDGER,
    R_METRICS,
    R_PAYOUTS,
    R_STATEMENT
};

struct ingest_job;
struct close_job;

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

/* serve.c: the writer, the store handles, the answers, and the helpers every route uses */
enum MHD_Result sv_to_writer(server *sv, struct MHD_Connection *c, request *r);
int sv_job_done(server *sv, const job *j);
acre_store *sv_thread_store(server *sv, acre_error *err);
int sv_plain_text(const char *s, size_t max);
void sv_random_hex(char *out, size_t bytes);
enum MHD_Result sv_send_json(struct MHD_Connection *c, request *r, unsigned status, char *body,
                             const char *const *hdr, int n);
enum MHD_Result sv_send_text(struct MHD_Connection *c, request *r, unsigned status,
                             const char *type, char *body, size_t len);
enum MHD_Result sv_send_value(struct MHD_Connection *c, request *r, unsigned status, json_t *v,
                              const char *const *hdr, int n);
enum MHD_Result sv_fail(struct MHD_Connection *c, request *r, unsigned status, const char *code,
                        const char *message, json_t *details, const char *const *hdr, int n);
enum MHD_Result sv_not_allowed(struct MHD_Connection *c, request *r, const char *allow);
void sv_media_type(struct MHD_Connection *c, char out[64]);
/* serve_auth.c */
long sv_rate_limited(server *sv, const char *key, long long now);
enum MHD_Result sv_limited(struct MHD_Connection *c, request *r, long wait, const char *who);
int sv_authorize(struct MHD_Connection *c, request *r, acre_token *t, enum MHD_Result *ret);
enum MHD_Result sv_forbidden(struct MHD_Connection *c, request *r, const char *scope);
int sv_allowed(struct MHD_Connection *c, request *r, acre_token *t, const char *const *any,
               enum MHD_Result *ret);
enum MHD_Result sv_token(struct MHD_Connection *c, request *r);
/* serve_records.c */
int sv_records_check(struct MHD_Connection *c, request *r, enum MHD_Result *ret);
enum MHD_Result sv_records_start(struct MHD_Connection *c, request *r);
enum MHD_Result sv_records_finish(struct MHD_Connection *c, request *r);
enum MHD_Result sv_records_get(struct MHD_Connection *c, request *r);
void sv_idem_leave(server *sv, char *mark);
/* serve.c */
enum MHD_Result sv_bad_request(struct MHD_Connection *c, request *r, const char *msg);
enum MHD_Result sv_engine_error(struct MHD_Connection *c, request *r, int rc,
                                const acre_error *err);
int sv_paging(struct MHD_Connection *c, request *r, long *page, long *per_page, const char **cursor,
              enum MHD_Result *ret);
int sv_flag_arg(struct MHD_Connection *c, const char *name);
/* serve_finance.c */
enum MHD_Result sv_periods(struct MHD_Connection *c, request *r);
enum MHD_Result sv_preview(struct MHD_Connection *c, request *r);
enum MHD_Result sv_close_start(struct MHD_Connection *c, request *r);
enum MHD_Result sv_close_finish(struct MHD_Connection *c, request *r);
/* GET /api/v1/ledgers/PERIOD and (r->route R_PAYOUTS) GET /api/v1/payouts/PERIOD */
enum MHD_Result sv_ledger(struct MHD_Connection *c, request *r);
/* GET /api/v1/affiliates/ID/statements/PERIOD (r->period set): finance any affiliate's, an
 * affiliate:ID token its own */
enum MHD_Result sv_statement(struct MHD_Connection *c, request *r, const char *id);
enum MHD_Result sv_metrics_text(struct MHD_Connection *c, request *r);
void sv_close_free(struct close_job *j);    /* NULL-safe */
void sv_records_free(struct ingest_job *j); /* NULL-safe; serve_records.c */

#endif
