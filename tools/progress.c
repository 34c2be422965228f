/* tools/progress.c — progress of a long ingest on a terminal (how far into the file, how many
 * records, how fast) and of a long close (its stage, the records read, how fast); one line
 * rewritten in place on stderr, cleared at the end, and nothing at all when stderr is not a
 * terminal or with --quiet. Integer arithmetic only. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int progress_start(ingest_progress *p, const char *name, FILE *in, int quiet)
{
    struct stat st;
    p->name = name;
    p->in = in;
    p->size = fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size : -1;
    p->shown = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->last = p->start;
    return !quiet && isatty(STDERR_FILENO);
}

static long long ms_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000LL + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* n with thousands separators into out */
static void grouped(char *out, size_t size, long long n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? 0 : n), j = 0;
    for (int i = 0; i < len && j + 2 < (int)size; i++) {
        if (i && (len - i) % 3 == 0)
            out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = 0;
}

void progress_show(void *ctx, long received)
{
    ingest_progress *p = ctx;
    struct timespec now;
    long long ms, pos;
    char recs[32], rate[32], where[64] = "";
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* the first call shows a line; then at most five a second */
    if (p->shown && ms_between(&p->last, &now) < 200)
        return;
    p->last = now;
    ms = ms_between(&p->start, &now);
    /* how far the reader has read (ahead of what is stored by at most its buffer) */
    pos = p->size > 0 ? (long long)ftell(p->in) : -1;
    if (pos >= 0 && p->size > 0)
        snprintf(where, sizeof where, "read %lld%% of %lld %s, ",
                 (pos > p->size ? p->size : pos) * 100 / p->size,
                 p->size >= 10000000 ? (p->size + 500000) / 1000000 : (p->size + 500) / 1000,
                 p->size >= 10000000 ? "MB" : "kB");
    grouped(recs, sizeof recs, received);
    grouped(rate, sizeof rate, ms > 0 ? received * 1000LL / ms : received);
    fprintf(stderr, "\racre: ingest %s: %s%s records, %s records/s\033[K", p->name, where, recs,
            rate);
    fflush(stderr);
    p->shown = 1;
}

void progress_end(ingest_progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

int close_progress_start(close_progress *p, const char *what, const char *period, int quiet)
{
    const char *d = getenv("ACRE_PROGRESS_DELAY_MS");
    p->delay_ms = d && *d ? atol(d) : 1000;
    p->what = what;
    p->period = period;
    p->stage = NULL;
    p->shown = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->last = p->start;
    return !quiet && isatty(STDERR_FILENO);
}

void close_progress_show(void *ctx, const char *stage, long records)
{
    close_progress *p = ctx;
    struct timespec now;
    long long ms;
    char recs[32], rate[32];
    int same = p->stage && strcmp(p->stage, stage) == 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = ms_between(&p->start, &now);
    if (ms < p->delay_ms || (same && ms_between(&p->last, &now) < 200))
        return;
    p->last = now;
    p->stage = stage;
    grouped(recs, sizeof recs, records);
    grouped(rate, sizeof rate, ms > 0 ? records * 1000LL / ms : records);
    fprintf(stderr, "\racre: %s %s: ", p->what, p->period);
    if (strcmp(stage, "reading") == 0)
        fprintf(stderr, "reading records, %s so far, %s records/s", recs, rate);
    else if (strcmp(stage, "computing") == 0)
        fprintf(stderr, "computing the ledger from %s records", recs);
    else
        fprintf(stderr, "%s the ledger", stage);
    fputs("\033[K", stderr);
    fflush(stderr);
    p->shown = 1;
}

void close_progress_end(close_progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
