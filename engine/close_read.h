/* engine/close_read.h — reading the records a close streams, on other threads (internal).
 *
 * Reading transactions and activity out of SQLite is most of a close's time. close_read runs
 * those queries on reader threads, each with its own read-only connection, and hands the rows
 * over in chunks, each record's versions together, so the close processes one chunk while the
 * next ones are read. The queries are shared out in streams: each stream's queries are read in
 * order by one thread, and the streams are read at the same time. Every query is limited to
 * versions at or below the close's sequence watermark, so each reader sees exactly what the
 * close's own transaction sees even if another process commits in between (versions are only
 * ever added, each with a higher seq). A store that is not a file (in memory) is read on the
 * calling thread instead, one stream after the other. */
#ifndef ACRE_ENGINE_CLOSE_READ_H
#define ACRE_ENGINE_CLOSE_READ_H

#include "acre/error.h"
#include "acre/store.h"

#define ACRE_READ_MAXCOL 12

/* One version of a record: its column texts (offsets into the group's text) and seq. */
typedef struct acre_ver {
    unsigned off[ACRE_READ_MAXCOL];
    unsigned char null[ACRE_READ_MAXCOL];
    long long seq;
} acre_ver;

/* One record: all its versions, oldest first. */
typedef struct acre_grp {
    const char *text;
    const acre_ver *v;
    int nv;
} acre_grp;

static inline const char *acre_grp_col(const acre_grp *g, const acre_ver *v, int i)
{
    return v->null[i] ? (const char *)0 : g->text + v->off[i];
}

/* A query: ?1 is bound to `bind1` and ?2 to the watermark; its first ncol columns are the
 * record's, its first nkey the record's key, column ncol its seq, ordered by key then seq.
 * `stream` numbers its reader: 0 or 1, never decreasing along the list of queries. */
typedef struct acre_read_query {
    const char *sql;
    int ncol, nkey;
    int stream;
} acre_read_query;

typedef struct acre_reader acre_reader;

/* Starts reading the nq queries, on reader threads when the store is a file, so that records are
 * read while the caller still prepares; at most NCHUNK chunks per stream are held before the
 * caller takes them. *r is then given to acre_read_run, or to acre_read_cancel when the caller
 * stops first. Returns ACRE_ENOMEM (and *r NULL) only when r could not be made; a reader that
 * cannot start reports it from acre_read_run. */
int acre_read_start(acre_store *s, const acre_read_query *q, int nq, const char *bind1,
                    long long watermark, acre_reader **r, acre_error *err);

/* Calls fn(arg, i, group, err) for each record of query i, on the calling thread: a stream's
 * records in its queries' order, the streams' records interleaved. fn must therefore give the
 * same result whatever the interleaving. fn returning nonzero (with err set) stops its stream and
 * the later ones; earlier streams are read to their end. Returns the failure of the earliest
 * stream that failed, with *err: fn's result, or ACRE_EIO when reading failed; 0 when all went
 * through. Frees r. */
int acre_read_run(acre_reader *r,
                  int (*fn)(void *arg, int query, const acre_grp *g, acre_error *err), void *arg,
                  acre_error *err);

/* Stops the readers and frees r (NULL is allowed). */
void acre_read_cancel(acre_reader *r);

#endif
