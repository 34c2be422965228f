/* engine/close_read.c — the close's record reader: SQLite on one thread, the close on another.
 *
 * The reader fills chunks of about CHUNK_ROWS rows, cut only between records, and passes them
 * through a small ring (NCHUNK chunks, so memory stays bounded whatever the store's size). The
 * close takes full chunks and gives them back empty. Either side can stop the other: the reader
 * on an error or at the end, the close when a record is refused. */
#include "close_read.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "jsonval.h"
#include "store_int.h"

#define CHUNK_ROWS 4096
#define NCHUNK 6

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

typedef struct reader {
    /* what to read */
    const acre_read_query *q;
    int nq;
    const char *bind1;
    long long watermark;
    sqlite3 *db;
    int threaded;
    /* the ring: full chunks in order, spare chunks in any order */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk chunks[NCHUNK];
    chunk *full[NCHUNK], *spare[NCHUNK];
    int headfull, nfull, nspare;
    int stop; /* the close gave up: the reader should end */
    /* the consumer, for reading on the calling thread */
    int (*fn)(void *arg, int query, const acre_grp *g);
    void *arg;
    int fnrc;
    /* the reader's failure */
    int rc;
    acre_error err;
} reader;

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
static int consume(reader *r, chunk *c)
{
    for (int i = 0; i < c->ng; i++) {
        int end = i + 1 < c->ng ? c->start[i + 1] : c->nv, rc;
        acre_grp g = {c->text.p, c->v + c->start[i], end - c->start[i]};
        if ((rc = r->fn(r->arg, c->query, &g)))
            return rc;
    }
    return 0;
}

static chunk *take_spare(reader *r, int query)
{
    chunk *c = NULL;
    if (!r->threaded) {
        c = &r->chunks[0];
    } else {
        pthread_mutex_lock(&r->mu);
        while (r->nspare == 0 && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (!r->stop)
            c = r->spare[--r->nspare];
        pthread_mutex_unlock(&r->mu);
    }
    if (c)
        chunk_reset(c, query);
    return c;
}

/* Hands a full chunk to the close; returns nonzero when reading should stop. */
static int give_full(reader *r, chunk *c)
{
    int stop;
    if (!r->threaded) {
        if (!c->last && !r->fnrc)
            r->fnrc = consume(r, c);
        return r->fnrc != 0;
    }
    pthread_mutex_lock(&r->mu);
    r->full[(r->headfull + r->nfull) % NCHUNK] = c;
    r->nfull++;
    stop = r->stop;
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
            int cap = c->gcap ? c->gcap * 2 : 256, *n = realloc(c->start, (size_t)cap * sizeof *n);
            if (!n)
                return -1;
            c->start = n;
            c->gcap = cap;
        }
        c->start[c->ng++] = c->nv;
    }
    if (c->nv == c->vcap) {
        int cap = c->vcap ? c->vcap * 2 : 256;
        acre_ver *n = realloc(c->v, (size_t)cap * sizeof *n);
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

static void fail(reader *r, const char *what)
{
    r->rc = acre_error_set(&r->err, ACRE_EIO, NULL, "store", "%s: %s", what, sqlite3_errmsg(r->db));
}

/* Reads every query into chunks; always ends with a chunk marked last (unless stopped). */
static void produce(reader *r)
{
    chunk *c = NULL;
    int stop;
    for (int qi = 0; qi < r->nq && !r->rc; qi++) {
        const acre_read_query *q = &r->q[qi];
        sqlite3_stmt *st;
        int rc;
        if (sqlite3_prepare_v2(r->db, q->sql, -1, &st, NULL) != SQLITE_OK) {
            fail(r, "reading records");
            break;
        }
        sqlite3_bind_text(st, 1, r->bind1, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->watermark);
        if (!(c = take_spare(r, qi))) {
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
                if (give_full(r, c) || !(c = take_spare(r, qi))) {
                    sqlite3_finalize(st);
                    return;
                }
            }
            if (add_row(c, st, t, len, q->ncol, !same)) {
                r->rc = acre_error_set(&r->err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                break;
            }
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            fail(r, "reading records");
        sqlite3_finalize(st);
        if (r->rc)
            break;
        stop = give_full(r, c);
        c = NULL; /* the close has it now */
        if (stop)
            return;
    }
    if (!r->threaded)
        return;
    /* the close waits for a chunk marked last: the end, or the failure in r->rc */
    if (c || (c = take_spare(r, 0))) {
        c->ng = 0;
        c->last = 1;
        give_full(r, c);
    }
}

static void *reader_main(void *arg)
{
    reader *r = arg;
    if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
        produce(r);
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
        chunk *c;
        fail(r, "reading records");
        if ((c = take_spare(r, 0))) {
            c->last = 1;
            give_full(r, c);
        }
    }
    return NULL;
}

int acre_read_records(acre_store *s, const acre_read_query *q, int nq, const char *bind1,
                      long long watermark, int (*fn)(void *arg, int query, const acre_grp *g),
                      void *arg, acre_error *err)
{
    reader *r = calloc(1, sizeof *r);
    const char *path = sqlite3_db_filename(s->db, "main");
    pthread_t th;
    int rc = 0;

    if (!r)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    r->q = q;
    r->nq = nq;
    r->bind1 = bind1;
    r->watermark = watermark;
    r->fn = fn;
    r->arg = arg;
    if (path && path[0] &&
        sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK) {
        sqlite3_busy_timeout(r->db, 10000);
        r->threaded = 1;
    } else {
        /* in memory, or a second connection cannot be had: read on this thread */
        sqlite3_close(r->db);
        r->db = s->db;
    }
    if (!r->threaded) {
        produce(r);
        rc = r->rc ? r->rc : r->fnrc;
        if (r->rc)
            *err = r->err;
        chunk_free(&r->chunks[0]);
        free(r);
        return rc;
    }

    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    for (int i = 0; i < NCHUNK; i++)
        r->spare[r->nspare++] = &r->chunks[i];
    if (pthread_create(&th, NULL, reader_main, r) != 0) {
        rc = acre_error_set(err, ACRE_ERROR, NULL, NULL, "cannot start the reader thread");
        goto done;
    }
    for (;;) {
        chunk *c;
        int last;
        pthread_mutex_lock(&r->mu);
        while (r->nfull == 0)
            pthread_cond_wait(&r->cv, &r->mu);
        c = r->full[r->headfull];
        r->headfull = (r->headfull + 1) % NCHUNK;
        r->nfull--;
        pthread_mutex_unlock(&r->mu);
        last = c->last;
        if (!rc && !last)
            rc = consume(r, c);
        pthread_mutex_lock(&r->mu);
        r->spare[r->nspare++] = c;
        if (rc)
            r->stop = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (last || rc)
            break;
    }
    pthread_join(th, NULL);
    if (!rc && r->rc) {
        rc = r->rc;
        *err = r->err;
    }
done:
    for (int i = 0; i < NCHUNK; i++)
        chunk_free(&r->chunks[i]);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    sqlite3_close(r->db);
    free(r);
    return rc;
}
