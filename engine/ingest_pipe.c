/* engine/ingest_pipe.c — an NDJSON input's lines parsed on other threads (internal).
 *
 * Parsing JSON costs more than storing it (docs/PERFORMANCE.md: about 70% of an activity file's
 * work), so up to two parser threads read, parse and validate lines into batches while the
 * calling thread hands them to the record sink (engine/ingest.c), which checks references and
 * stores them, in file order. A parser takes the next BATCH_RECS lines under the read lock
 * (copying them into its batch, numbered in file order), then parses them while the other
 * reads and parses the next ones; the calling thread takes the batches by their numbers. Only
 * it touches the sink, the store or the reject callback, so the output is the same as one
 * thread would give. A record crosses over as its raw line and its canonical cells, copied into
 * the batch; a reject's echo is parsed again from the raw line. The first failure in file order
 * ends the input: a batch that meets one keeps the records before it and ends there, and the
 * batches after it are never consumed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "ingest_int.h"

#define BATCH_RECS 2048
#define NBATCH 8
#define MAX_PARSERS 2

typedef struct frozen {
    long line, index;   /* its line number, its record number in the input */
    size_t raw, rawlen; /* the line, in the batch arena */
    size_t err0;        /* first of its errors in the batch's errs */
    int nerr;
    acre_cell cells[ACRE_MAX_COLS];
    size_t off[ACRE_MAX_COLS]; /* text cells: offsets in the arena */
} frozen;
enum { FAIL_NONE, FAIL_JSON, FAIL_LONG, FAIL_NOMEM, FAIL_IO, FAIL_NUMBERS };

typedef struct fbatch {
    long no;      /* its place in the input: 0, 1, ... */
    frozen *recs; /* nread lines read, the first n of them parsed */
    size_t n, nread;
    acre_buf arena;
    acre_fielderr *errs;
    size_t nerr, caperr;
    int end, fail;
    json_error_t je;
    long fail_line, fail_index;
} fbatch;

typedef struct fpipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fbatch batches[NBATCH];
    fbatch *full[NBATCH], *spare[NBATCH];
    int nfull, nspare;
    int stop;
    /* the read lock: the input, its next batch number and record number, and whether it ended */
    pthread_mutex_t rmu;
    reader *rd;
    long next_no, index;
    int read_end;
    const acre_kind *k;
} fpipe;

static fbatch *take_spare(fpipe *p)
{
    fbatch *b = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->nspare == 0 && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    if (!p->stop)
        b = p->spare[--p->nspare];
    pthread_mutex_unlock(&p->mu);
    if (b) {
        b->n = 0;
        b->nread = 0;
        b->nerr = 0;
        b->end = 0;
        b->fail = FAIL_NONE;
        acre_buf_reset(&b->arena);
        b->arena.oom = 0;
    }
    return b;
}

static void give(fpipe *p, fbatch *b, int full)
{
    pthread_mutex_lock(&p->mu);
    if (full)
        p->full[p->nfull++] = b;
    else
        p->spare[p->nspare++] = b;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Reads the next lines into b under the read lock, copying them into its arena. Returns 0
 * when the input had already ended (b is not used), else 1. */
static int read_lines(fpipe *p, fbatch *b)
{
    pthread_mutex_lock(&p->rmu);
    if (p->read_end) {
        pthread_mutex_unlock(&p->rmu);
        return 0;
    }
    b->no = p->next_no++;
    while (b->nread < BATCH_RECS && !b->end) {
        char *line;
        size_t len;
        int rc = acre_reader_line(p->rd, &line, &len);
        frozen *f = &b->recs[b->nread];
        if (rc == 1) {
            b->end = 1;
            if (p->rd->ioerr)
                b->fail = FAIL_IO;
        } else if (rc == 2) {
            b->end = 1;
            b->fail = FAIL_LONG;
            b->fail_line = p->rd->line + 1;
        } else if (rc < 0) {
            b->end = 1;
            b->fail = FAIL_NOMEM;
        } else if (!acre_blank(line, len)) {
            f->line = p->rd->line;
            f->index = p->index++;
            f->raw = b->arena.len;
            f->rawlen = len;
            acre_buf_add(&b->arena, line, len);
            acre_buf_add(&b->arena, "", 1);
            if (b->arena.oom) {
                /* the lines before it are whole: parsed, so that an error in one of them is
                 * the one reported; the arena may grow again for their cells */
                b->arena.len = f->raw;
                b->arena.oom = 0;
                b->end = 1;
                b->fail = FAIL_NOMEM;
            } else {
                b->nread++;
            }
        }
    }
    if (b->end)
        p->read_end = 1;
    pthread_mutex_unlock(&p->rmu);
    return 1;
}

/* Record f's validation: its errors, or its cells copied into the arena. */
static int freeze(fbatch *b, frozen *f, const acre_rec *r)
{
    f->nerr = r->nerrors;
    f->err0 = b->nerr;
    if (r->nerrors) {
        if (b->nerr + (size_t)r->nerrors > b->caperr) {
            size_t cap = (b->caperr ? b->caperr * 2 : 64) + (size_t)r->nerrors;
            acre_fielderr *e = acre_realloc(b->errs, cap * sizeof *e);
            if (!e)
                return ACRE_ENOMEM;
            b->errs = e;
            b->caperr = cap;
        }
        memcpy(b->errs + b->nerr, r->errors, (size_t)r->nerrors * sizeof *r->errors);
        b->nerr += (size_t)r->nerrors;
    } else {
        for (int c = 0; c < r->kind->ncols; c++) {
            f->cells[c] = r->cells[c];
            if (r->cells[c].t == CELL_TEXT) {
                f->off[c] = b->arena.len;
                acre_buf_add(&b->arena, r->cells[c].s, r->cells[c].len);
                acre_buf_add(&b->arena, "", 1);
            }
        }
    }
    return b->arena.oom ? ACRE_ENOMEM : 0;
}

/* Parses and validates b's lines, stopping at the first that fails (which ends the input). */
static void parse_lines(fpipe *p, fbatch *b, acre_rec *rec)
{
    for (; b->n < b->nread; b->n++) {
        frozen *f = &b->recs[b->n];
        acre_numtab t = {0};
        json_t *doc;
        int rc;
        /* the line, where the arena is now (freeze may have moved it) */
        const char *line = b->arena.p + f->raw;
        /* the document's nodes from this thread's block: freeze copies what it keeps */
        acre_json_arena_begin();
        if (!(doc = acre_json_loadb(line, f->rawlen, ACRE_INGEST_JSON_FLAGS, &b->je))) {
            acre_json_arena_end();
            b->end = 1;
            b->fail = FAIL_JSON;
            b->fail_line = f->line;
            b->fail_index = f->index;
            return;
        }
        rc = acre_numtab_build(&t, doc, line, f->rawlen);
        if (rc == 0 && acre_rec_validate(rec, p->k, doc, &t) == ACRE_ENOMEM)
            rc = ACRE_ENOMEM;
        if (rc == 0)
            rc = freeze(b, f, rec);
        acre_numtab_free(&t);
        json_decref(doc);
        acre_json_arena_end();
        if (rc) {
            b->end = 1;
            b->fail = rc == ACRE_ENOMEM ? FAIL_NOMEM : FAIL_NUMBERS;
            return;
        }
    }
}

static void *parse_thread(void *arg)
{
    fpipe *p = arg;
    acre_rec rec;
    fbatch *b;

    acre_rec_init(&rec);
    while ((b = take_spare(p))) {
        if (!read_lines(p, b)) {
            give(p, b, 0);
            break;
        }
        parse_lines(p, b, &rec);
        give(p, b, 1);
    }
    acre_rec_free(&rec);
    acre_json_arena_free();
    return NULL;
}

/* Frozen record f's cells, their texts in the batch's arena. */
static void thaw(const fbatch *b, const frozen *f, int ncols, acre_cell *cells)
{
    for (int c = 0; c < ncols; c++) {
        cells[c] = f->cells[c];
        if (f->cells[c].t == CELL_TEXT)
            cells[c].s = b->arena.p + f->off[c];
    }
}

/* Hands a batch's records to the sink, in order, what they ask of the store read ahead
 * (`ahead`: room for BATCH_RECS records' cells). */
static int consume(acre_ingest_sink *g, const fbatch *b, acre_cell *ahead, acre_error *err)
{
    const acre_kind *k = acre_ingest_kind(g);
    acre_cell cells[ACRE_MAX_COLS];
    long nvalid = 0;
    int rc;

    for (size_t i = 0; i < b->n; i++)
        if (b->recs[i].nerr == 0)
            thaw(b, &b->recs[i], k->ncols, ahead + (size_t)nvalid++ * (size_t)k->ncols);
    if ((rc = acre_ingest_ahead(g, nvalid, ahead, err)))
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        const frozen *f = &b->recs[i];
        if (f->nerr == 0)
            thaw(b, f, k->ncols, cells);
        if ((rc = acre_ingest_validated(g, cells, b->errs + f->err0, f->nerr, b->arena.p + f->raw,
                                        f->rawlen, f->line, err)))
            return rc;
    }
    return 0;
}

/* How many parser threads: two where there are two cores or more. */
static int parsers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 2 ? MAX_PARSERS : 1;
}

int acre_ingest_pipeline(acre_ingest_sink *g, reader *rd, long index, acre_error *err)
{
    fpipe p;
    pthread_t th[MAX_PARSERS];
    int rc = 0, done = 0, nth = 0, want = parsers();
    long next = 0; /* the batch to consume next */
    acre_cell *ahead = NULL;

    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_mutex_init(&p.rmu, NULL);
    p.rd = rd;
    p.k = acre_ingest_kind(g);
    p.index = index;
    for (int i = 0; i < NBATCH; i++) {
        p.batches[i].recs = acre_malloc(BATCH_RECS * sizeof *p.batches[i].recs);
        if (!p.batches[i].recs)
            rc = ACRE_ENOMEM;
        p.spare[p.nspare++] = &p.batches[i];
    }
    if (!(ahead = acre_malloc((size_t)BATCH_RECS * (size_t)p.k->ncols * sizeof *ahead)))
        rc = ACRE_ENOMEM;
    for (; !rc && nth < want && pthread_create(&th[nth], NULL, parse_thread, &p) == 0; nth++)
        ;
    if (rc || nth == 0) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    while (!done) {
        fbatch *b = NULL;
        pthread_mutex_lock(&p.mu);
        for (;;) {
            for (int i = 0; i < p.nfull && !b; i++)
                if (p.full[i]->no == next) {
                    b = p.full[i];
                    p.full[i] = p.full[--p.nfull];
                }
            if (b)
                break;
            pthread_cond_wait(&p.cv, &p.mu);
        }
        pthread_mutex_unlock(&p.mu);
        next++;

        rc = consume(g, b, ahead, err);
        done = b->end || rc;
        if (rc == 0 && b->end) {
            char why[120];
            switch (b->fail) {
            case FAIL_JSON:
                rc = acre_ingest_refuse_jerr(g, b->fail_index, &b->je, b->fail_line, err);
                break;
            case FAIL_LONG:
                snprintf(why, sizeof why, "line %ld is longer than %ld MiB", b->fail_line,
                         MAX_LINE >> 20);
                rc = acre_ingest_refuse(g, "too_large", why, err);
                break;
            case FAIL_NOMEM:
                rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                break;
            case FAIL_IO:
                rc = acre_error_set(err, ACRE_EIO, NULL, NULL, "%s: read error",
                                    acre_ingest_source(g));
                break;
            case FAIL_NUMBERS:
                rc = acre_ingest_refuse(g, "json", "numbers could not be read exactly", err);
                break;
            }
        }
        pthread_mutex_lock(&p.mu);
        if (done)
            p.stop = 1; /* the parsers end at their next batch */
        p.spare[p.nspare++] = b;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
out:
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    free(ahead);
    for (int i = 0; i < NBATCH; i++) {
        free(p.batches[i].recs);
        free(p.batches[i].errs);
        acre_buf_free(&p.batches[i].arena);
    }
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.rmu);
    return rc;
}
