/* tools/serve_finance.c — `acre serve` for finance: periods, previews, closes (through the
 * writer), ledgers and payouts (an affiliate:ID token's own lines only) and /metrics. */
#include <time.h>

#include "http_parse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"

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
enum MHD_Result sv_periods(struct MHD_Connection *c, request *r)
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

    if (sv_allowed(c, r, &t, scopes, &ret) || sv_paging(c, r, &page, &per_page, &cursor, &ret))
        return ret;
    if (cursor && !http_period(cursor, strlen(cursor)))
        return sv_bad_request(c, r, "cursor: not one this server gave");
    acre_error_clear(&err);
    if (!(s = sv_thread_store(r->sv, &err)))
        return sv_engine_error(c, r, ACRE_EIO, &err);
    if (!(l.all = json_array()))
        return MHD_NO;
    if ((rc = acre_store_closes(s, add_period, &l, &err))) {
        json_decref(l.all);
        return sv_engine_error(c, r, rc, &err);
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
    return sv_send_value(c, r, MHD_HTTP_OK, v, NULL, 0);
}

/* What a writer put in the memstream `out` (closed here): answered as `type`, or the
 * engine's refusal. */
static enum MHD_Result written(struct MHD_Connection *c, request *r, FILE *out, char **text,
                               size_t *len, int rc, const acre_error *err, const char *type)
{
    fclose(out);
    if (rc) {
        free(*text);
        return sv_engine_error(c, r, rc, err);
    }
    return sv_send_text(c, r, MHD_HTTP_OK, type, *text, *len);
}

/* a ledger document in `format` (its whole text for json without an affiliate), or with pay
 * its payouts (json or csv, SPEC 10) */
static enum MHD_Result send_ledger(struct MHD_Connection *c, request *r, acre_store *s,
                                   char *ledger, const char *format, const char *only, int pay)
{
    char *text = NULL;
    size_t len = 0;
    acre_error err;
    FILE *out;
    int rc;
    if (!pay && strcmp(format, "json") == 0 && !only)
        return sv_send_text(c, r, MHD_HTTP_OK, "application/json", ledger, strlen(ledger));
    if (!(out = open_memstream(&text, &len))) {
        free(ledger);
        return MHD_NO;
    }
    acre_error_clear(&err);
    rc = pay ? acre_payouts_write(out, s, ledger, format, only, &err)
             : acre_ledger_write_named(out, s, ledger, format, only, &err);
    free(ledger);
    return written(c, r, out, &text, &len, rc, &err,
                   strcmp(format, "json") == 0  ? "application/json"
                   : strcmp(format, "csv") == 0 ? "text/csv; charset=utf-8"
                                                : "text/plain; charset=utf-8");
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
enum MHD_Result sv_preview(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    const char *format = ledger_format(c);
    acre_close_opts o = {.store = 0, .allow_gap = sv_flag_arg(c, "allow_gap")};
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    char *ledger = NULL;
    int rc;

    if (!r->checked && sv_allowed(c, r, &t, scopes, &ret))
        return ret;
    if (!format || o.allow_gap < 0)
        return sv_bad_request(c, r,
                              "format is json, csv, hledger, beancount or summary; allow_gap "
                              "true or false");
    acre_error_clear(&err);
    if (!(s = sv_thread_store(r->sv, &err)))
        return sv_engine_error(c, r, ACRE_EIO, &err);
    if ((rc = acre_close_period_opts(s, r->period, &o, &ledger, &err)))
        return sv_engine_error(c, r, rc, &err);
    return send_ledger(c, r, s, ledger, format, NULL, 0);
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
enum MHD_Result sv_close_start(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    int early = sv_flag_arg(c, "early"), gap = sv_flag_arg(c, "allow_gap");
    acre_token t;
    enum MHD_Result ret;
    close_job *j;

    if (!r->checked && sv_allowed(c, r, &t, scopes, &ret))
        return ret;
    if (early < 0 || gap < 0)
        return sv_bad_request(c, r, "early and allow_gap are true or false");
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
            return sv_fail(c, r, MHD_HTTP_UNPROCESSABLE_CONTENT, "VALIDATION_ERROR", msg, d, NULL,
                           0);
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
    return sv_to_writer(r->sv, c, r);
}

enum MHD_Result sv_close_finish(struct MHD_Connection *c, request *r)
{
    close_job *j = r->cj;
    const char *d;
    if (j->rc)
        return sv_engine_error(c, r, j->rc, &j->err);
    /* the ledger ends with "digest":"sha256:<64 hex>" (then the mac, with a key) */
    d = strstr(j->ledger, "\n\"digest\":\"");
    {
        char head[128];
        snprintf(head, sizeof head, "{\"period\":\"%s\",\"digest\":\"%.71s\"}", j->period,
                 d ? d + 11 : "");
        return sv_send_json(c, r, MHD_HTTP_OK, strdup(head), NULL, 0);
    }
}

/* payouts' format= : json (the default) or csv, else NULL */
static const char *payouts_format(struct MHD_Connection *c)
{
    const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    return !f || strcmp(f, "json") == 0 ? "json" : strcmp(f, "csv") == 0 ? "csv" : NULL;
}

/* GET /api/v1/ledgers/PERIOD and GET /api/v1/payouts/PERIOD: finance any affiliate's;
 * affiliate:ID its own only */
enum MHD_Result sv_ledger(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    int pay = r->route == R_PAYOUTS;
    const char *format = pay ? payouts_format(c) : ledger_format(c);
    const char *only = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "affiliate");
    char own[2048] = "";
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    char *doc = NULL;
    int rc, mine = 0;

    if (sv_authorize(c, r, &t, &ret))
        return ret;
    if (!acre_scope_has(t.scope, scopes[0])) {
        /* an affiliate's token: its own affiliate, named or not */
        for (const char *p = t.scope; *p;) {
            size_t w = strcspn(p, " ");
            if (w > 10 && w - 10 < sizeof own && strncmp(p, "affiliate:", 10) == 0) {
                char id[2048];
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
            return sv_forbidden(c, r, "finance");
        if ((only && strcmp(only, own) != 0) || (!only && mine > 1))
            return sv_fail(c, r, MHD_HTTP_FORBIDDEN, "FORBIDDEN",
                           mine > 1 && !only
                               ? "this token is for several affiliates: name one with affiliate="
                               : "this token reads its own affiliate's ledger lines and payouts "
                                 "only",
                           NULL, NULL, 0);
        only = own;
    }
    if (!format)
        return sv_bad_request(c, r,
                              pay ? "format is json or csv"
                                  : "format is json, csv, hledger, beancount or summary");
    acre_error_clear(&err);
    if (!(s = sv_thread_store(r->sv, &err)))
        return sv_engine_error(c, r, ACRE_EIO, &err);
    if ((rc = acre_ledger_get(s, r->period, &doc, &err))) {
        if (rc == ACRE_ENOTFOUND) {
            char msg[120];
            snprintf(msg, sizeof msg, "%s is not closed", r->period);
            return sv_fail(c, r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", msg, NULL, NULL, 0);
        }
        return sv_engine_error(c, r, rc, &err);
    }
    return send_ledger(c, r, s, doc, format, only && *only ? only : NULL, pay);
}

/* GET /metrics: Prometheus' text format */
enum MHD_Result sv_metrics_text(struct MHD_Connection *c, request *r)
{
    static const char *const scopes[] = {"finance", NULL};
    acre_token t;
    enum MHD_Result ret;
    metrics m;
    char *text = NULL;
    size_t len = 0;
    long long cum = 0;
    FILE *out;

    if (sv_allowed(c, r, &t, scopes, &ret))
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
            "acre_http_requests_limited_total %lld\n"
            "# HELP acre_http_connections_slow_total Connections shut down for sending a request "
            "too slowly (--request-timeout).\n"
            "# TYPE acre_http_connections_slow_total counter\n"
            "acre_http_connections_slow_total %lld\n",
            m.limited, m.slow);
    fclose(out);
    return sv_send_text(c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

void sv_close_free(struct close_job *j)
{
    if (j) {
        free(j->ledger);
        free(j);
    }
}

/* GET /api/v1/affiliates/ID/statements/PERIOD[?format=html|text] */
enum MHD_Result sv_statement(struct MHD_Connection *c, request *r, const char *id)
{
    const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    const char *format = !f || strcmp(f, "html") == 0 ? "html"
                         : strcmp(f, "text") == 0     ? "text"
                                                      : NULL;
    char *text = NULL, own[2100];
    size_t len = 0;
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    FILE *out;
    int rc;

    if (sv_authorize(c, r, &t, &ret))
        return ret;
    snprintf(own, sizeof own, "affiliate:%s", id);
    if (!acre_scope_has(t.scope, "finance") && !acre_scope_has(t.scope, own))
        return sv_fail(c, r, MHD_HTTP_FORBIDDEN, "FORBIDDEN",
                       "this token reads its own affiliate's statements only (or needs the scope "
                       "\"finance\")",
                       NULL, NULL, 0);
    if (!format)
        return sv_bad_request(c, r, "format is html or text");
    acre_error_clear(&err);
    if (!(s = sv_thread_store(r->sv, &err)))
        return sv_engine_error(c, r, ACRE_EIO, &err);
    if (!(out = open_memstream(&text, &len)))
        return MHD_NO;
    rc = acre_statement_write(out, s, r->period, id, format, &err);
    return written(c, r, out, &text, &len, rc, &err,
                   format[0] == 'h' ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
}
