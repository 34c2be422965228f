/* engine/close_read.c — the close's record reader: SQLite on reader threads, the close on its own.
 *
 * The queries are a work list. Each reader thread takes the next query nobody has taken, reads
 * it whole into chunks of about CHUNK_ROWS rows (cut only between records) and passes them
 * through its own ring of NCHUNK chunks, so memory stays bounded whatever the store's size. The
 * close takes full chunks from either ring and gives them back empty. One query is read by one
 * thread, so its records reach the close in order; records of different queries interleave.
 *
 * A failure is kept with its query: the close refusing a record (key 2q) or a read failing
 * (key 2q+1; the rows read before it come first). The smallest key is the one reported: what one
 * thread reading the queries in order would meet first. Chunks of queries past it are dropped
 * and those queries are not started; earlier queries are read to their end.
 *
 * The readers start before the close loads its state, and the rings are sized to hold about
 * what they read in that time on the benchmark (docs/PERFORMANCE.md): 96 chunks of 4,096 rows
 * are about 60 MB per ring. */
#include "close_read.h"
#include "alloc.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jsonval.h"
#include "number.h"
#include "store_int.h"

#define CHUNK_ROWS 4096
#define NCHUNK 96 /* per ring */
#define NREADER 2

typedef struct chunk {
    int query;
    acre_buf text;
    acre_ver *v;
    int nv, vcap;
    int *start; /* first version of each record */
    int *set;   /* the parameter set that read each record */
    int ng, gcap;
} chunk;

typedef struct acre_reader reader;

/* One reader thread, its store handle and its ring: full chunks in order, spare ones in any. */
typedef struct ring {
    reader *r;
    acre_store *db; /* a reader handle (acre_store_reader), or the close's store on one thread */
    pthread_t th;
    int started;
    int finished; /* the thread takes no more queries and has handed over its last chunk */
    chunk chunks[NCHUNK];
    chunk *full[NCHUNK], *spare[NCHUNK];
    int headfull, nfull, nspare;
} ring;

struct acre_reader {
    acre_store *st;
    const acre_read_query *q;
    int nq;
    long long watermark;
    int threaded;
    pthread_mutex_t mu; /* guards every field below, and the rings' queues and flags */
    pthread_cond_t cv;
    ring rings[NREADER];
    int next;     /* the next query to take */
    int cancel;   /* the close stops without reading (acre_read_cancel) */
    int fail_key; /* the earliest failure (see the top of this file), or INT_MAX */
    int fail_rc;
    acre_error fail_err;
    int (*fn)(void *arg, int query, const acre_grp *g, acre_error *err);
    void *arg;
};

static void lock(reader *r)
{
    if (r->threaded)
        pthread_mutex_lock(&r->mu);
}

static void unlock(reader *r)
{
    if (r->threaded)
        pthread_mutex_unlock(&r->mu);
}

/* Whether query qi is still wanted: nothing earlier failed and the close did not stop. Called
 * with the lock held. */
static int wanted(const reader *r, int qi)
{
    return !r->cancel && 2 * (long)qi < r->fail_key;
}

/* Keeps a failure if it is the earliest so far. Called with the lock held. */
static void record_failure(reader *r, int key, int rc, const acre_error *err)
{
    if (key < r->fail_key) {
        r->fail_key = key;
        r->fail_rc = rc;
        r->fail_err = *err;
    }
}

/* Keeps a read failure of query qi: out of memory, or the store's message in e. */
static void read_failed(ring *g, int qi, int rc, const acre_error *e)
{
    reader *r = g->r;
    acre_error err;
    memset(&err, 0, sizeof err);
    if (rc == ACRE_ENOMEM)
        acre_error_set(&err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    else
        acre_error_set(&err, ACRE_EIO, NULL, "store", "%s", e ? e->message : "reading records");
    lock(r);
    record_failure(r, 2 * qi + 1, err.code, &err);
    if (r->threaded)
        pthread_cond_broadcast(&r->cv);
    unlock(r);
}

static void chunk_reset(chunk *c, int query)
{
    c->query = query;
    c->nv = 0;
    c->ng = 0;
    acre_buf_reset(&c->text);
    c->text.oom = 0;
}

static void chunk_free(chunk *c)
{
    acre_buf_free(&c->text);
    free(c->v);
    free(c->start);
    free(c->set);
}

/* Calls the close for each record of c; returns its first nonzero result, with *err. */
static int consume(reader *r, chunk *c, acre_error *err)
{
    for (int i = 0; i < c->ng; i++) {
        int end = i + 1 < c->ng ? c->start[i + 1] : c->nv, rc;
        acre_grp g = {c->text.p, c->v + c->start[i], end - c->start[i], c->set[i]};
        if ((rc = r->fn(r->arg, c->query, &g, err)))
            return rc;
    }
    return 0;
}

/* An empty chunk for query qi, or NULL when the query is no longer wanted. */
static chunk *take_spare(ring *g, int qi)
{
    reader *r = g->r;
    chunk *c = NULL;
    if (!r->threaded) {
        c = &g->chunks[0];
    } else {
        pthread_mutex_lock(&r->mu);
        while (g->nspare == 0 && wanted(r, qi))
            pthread_cond_wait(&r->cv, &r->mu);
        if (wanted(r, qi))
            c = g->spare[--g->nspare];
        pthread_mutex_unlock(&r->mu);
    }
    if (c)
        chunk_reset(c, qi);
    return c;
}

/* Hands a full chunk to the close (on one thread: the close takes it now). Returns nonzero when
 * reading its query should stop. */
static int give_full(ring *g, chunk *c)
{
    reader *r = g->r;
    int stop;
    if (!r->threaded) {
        acre_error err;
        int rc;
        memset(&err, 0, sizeof err);
        if (wanted(r, c->query) && (rc = consume(r, c, &err)))
            record_failure(r, 2 * c->query, rc, &err);
        return !wanted(r, c->query);
    }
    pthread_mutex_lock(&r->mu);
    g->full[(g->headfull + g->nfull) % NCHUNK] = c;
    g->nfull++;
    stop = !wanted(r, c->query);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return stop;
}

/* Gives back a chunk the close will not see. */
static void give_spare(ring *g, chunk *c)
{
    reader *r = g->r;
    if (!r->threaded)
        return;
    pthread_mutex_lock(&r->mu);
    g->spare[g->nspare++] = c;
    pthread_mutex_unlock(&r->mu);
}

/* Whether row has the key of the chunk's last record. */
static int same_record(const chunk *c, const acre_value *row, int nkey)
{
    const acre_ver *first;
    if (!c->ng)
        return 0;
    first = &c->v[c->start[c->ng - 1]];
    for (int i = 0; i < nkey; i++)
        if (row[i].type != ACRE_VAL_TEXT || first->null[i] ||
            memcmp(row[i].s, c->text.p + first->off[i], row[i].n + 1) != 0)
            return 0;
    return 1;
}

/* v's decimal digits into out (24 bytes), NUL-terminated; returns their length. snprintf costs a
 * tenth of a second per million rows, which a count column pays on every activity row. */
static size_t digits(char *out, long long v)
{
    char tmp[24];
    size_t n = 0, len = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10));
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

/* Adds one version (row's first ncol columns as texts, an integer as its digits, hundredths as
 * ACRE_CENTS_MARK and their bytes) to c. */
static int add_row(chunk *c, const acre_value *row, int ncol, int new_record, int set)
{
    acre_ver *v;
    size_t need = 0;
    if (new_record) {
        if (c->ng == c->gcap) {
            int cap = c->gcap ? c->gcap * 2 : 256,
                *n = acre_realloc(c->start, (size_t)cap * sizeof *n),
                *m = n ? acre_realloc(c->set, (size_t)cap * sizeof *m) : NULL;
            if (n)
                c->start = n;
            if (!m)
                return -1;
            c->set = m;
            c->gcap = cap;
        }
        c->set[c->ng] = set;
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
    for (int i = 0; i < ncol; i++)
        need += row[i].type == ACRE_VAL_TEXT ? row[i].n + 1 : 24; /* 24 >= ACRE_CENTS_BYTES */
    if (acre_buf_reserve(&c->text, need))
        return -1;
    v = &c->v[c->nv++];
    for (int i = 0; i < ncol; i++) {
        char *at = c->text.p + c->text.len;
        v->null[i] = row[i].type == ACRE_VAL_NULL;
        v->off[i] = (unsigned)c->text.len;
        if (row[i].type == ACRE_VAL_TEXT) {
            memcpy(at, row[i].s, row[i].n + 1);
            c->text.len += row[i].n + 1;
        } else if (row[i].type == ACRE_VAL_INT) {
            /* a count: the close reads every column as text */
            c->text.len += digits(at, row[i].i) + 1;
        } else if (row[i].type == ACRE_VAL_CENTS) {
            /* an amount in hundredths, kept so (engine/number.h): the close sums it as it is */
            at[0] = ACRE_CENTS_MARK;
            memcpy(at + 1, &row[i].i, 8);
            at[9] = '\0';
            c->text.len += ACRE_CENTS_BYTES;
        }
    }
    v->seq = row[ncol].i;
    return 0;
}

/* Reading one query: the chunk being filled, and whether to stop. */
typedef struct reading {
    ring *g;
    int qi;
    const acre_read_query *q;
    chunk *c;    /* NULL once handed back */
    int stopped; /* the query is no longer wanted, or a chunk could not grow */
    long set;    /* the parameter set being read (below nsets, an int) */
} reading;

static int on_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    reading *x = ctx;
    const acre_read_query *q = x->q;
    /* a new set starts a new record: sets read other records */
    int same = same_record(x->c, row, q->nkey) && x->c->set[x->c->ng - 1] == x->set;
    (void)n;
    (void)err;
    if (!same && x->c->nv >= CHUNK_ROWS) {
        int stop = give_full(x->g, x->c);
        x->c = NULL;
        if (stop || !(x->c = take_spare(x->g, x->qi))) {
            x->stopped = 1;
            return 1;
        }
    }
    if (add_row(x->c, row, q->ncol, !same, (int)x->set)) {
        /* the chunk may hold half a row: the close does not see it */
        give_spare(x->g, x->c);
        x->c = NULL;
        read_failed(x->g, x->qi, ACRE_ENOMEM, NULL);
        x->stopped = 1;
        return 1;
    }
    return 0;
}

/* Reads query qi into chunks. Returns nonzero when this reader should take no more queries. */
static int read_query(ring *g, int qi)
{
    reader *r = g->r;
    reading x = {g, qi, &r->q[qi], NULL, 0, 0};
    acre_error e;
    int rc = 0;
    memset(&e, 0, sizeof e);
    if (!(x.c = take_spare(g, qi)))
        return 1;
    if (!x.q->nsets) {
        rc = acre_store_query(g->db, x.q->query, x.q->params, on_row, &x, "reading records", &e);
    } else {
        /* one statement for every set (pipelined where the backend can) */
        acre_stmt *st = NULL;
        if (!(rc = acre_store_stmt(g->db, x.q->query, &st, &e)))
            rc = acre_store_run_sets(g->db, st, x.q->sets, x.q->nparams, x.q->nsets, &x.set, on_row,
                                     &x, "reading records", &e);
        acre_store_done(g->db, st);
    }
    if (x.stopped)
        return 1;
    if (rc) {
        /* the rows read before the failure reach the close first */
        give_full(g, x.c);
        read_failed(g, qi, rc, &e);
        return 1;
    }
    return give_full(g, x.c);
}

static void *reader_main(void *arg)
{
    ring *g = arg;
    reader *r = g->r;
    int began = 0;
    for (;;) {
        int qi;
        pthread_mutex_lock(&r->mu);
        qi = r->next < r->nq && wanted(r, r->next) ? r->next++ : -1;
        pthread_mutex_unlock(&r->mu);
        if (qi < 0)
            break;
        /* one snapshot for every query this thread reads */
        if (!began) {
            acre_error e;
            int rc;
            memset(&e, 0, sizeof e);
            if ((rc = acre_store_begin_read(g->db, &e))) {
                read_failed(g, qi, rc, &e);
                break;
            }
        }
        began = 1;
        if (read_query(g, qi))
            break;
    }
    if (began)
        acre_store_rollback(g->db);
    pthread_mutex_lock(&r->mu);
    g->finished = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Takes full chunks from the rings, in turn, until every reader has finished and every ring is
 * empty. */
static void consume_all(reader *r)
{
    int turn = 0;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        ring *g = NULL;
        chunk *c;
        acre_error err;
        int rc = 0, key, alive = 0;
        for (int k = 0; k < NREADER && !g; k++) {
            ring *h = &r->rings[(turn + k) % NREADER];
            if (h->nfull)
                g = h;
            else if (!h->finished)
                alive = 1;
        }
        if (!g) {
            if (!alive)
                break;
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        turn = (int)(g - r->rings) + 1;
        c = g->full[g->headfull];
        g->headfull = (g->headfull + 1) % NCHUNK;
        g->nfull--;
        key = r->fail_key;
        pthread_mutex_unlock(&r->mu);
        memset(&err, 0, sizeof err);
        if (2 * (long)c->query < key)
            rc = consume(r, c, &err);
        pthread_mutex_lock(&r->mu);
        g->spare[g->nspare++] = c;
        if (rc)
            record_failure(r, 2 * c->query, rc, &err);
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
}

/* Stops the readers, waits for them and frees r. */
static void reader_free(reader *r)
{
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        r->cancel = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        for (int i = 0; i < NREADER; i++)
            if (r->rings[i].started)
                pthread_join(r->rings[i].th, NULL);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    for (int i = 0; i < NREADER; i++) {
        for (int k = 0; k < NCHUNK; k++)
            chunk_free(&r->rings[i].chunks[k]);
        if (r->rings[i].db != r->st)
            acre_store_free(r->rings[i].db);
    }
    free(r);
}

int acre_read_parallel(acre_store *st)
{
    return acre_store_parallel(st) && acre_alloc_threads();
}

static int start(acre_store *st, const acre_read_query *q, int nq, long long watermark,
                 int parallel, acre_reader **out, acre_error *err)
{
    reader *r = acre_calloc(1, sizeof *r);
    int started = 0;

    *out = NULL;
    if (!r)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    r->st = st;
    r->q = q;
    r->nq = nq;
    r->watermark = watermark;
    r->fail_key = INT_MAX;
    for (int i = 0; i < NREADER; i++)
        r->rings[i].r = r;
    *out = r;
    r->threaded = parallel && acre_read_parallel(st);
    for (int i = 0; i < NREADER && r->threaded; i++) {
        ring *g = &r->rings[i];
        acre_error e;
        if (acre_store_reader(st, &g->db, &e))
            r->threaded = 0;
        else
            /* amounts as hundredths where the backend holds them so: no text is made only to
             * be parsed again (add_row keeps them, acre_number_stored reads them) */
            g->db->b->money_cents = 1;
    }
    if (!r->threaded) {
        /* no reader handles (in memory, or none could be opened): the queries in order on this
         * thread, when the close runs them */
        for (int i = 0; i < NREADER; i++) {
            if (r->rings[i].db != st)
                acre_store_free(r->rings[i].db);
            r->rings[i].db = st;
        }
        return 0;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    for (int i = 0; i < NREADER; i++) {
        ring *g = &r->rings[i];
        for (int k = 0; k < NCHUNK; k++)
            g->spare[g->nspare++] = &g->chunks[k];
        if (pthread_create(&g->th, NULL, reader_main, g) == 0) {
            g->started = 1;
            started++;
        } else {
            g->finished = 1;
        }
    }
    if (!started) {
        acre_error e;
        memset(&e, 0, sizeof e);
        acre_error_set(&e, ACRE_ERROR, NULL, NULL, "cannot start a reader thread");
        record_failure(r, -1, ACRE_ERROR, &e);
    }
    return 0;
}

int acre_read_start(acre_store *st, const acre_read_query *q, int nq, long long watermark,
                    acre_reader **out, acre_error *err)
{
    return start(st, q, nq, watermark, 1, out, err);
}

int acre_read_start_here(acre_store *st, const acre_read_query *q, int nq, acre_reader **out,
                         acre_error *err)
{
    return start(st, q, nq, LLONG_MAX, 0, out, err);
}

int acre_read_run(acre_reader *r,
                  int (*fn)(void *arg, int query, const acre_grp *g, acre_error *err), void *arg,
                  acre_error *err)
{
    int rc = 0;
    r->fn = fn;
    r->arg = arg;
    if (!r->threaded) {
        for (int qi = 0; qi < r->nq && wanted(r, qi); qi++)
            read_query(&r->rings[0], qi);
    } else {
        consume_all(r);
        for (int i = 0; i < NREADER; i++)
            if (r->rings[i].started) {
                pthread_join(r->rings[i].th, NULL);
                r->rings[i].started = 0;
            }
    }
    if (r->fail_key != INT_MAX) {
        rc = r->fail_rc;
        *err = r->fail_err;
    }
    reader_free(r);
    return rc;
}

void acre_read_cancel(acre_reader *r)
{
    if (r)
        reader_free(r);
}
