/* engine/sim_ledger.c — reading a ledger's text without making it one tree, for simulate
 * (engine/simulate.c): a ledger is acre's own canonical JSON, tens of megabytes at 200,000
 * customers, and the comparison needs four members of each affiliate. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonval.h"
#include "sim_ledger.h"

/* The index just past the JSON string starting at t[i] (a '"'), or n. */
size_t acre_sim_skip_string(const char *t, size_t n, size_t i)
{
    for (i++; i < n && t[i] != '"'; i++)
        if (t[i] == '\\')
            i++;
    return i < n ? i + 1 : n;
}

static size_t skip_space(const char *t, size_t n, size_t i)
{
    while (i < n && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r'))
        i++;
    return i;
}

/* The index just past the JSON value starting at t[i]. */
static size_t skip_value(const char *t, size_t n, size_t i)
{
    int d = 0;
    if (t[i] != '{' && t[i] != '[' && t[i] != '"') {
        /* a number, true, false or null */
        while (i < n && !strchr(",}] \n\t\r", t[i]))
            i++;
        return i;
    }
    do {
        if (t[i] == '"') {
            i = acre_sim_skip_string(t, n, i);
            continue;
        }
        d += t[i] == '{' || t[i] == '[';
        d -= t[i] == '}' || t[i] == ']';
        i++;
    } while (i < n && d > 0);
    return i;
}

/* The members of the affiliate object at t[i] (a '{') that the comparison reads, parsed into a
 * new object (NULL when out of memory); *end is set past the object. The rest (its lines, whose
 * revshare detail lists every customer) is skipped unparsed. */
static json_t *affiliate_summary(const char *t, size_t n, size_t i, size_t *end)
{
    static const char *const want[] = {"affiliate_id", "currency", "rounding", "earned", NULL};
    json_t *o = json_object();
    int oom = !o;
    for (i = skip_space(t, n, i + 1); i < n && t[i] == '"';) {
        size_t k = i, v;
        i = acre_sim_skip_string(t, n, i);
        v = skip_space(t, n, i);
        if (v >= n || t[v] != ':')
            break;
        v = skip_space(t, n, v + 1);
        i = skip_value(t, n, v);
        for (int w = 0; !oom && want[w]; w++) {
            size_t klen = strlen(want[w]);
            json_t *val;
            if (acre_sim_skip_string(t, n, k) - k != klen + 2 ||
                memcmp(t + k + 1, want[w], klen) != 0)
                continue;
            if (!(val = acre_json_loadb(t + v, i - v, JSON_DECODE_ANY, NULL)) ||
                json_object_set_new(o, want[w], val))
                oom = 1;
        }
        if ((i = skip_space(t, n, i)) < n && t[i] == ',')
            i = skip_space(t, n, i + 1);
    }
    *end = i < n && t[i] == '}' ? i + 1 : i;
    if (oom) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Calls fn with each element of the member "affiliates" of the ledger document t, the members
 * the comparison reads parsed alone (affiliate_summary), so that a ledger of tens of megabytes
 * is never one tree and its lines are never parsed. Returns 0, fn's nonzero return, or
 * ACRE_ENOMEM (err set) when a member cannot be parsed: acre wrote every ledger compared here
 * (audit checks the stored ones), so what fails is memory. A stored ledger damaged so that
 * its text is not JSON (audit reports it) is compared as far as it reads. */
int acre_sim_each_affiliate(const char *t, int (*fn)(void *ctx, const json_t *a, acre_error *err),
                            void *ctx, acre_error *err)
{
    size_t n = strlen(t), i = 0;
    int depth = 0;
    while (i < n) {
        if (t[i] == '"') {
            size_t at = i;
            i = acre_sim_skip_string(t, n, i);
            if (depth == 1 && i - at == 12 && memcmp(t + at, "\"affiliates\"", 12) == 0 &&
                (i = skip_space(t, n, i)) < n && t[i] == ':' && (i = skip_space(t, n, i + 1)) < n &&
                t[i] == '[')
                break;
            continue;
        }
        depth += t[i] == '{' || t[i] == '[';
        depth -= t[i] == '}' || t[i] == ']';
        i++;
    }
    if (i >= n)
        return 0; /* no affiliates */
    for (i = skip_space(t, n, i + 1); i < n && t[i] == '{'; i = skip_space(t, n, i + 1)) {
        json_t *a = affiliate_summary(t, n, i, &i);
        int rc;
        if (!a)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                                  "out of memory: a ledger cannot be read");
        rc = fn(ctx, a, err);
        json_decref(a);
        if (rc)
            return rc;
        if ((i = skip_space(t, n, i)) >= n || t[i] != ',')
            break;
    }
    return 0;
}

typedef struct summary {
    acre_buf b;
    int n;
} summary;

static int dump_to(const char *buf, size_t size, void *ctx)
{
    acre_buf_add(ctx, buf, size);
    return ((acre_buf *)ctx)->oom ? -1 : 0;
}

static int add_summary(void *ctx, const json_t *a, acre_error *err)
{
    summary *m = ctx;
    acre_buf_adds(&m->b, m->n++ ? ",\n" : "\n");
    if (json_dump_callback(a, dump_to, &m->b, JSON_COMPACT) || m->b.oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 0;
}

/* *text, a ledger, replaced by what the comparison reads of it (acre_sim_options.summaries):
 * each affiliate's summary (affiliate_summary) in an "affiliates" array, which each_affiliate
 * reads as it reads a ledger, so the comparison is the same. */
int acre_sim_summarize(char **text, acre_error *err)
{
    summary m = {{0}, 0};
    int rc;
    if (!*text)
        return 0;
    acre_buf_adds(&m.b, "{\"affiliates\":[");
    rc = acre_sim_each_affiliate(*text, add_summary, &m, err);
    acre_buf_adds(&m.b, "]}");
    if (!rc && m.b.oom)
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (rc) {
        acre_buf_free(&m.b);
        return rc;
    }
    free(*text);
    *text = m.b.p;
    return 0;
}
