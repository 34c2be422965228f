/* tools/progress.h — progress of a long ingest or close on a terminal (tools/progress.c). */
#ifndef ACRE_TOOLS_PROGRESS_H
#define ACRE_TOOLS_PROGRESS_H

#include <stdio.h>
#include <time.h>

/* What one file's ingest has shown: the file (its size when it is a regular one, for "% of"),
 * when it started and when a line was last written. */
typedef struct ingest_progress {
    const char *name;
    FILE *in;
    long long size; /* bytes, or -1: not known (a pipe) */
    struct timespec start, last;
    int shown; /* a line is on the terminal, to clear */
} ingest_progress;

/* Starts p for `in` (named `name`): 1 when progress is to be shown (stderr a terminal and not
 * quiet), 0 when not. */
int progress_start(ingest_progress *p, const char *name, FILE *in, int quiet);

/* acre_ingest_opts.progress: at most five times a second, rewrites the terminal's last line:
 * "acre: ingest NAME: read 45% of 120 MB, 1,234,567 records, 180,000 records/s". */
void progress_show(void *ctx, long received);

/* Clears the line, if one was written. */
void progress_end(ingest_progress *p);

/* What a close (or preview) of one period has shown. */
typedef struct close_progress {
    const char *what, *period; /* "close", "2026-03" */
    struct timespec start, last;
    const char *stage; /* the stage last shown */
    long delay_ms;     /* nothing before: $ACRE_PROGRESS_DELAY_MS, else 1000 */
    int shown;
} close_progress;

/* Starts p: 1 when progress is to be shown (stderr a terminal and not quiet), 0 when not. */
int close_progress_start(close_progress *p, const char *what, const char *period, int quiet);

/* acre_close_opts.progress: nothing in the first second (most closes are done by then;
 * $ACRE_PROGRESS_DELAY_MS sets another wait, 0 none); then
 * at each new stage and at most five times a second, rewrites the terminal's last line:
 * "acre: close 2026-03: reading records, 1,234,567 so far, 412,000 records/s", "computing the
 * ledger from 1,234,567 records", "writing the ledger". */
void close_progress_show(void *ctx, const char *stage, long records);

/* Clears the line, if one was written. */
void close_progress_end(close_progress *p);

#endif
