/* engine/close_read.h — reading the records a close streams, on other threads (internal).
 *
 * Reading transactions and activity out of the store is most of a close's time. close_read runs
 * the close's queries on reader threads, each with its own reader handle (acre_store_reader), and
 * hands the rows over in chunks, each record's versions together, so the close processes some
 * chunks while the next ones are read. The queries are a work list: a thread that finishes one
 * takes the next, so a big table split into several queries (the close splits activity by day)
 * keeps both cores busy to the end. Every query is limited to versions at or below the close's
 * sequence watermark, so each reader sees exactly what the close's own transaction sees even if
 * another process commits in between (versions are only ever added, each with a higher seq). A
 * store without reader handles (in memory) is read on the calling thread instead, the queries in
 * order. */
#ifndef ACRE_ENGINE_CLOSE_READ_H
#define ACRE_ENGINE_CLOSE_READ_H

#include "acre/error.h"
#include "acre/store.h"
#include "acre/sys/store.h"

#define ACRE_READ_MAXCOL 12

/* One version of a record: its column texts (offsets into the group's text) and seq. */
typedef struct acre_ver {
    unsigned off[ACRE_READ_MAXCOL];
    unsigned char null[ACRE_READ_MAXCOL];
    long long seq;
} acre_ver;

/* One record: all its versions, oldest first; the parameter set that read it (0 for a query
 * without sets). */
typedef struct acre_grp {
    const char *text;
    const acre_ver *v;
    int nv;
    int set;
} acre_grp;

static inline const char *acre_grp_col(const acre_grp *g, const acre_ver *v, int i)
{
    return v->null[i] ? (const char *)0 : g->text + v->off[i];
}

/* A query shape (include/acre/sys/store.h) and its parameters (the caller's: they must live
 * until the reader is done); its first ncol columns are the record's, its first nkey the
 * record's key, column ncol its seq, ordered by key then seq, and it reads only versions at or
 * below the close's watermark. A record's versions must all fall in one query. `tag` is the
 * caller's (the close's table). */
typedef struct acre_read_query {
    const struct acre_query *query;
    acre_value params[4];
    int ncol, nkey;
    int tag;
    /* nsets > 0: the query runs once per parameter set instead, sets[k*nparams ..] in order,
     * its records read as one query's (each set's records must be other sets' records) */
    const acre_value *sets;
    int nsets, nparams;
} acre_read_query;

typedef struct acre_reader acre_reader;

/* Whether s will be read on reader threads (a file store, threads allowed: engine/alloc.h); on
 * one thread, splitting a table into several queries gains nothing. */
int acre_read_parallel(acre_store *s);

/* Starts reading the nq queries (q must live until the reader is run or cancelled): on reader
 * threads when the store is a file, so that records are read while the caller still prepares,
 * with a bounded number of chunks held until the caller takes them. *r is then given to
 * acre_read_run, or to acre_read_cancel when the caller stops first. Returns ACRE_ENOMEM (and *r
 * NULL) only when r could not be made; a reader that cannot start reports it from acre_read_run.
 */
int acre_read_start(acre_store *s, const acre_read_query *q, int nq, long long watermark,
                    acre_reader **r, acre_error *err);

/* acre_read_start, but the queries run on s itself, on the calling thread, inside the
 * transaction it has open: they see what it wrote and has not committed (qualification at
 * ingest, engine/events.c). Every version is read (no watermark). */
int acre_read_start_here(acre_store *s, const acre_read_query *q, int nq, acre_reader **r,
                         acre_error *err);

/* Calls fn(arg, i, group, err) for each record of query i, on the calling thread: each query's
 * records in order, the records of different queries interleaved in any way. fn must therefore
 * give the same result whatever the interleaving. fn returning nonzero (with err set) stops
 * that query and the later ones; earlier queries are read to their end. Returns the failure of
 * the earliest query that failed, with *err: fn's result (which comes before a read failure of
 * the same query), or ACRE_EIO or ACRE_ENOMEM when reading failed; 0 when all went through.
 * Frees r. */
int acre_read_run(acre_reader *r,
                  int (*fn)(void *arg, int query, const acre_grp *g, acre_error *err), void *arg,
                  acre_error *err);

/* Stops the readers and frees r (NULL is allowed). */
void acre_read_cancel(acre_reader *r);

#endif
