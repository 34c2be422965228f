/* tools/postbacks_cmd.c — `acre postbacks deliver|list|retry` and `acre affiliates secret`
 * (SPEC 12; docs/events.md): the outbox's events POSTed to each affiliate's postback_url with
 * libcurl, signed with the affiliate's secret, each attempt's result kept at once. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "postbacks_cmd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define CONNECT_TIMEOUT 10L /* seconds to connect to a receiver */
#define TIMEOUT 30L         /* seconds for the whole request */
#define STOP_GRACE 5        /* seconds a stop gives the request in flight to be answered */

/* A receiver's answer is read and dropped, at most this much of it kept for an error. */
typedef struct answer {
    char head[200];
    size_t n;
} answer;

static size_t keep(char *p, size_t size, size_t n, void *ctx)
{
    answer *a = ctx;
    size_t len = size * n;
    size_t room = sizeof a->head - 1 - a->n;
    memcpy(a->head + a->n, p, len < room ? len : room);
    a->n += len < room ? len : room;
    a->head[a->n] = '\0';
    return len;
}

typedef struct pass {
    acre_store *s;
    CURL *curl;
    const int *stop; /* set: end the pass; the request in flight has STOP_GRACE to finish */
    struct timespec stop_seen; /* when the request in flight first saw the stop; 0: not yet */
    postbacks_counts *n;
    int failed_store;
    acre_error err;
    char warned[64][128]; /* affiliates told of a missing secret */
    int nwarned;
} pass;

static void warn_once(pass *p, const char *aff, const char *what)
{
    for (int i = 0; i < p->nwarned; i++)
        if (strcmp(p->warned[i], aff) == 0)
            return;
    if (p->nwarned < 64)
        snprintf(p->warned[p->nwarned++], sizeof p->warned[0], "%s", aff);
    fprintf(stderr, "acre: postbacks: affiliate %s %s: its events wait\n", aff, what);
}

static int stopping(const pass *p)
{
    return p->stop && __atomic_load_n(p->stop, __ATOMIC_RELAXED);
}

/* libcurl's progress callback: a stop abandons the request in flight once it has had
 * STOP_GRACE seconds to be answered, so a receiver that answers at once is recorded delivered
 * (not sent again by the next pass) and a slow one does not hold the server's shutdown */
static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    pass *p = ctx;
    struct timespec now;
    (void)dt, (void)dn, (void)ut, (void)un;
    if (!stopping(p))
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!p->stop_seen.tv_sec && !p->stop_seen.tv_nsec) {
        p->stop_seen = now;
        return 0;
    }
    return now.tv_sec - p->stop_seen.tv_sec >= STOP_GRACE;
}

/* One attempt at e: 1 delivered, 0 failed (why in `error`), -1 abandoned by a stop. */
static int attempt(pass *p, const acre_event *e, char *error, size_t size)
{
    struct curl_slist *h = NULL;
    char line[200], sig[68];
    long long ts = (long long)time(NULL);
    size_t len = strlen(e->body);
    answer a = {"", 0};
    long code = 0;
    CURLcode rc;
    if (acre_postback_signature(sig, e->secret, ts, e->body, len)) {
        snprintf(error, size, "out of memory signing it");
        return 0;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    snprintf(line, sizeof line, "X-Acre-Event-Id: %s", e->event_id);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "X-Acre-Timestamp: %lld", ts);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "X-Acre-Signature: %s", sig);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(p->curl, CURLOPT_URL, e->postback_url);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, e->body);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &a);
    rc = curl_easy_perform(p->curl);
    curl_slist_free_all(h);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return -1;
    if (rc != CURLE_OK) {
        snprintf(error, size, "%s", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300)
        return 1;
    /* the status, and the start of what the receiver said, on one line */
    for (char *c = a.head; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    snprintf(error, size, "HTTP %ld%s%.120s", code, a.n ? ": " : "", a.head);
    return 0;
}

static int each_due(void *ctx, const acre_event *e)
{
    pass *p = ctx;
    char error[256] = "";
    const char *status = NULL;
    int ok;
    if (stopping(p))
        return 2; /* the walk ends; what was not attempted waits for the next pass */
    if (!e->postback_url) {
        p->n->waiting++;
        return 0; /* no URL (yet): not attempted, kept */
    }
    if (!e->secret) {
        warn_once(p, e->affiliate_id, "has a postback_url but no secret (acre affiliates secret)");
        p->n->waiting++;
        return 0;
    }
    ok = attempt(p, e, error, sizeof error);
    if (ok < 0)
        return 2; /* abandoned: not an attempt, the event as it was */
    p->n->attempted++;
    /* the clock read per attempt: a long pass does not shorten the next one's backoff */
    if (acre_event_attempted(p->s, e->event_id, e->attempts, ok, error, (long long)time(NULL),
                             &status, &p->err)) {
        p->failed_store = 1;
        return 1;
    }
    if (ok)
        p->n->delivered++;
    else if (strcmp(status, "dead") == 0)
        p->n->dead++;
    else
        p->n->failed++;
    return 0;
}

int postbacks_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int postbacks_deliver(acre_store *s, int all, const int *stop, postbacks_counts *n, acre_error *err)
{
    pass *p = calloc(1, sizeof *p);
    int rc;
    memset(n, 0, sizeof *n);
    if (!p)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    p->s = s;
    p->n = n;
    p->stop = stop;
    acre_error_clear(&p->err);
    if (!(p->curl = curl_easy_init())) {
        free(p);
        return acre_error_set(err, ACRE_ERROR, NULL, NULL, "libcurl could not start");
    }
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, TIMEOUT);
    curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(p->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "acre/" ACRE_VERSION);
    curl_easy_setopt(p->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(p->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(p->curl, CURLOPT_XFERINFODATA, p);
    /* https is verified against the system's CAs (libcurl's default, said here) */
    curl_easy_setopt(p->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(p->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    rc = acre_events_each(s, NULL, all ? (long long)1 << 62 : (long long)time(NULL), each_due, p,
                          err);
    if (rc == 2)
        rc = 0; /* stopped */
    if (p->failed_store) {
        *err = p->err;
        rc = p->err.code ? p->err.code : ACRE_ERROR;
    }
    curl_easy_cleanup(p->curl);
    free(p);
    return rc;
}

/* ---- the command ---- */

static int print_event(void *ctx, const acre_event *e)
{
    int json = *(int *)ctx;
    if (json) {
        json_t *body = json_loads(e->body, 0, NULL), *o;
        char *t;
        if (!body)
            body = json_string(e->body); /* not JSON: shown as it is stored */
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "event_id",
                      e->event_id, "type", e->type, "affiliate_id", e->affiliate_id, "customer_id",
                      e->customer_id, "plan", e->plan, "status", e->status, "made_by", e->made_by,
                      "attempts", (json_int_t)e->attempts, "made_at", (json_int_t)e->made_at,
                      "next_at", (json_int_t)e->next_at, "last_error",
                      e->last_error ? json_string(e->last_error) : json_null(), "body", body);
        t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!t)
            return 1;
        puts(t);
        free(t);
        return 0;
    }
    printf("%s  %-9s  %-9s  %ld  %s  %s  %s%s%s\n", e->event_id, e->type, e->status, e->attempts,
           e->affiliate_id, e->customer_id, e->plan, e->last_error ? "  last: " : "",
           e->last_error ? e->last_error : "");
    return 0;
}

int cmd_postbacks(const args *a)
{
    const char *sub = a->npos > 1 ? a->pos[1] : "";
    acre_store *s = NULL;
    acre_error err;
    int rc;
    if (strcmp(sub, "deliver") && strcmp(sub, "list") && strcmp(sub, "retry"))
        return usage("postbacks: deliver [--now], list [--status S] [--format json], or "
                     "retry EVENT_ID");
    if (strcmp(sub, "retry") == 0 && a->npos != 3)
        return usage("postbacks retry: name one EVENT_ID");
    if (strcmp(sub, "retry") && a->npos != 2)
        return usage("postbacks: too many arguments");
    if (a->status && strcmp(a->status, "pending") && strcmp(a->status, "delivered") &&
        strcmp(a->status, "dead"))
        return usage("postbacks list --status: pending, delivered or dead");
    if (a->format_given && strcmp(a->format, "json") && strcmp(a->format, "table"))
        return usage("postbacks list --format: table or json");
    if ((rc = open_store(&s, a)))
        return rc;
    acre_error_clear(&err);
    if (strcmp(sub, "deliver") == 0 && postbacks_global_init()) {
        acre_store_free(s);
        fprintf(stderr, "acre: postbacks deliver: libcurl could not start\n");
        return EXIT_REFUSED;
    }
    if (strcmp(sub, "deliver") == 0) {
        postbacks_counts n;
        if (!(rc = postbacks_deliver(s, a->now, NULL, &n, &err)))
            printf("{\"attempted\":%ld,\"delivered\":%ld,\"failed\":%ld,\"dead\":%ld}\n",
                   n.attempted, n.delivered, n.failed, n.dead);
    } else if (strcmp(sub, "list") == 0) {
        int json = a->format_given && strcmp(a->format, "json") == 0;
        rc = acre_events_each(s, a->status, -1, print_event, &json, &err);
        if (rc > 0)
            rc = acre_error_set(&err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    } else {
        rc = acre_event_retry(s, a->pos[2], (long long)time(NULL), &err);
        if (!rc)
            printf("{\"event_id\":\"%s\",\"status\":\"pending\"}\n", a->pos[2]);
    }
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: postbacks %s: %s\n", sub, err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

int cmd_affiliates(const args *a)
{
    acre_store *s = NULL;
    acre_error err;
    char secret[65];
    int rc;
    if (a->npos != 3 || strcmp(a->pos[1], "secret") != 0)
        return usage("affiliates: secret ID [--rotate]");
    if ((rc = open_store(&s, a)))
        return rc;
    acre_error_clear(&err);
    {
        char now[32];
        utc_now(now);
        rc = acre_affiliate_secret(s, a->pos[2], a->rotate, now, secret, &err);
    }
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: affiliates secret: %s\n", err.message);
        return exit_for(rc);
    }
    puts(secret);
    return EXIT_OK;
}

/* ---- the delivery loop inside `acre serve` ---- */

struct postbacks_loop {
    char *db;
    long every;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void *loop_main(void *arg)
{
    postbacks_loop *l = arg;
    acre_store *s = NULL;
    acre_error err;
    pthread_setname_np(pthread_self(), "acre-postbacks");
    acre_error_clear(&err);
    if (acre_store_open(&s, l->db, &err)) {
        fprintf(stderr, "acre: serve: postbacks: %s\n", err.message);
        return NULL;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec until;
        postbacks_counts n;
        pthread_mutex_unlock(&l->mu);
        /* a failure of the store is said and tried again next time: the events stay */
        if (postbacks_deliver(s, 0, &l->stop, &n, &err))
            fprintf(stderr, "acre: serve: postbacks: %s\n", err.message);
        pthread_mutex_lock(&l->mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += l->every;
        while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&l->mu);
    acre_store_free(s);
    return NULL;
}

postbacks_loop *postbacks_loop_start(const char *db, long every)
{
    postbacks_loop *l = calloc(1, sizeof *l);
    if (!l || !(l->db = strdup(db))) {
        free(l);
        return NULL;
    }
    l->every = every;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->th, NULL, loop_main, l) != 0) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
        free(l->db);
        free(l);
        return NULL;
    }
    return l;
}

void postbacks_loop_stop(postbacks_loop *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->th, NULL); /* a request in flight has up to STOP_GRACE seconds */
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->db);
    free(l);
}
