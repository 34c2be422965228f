/* engine/close_read.c — the close's record reader: SQLite on one thread, the close on another.
 *
 * The reader fills chunks of about CHUNK_ROWS rows, cut only between records, and passes them
 * through a ring of NCHUNK chunks per stream, so memory stays bounded whatever the store's size.
 * The close takes full chunks and gives them back empty. Either side can stop the other: the
 * reader on an error or at the end, the close when a record is refused. The readers start
 * before the close loads its state, and the ring is sized to hold about what they read in that
 * time on this benchmark (docs/PERFORMANCE.md): 96 chunks of 4,096 rows are about 60 MB. */
#include "alloc.h"
#include "close_read.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonval.h"
#include "store_int.h"

#define CHUNK_ROWS 4096
#define NCHUNK 96 /* per stream */
#define NSTREAM 2

typedef struct chunk {
    int query;
    int last; /* no more chunks follow */
    acre_buf text;
    acre_ver *v;
    int nv, vcap;
    int *start; /* first version of each record */
    int ng, gcap;
    int oom;
} chunk;

typedef struct acre_reader reader;

/* The queries one reader thread runs, in order, and the ring it hands its chunks through. */
typedef struct stream {
    reader *r;
    int first, end; /* queries [first, end) */
    sqlite3 *db;
    pthread_t th;
    int started;
    /* the ring: full chunks in order, spare chunks in any order */
    chunk chunks[NCHUNK];
    chunk *full[NCHUNK], *spare[NCHUNK];
    int headfull, nfull, nspare;
    int stop; /* the close no longer wants this stream: its reader should end */
    int done; /* the close has its last chunk, or stopped it */
    int rc;   /* the reader's failure */
    acre_error err;
    int fnrc; /* the consumer's failure on a record of this stream */
    acre_error fnerr;
} stream;

struct acre_reader {
    acre_store *st;
    const acre_read_query *q;
    char bind1[32];
    long long watermark;
    int threaded;
    pthread_mutex_t mu; /* guards every ring and flag above */
    pthread_cond_t cv;
    stream s[NSTREAM];
    int ns;
    int (*fn)(void *arg, int query, const acre_grp *g, acre_error *err);
    void *arg;
};

static void chunk_reset(chunk *c, int query)
{
    c->query = query;
    c->last = 0;
    c->nv = 0;
    c->ng = 0;
    c->oom = 0;
    acre_buf_reset(&c->text);
    c->text.oom = 0;
}

static void chunk_free(chunk *c)
{
    acre_buf_free(&c->text);
    free(c->v);
    free(c->start);
}

/* Calls the consumer for each record of c; returns its first nonzero result. */
static int consume(stream *s, chunk *c)
{
    for (int i = 0; i < c->ng; i++) {
        int end = i + 1 < c->ng ? c->start[i + 1] : c->nv, rc;
        acre_grp g = {c->text.p, c->v + c->start[i], end - c->start[i]};
        if ((rc = s->r->fn(s->r->arg, c->query, &g, &s->fnerr)))
            return rc;
    }
    return 0;
}

static chunk *take_spare(stream *s, int query)
{
    reader *r = s->r;
    chunk *c = NULL;
    if (!r->threaded) {
        c = &s->chunks[0];
    } else {
        pthread_mutex_lock(&r->mu);
        while (s->nspare == 0 && !s->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (!s->stop)
            c = s->spare[--s->nspare];
        pthread_mutex_unlock(&r->mu);
    }
    if (c)
        chunk_reset(c, query);
    return c;
}

/* Hands a full chunk to the close; returns nonzero when reading should stop. */
static int give_full(stream *s, chunk *c)
{
    reader *r = s->r;
    int stop;
    if (!r->threaded) {
        if (!c->last && !s->fnrc)
            s->fnrc = consume(s, c);
        return s->fnrc != 0;
    }
    pthread_mutex_lock(&r->mu);
    s->full[(s->headfull + s->nfull) % NCHUNK] = c;
    s->nfull++;
    stop = s->stop;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return stop;
}

/* The row's column texts: one API call per column (each call costs more than the strlen). */
static void fetch(sqlite3_stmt *st, int ncol, const char **t, size_t *len)
{
    for (int i = 0; i < ncol; i++) {
        t[i] = (const char *)sqlite3_column_text(st, i);
        len[i] = t[i] ? strlen(t[i]) : 0;
    }
}

static int same_record(const chunk *c, const char **t, int nkey)
{
    const acre_ver *first;
    if (!c->ng)
        return 0;
    first = &c->v[c->start[c->ng - 1]];
    for (int i = 0; i < nkey; i++)
        if (!t[i] || first->null[i] || strcmp(t[i], c->text.p + first->off[i]) != 0)
            return 0;
    return 1;
}

static int add_row(chunk *c, sqlite3_stmt *st, const char **t, const size_t *len, int ncol,
                   int new_record)
{
    acre_ver *v;
    if (new_record) {
        if (c->ng == c->gcap) {
            int cap = c->gcap ? c->gcap * 2 : 256, *n = acre_realloc(c->start, (size_t)cap * sizeof *n);
            if (!n)
                return -1;
            c->start = n;
            c->gcap = cap;
        }
        c->start[c->ng++] = c->nv;
    }
    if (c->nv == c->vcap) {
        int cap = c->vcap ? c->vcap * 2 : 256;
        acre_ver *n = acre_realloc(c->v, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        c->v = n;
        c->vcap = cap;
    }
    v = &c->v[c->nv++];
    for (int i = 0; i < ncol; i++) {
        v->null[i] = t[i] == NULL;
        v->off[i] = (unsigned)c->text.len;
        if (t[i])
            acre_buf_add(&c->text, t[i], len[i] + 1);
    }
    v->seq = sqlite3_column_int64(st, ncol);
    return c->text.oom ? -1 : 0;
}

static void fail(stream *s, const char *what)
{
    s->rc = acre_error_set(&s->err, ACRE_EIO, NULL, "store", "%s: %s", what, sqlite3_errmsg(s->db));
}

/* Reads every query into chunks; always ends with a chunk marked last (unless stopped). */
static void produce(stream *s)
{
    reader *r = s->r;
    chunk *c = NULL;
    int stop;
    for (int qi = s->first; qi < s->end && !s->rc; qi++) {
        const acre_read_query *q = &r->q[qi];
        sqlite3_stmt *st;
        int rc;
        if (sqlite3_prepare_v2(s->db, q->sql, -1, &st, NULL) != SQLITE_OK) {
            fail(s, "reading records");
            break;
        }
        sqlite3_bind_text(st, 1, r->bind1, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->watermark);
        if (!(c = take_spare(s, qi))) {
            sqlite3_finalize(st);
            return;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *t[ACRE_READ_MAXCOL];
            size_t len[ACRE_READ_MAXCOL];
            int same;
            fetch(st, q->ncol, t, len);
            same = same_record(c, t, q->nkey);
            if (!same && c->nv >= CHUNK_ROWS) {
                if (give_full(s, c) || !(c = take_spare(s, qi))) {
                    sqlite3_finalize(st);
                    return;
                }
            }
            if (add_row(c, st, t, len, q->ncol, !same)) {
                s->rc = acre_error_set(&s->err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                break;
            }
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            fail(s, "reading records");
        sqlite3_finalize(st);
        if (s->rc)
            break;
        stop = give_full(s, c);
        c = NULL; /* the close has it now */
        if (stop)
            return;
    }
    if (!r->threaded)
        return;
    /* the close waits for a chunk marked last: the end, or the failure in s->rc */
    if (c || (c = take_spare(s, s->first))) {
        c->ng = 0;
        c->last = 1;
        give_full(s, c);
    }
}

static void *reader_main(void *arg)
{
    stream *s = arg;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
        produce(s);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
        chunk *c;
        fail(s, "reading records");
        if ((c = take_spare(s, s->first))) {
            c->last = 1;
            give_full(s, c);
        }
    }
    return NULL;
}

/* Takes chunks from whichever stream has one (the earlier stream first) until every stream is
 * done. A failure in stream k stops streams k and later; earlier streams go on, so the failure
 * reported is the one a single thread reading the queries in order would meet first. */
static void consume_all(reader *r)
{
    for (;;) {
        stream *s = NULL;
        chunk *c;
        int alive = 0, rc = 0;
        pthread_mutex_lock(&r->mu);
        for (;;) {
            for (int i = 0; i < r->ns && !s; i++)
                if (!r->s[i].done) {
                    alive = 1;
                    if (r->s[i].nfull)
                        s = &r->s[i];
                }
            if (s || !alive)
                break;
            pthread_cond_wait(&r->cv, &r->mu);
        }
        if (!s) {
            pthread_mutex_unlock(&r->mu);
            return;
        }
        c = s->full[s->headfull];
        s->headfull = (s->headfull + 1) % NCHUNK;
        s->nfull--;
        pthread_mutex_unlock(&r->mu);
        if (!c->last)
            rc = consume(s, c);
        pthread_mutex_lock(&r->mu);
        s->spare[s->nspare++] = c;
        if (rc)
            s->fnrc = rc;
        if (c->last)
            s->done = 1;
        if (rc || (c->last && s->rc))
            for (stream *t = s; t < r->s + r->ns; t++)
                t->stop = t->done = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Stops every stream, waits for the reader threads and frees r. */
static void reader_free(acre_store *st, reader *r)
{
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        for (int i = 0; i < r->ns; i++)
            r->s[i].stop = r->s[i].done = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        for (int i = 0; i < r->ns; i++)
            if (r->s[i].started)
                pthread_join(r->s[i].th, NULL);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    for (int i = 0; i < r->ns; i++) {
        for (int k = 0; k < NCHUNK; k++)
            chunk_free(&r->s[i].chunks[k]);
        if (r->s[i].db != st->db)
            sqlite3_close(r->s[i].db);
    }
    free(r);
}

int acre_read_start(acre_store *st, const acre_read_query *q, int nq, const char *bind1,
                    long long watermark, acre_reader **out, acre_error *err)
{
    reader *r = acre_calloc(1, sizeof *r);
    const char *path = sqlite3_db_filename(st->db, "main");

    *out = NULL;
    if (!r)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    r->st = st;
    r->q = q;
    snprintf(r->bind1, sizeof r->bind1, "%s", bind1);
    r->watermark = watermark;
    for (int i = 0; i < nq; i++) {
        if (i == 0 || q[i].stream != q[i - 1].stream) {
            r->s[r->ns].r = r;
            r->s[r->ns].first = i;
            r->ns++;
        }
        r->s[r->ns - 1].end = i + 1;
    }
    *out = r;
    r->threaded = path && path[0] && acre_alloc_threads();
    for (int i = 0; i < r->ns && r->threaded; i++) {
        stream *s = &r->s[i];
        if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK) {
            sqlite3_busy_timeout(s->db, 10000);
        } else {
            r->threaded = 0;
        }
    }
    if (!r->threaded) {
        /* in memory, or no second connection: each stream in turn, when the close runs it */
        for (int i = 0; i < r->ns; i++) {
            sqlite3_close(r->s[i].db);
            r->s[i].db = st->db;
        }
        return 0;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    for (int i = 0; i < r->ns; i++) {
        stream *s = &r->s[i];
        for (int k = 0; k < NCHUNK; k++)
            s->spare[s->nspare++] = &s->chunks[k];
        if (pthread_create(&s->th, NULL, reader_main, s) == 0) {
            s->started = 1;
        } else {
            s->rc = acre_error_set(&s->err, ACRE_ERROR, NULL, NULL,
                                   "cannot start a reader thread");
            s->done = 1;
            for (stream *t = s; t < r->s + r->ns; t++)
                t->stop = t->done = 1;
            break;
        }
    }
    return 0;
}

int acre_read_run(acre_reader *r,
                  int (*fn)(void *arg, int query, const acre_grp *g, acre_error *err), void *arg,
                  acre_error *err)
{
    int rc = 0;
    r->fn = fn;
    r->arg = arg;
    if (!r->threaded) {
        for (int i = 0; i < r->ns && !rc; i++) {
            stream *s = &r->s[i];
            produce(s);
            if ((rc = s->rc))
                *err = s->err;
            else if ((rc = s->fnrc))
                *err = s->fnerr;
        }
        reader_free(r->st, r);
        return rc;
    }
    consume_all(r);
    for (int i = 0; i < r->ns; i++)
        if (r->s[i].started) {
            pthread_join(r->s[i].th, NULL);
            r->s[i].started = 0;
        }
    /* the first stream that failed, by the consumer or by its reader */
    for (int i = 0; i < r->ns && !rc; i++) {
        stream *s = &r->s[i];
        if ((rc = s->fnrc))
            *err = s->fnerr;
        else if ((rc = s->rc))
            *err = s->err;
    }
    reader_free(r->st, r);
    return rc;
}

void acre_read_cancel(acre_reader *r)
{
    if (r)
        reader_free(r->st, r);
}
