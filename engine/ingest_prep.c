/* engine/ingest_prep.c — a batch prepared without the store, stored later (include/acre/ingest.h).
 *
 * acre_ingest_prepare reads the bytes with the sources' own code (engine/ingest_source.c) into a
 * detached sink (engine/ingest.c), which validates each record's fields and keeps the verdict
 * here: its canonical cells or its field errors, its line, and its text, copied. Nothing is
 * reported then. acre_ingest_prepared opens a real sink on the store and hands it the kept
 * records in order with acre_ingest_validated, as the NDJSON pipeline's parsers do
 * (engine/ingest_pipe.c): the sink checks references, reports rejects (parsing a rejected
 * record's text again to echo it) and stores; the batch then commits as any other. Bytes refused
 * whole (not JSON, a stray envelope key) and a kind whose rules span the batch (affiliates) are
 * kept as bytes and read again by acre_ingest_buffer when stored: their answer is exactly the
 * CLI's, and they are rare. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "acre/ingest.h"
#include "alloc.h"
#include "digest.h"
#include "ingest_int.h"

typedef struct kept {
    long line;
    size_t raw, rawlen; /* its text, in the arena */
    size_t err0;        /* its first field error in errs (nerr of them), or its cells */
    int nerr;
} kept;

struct acre_ingest_prep {
    const acre_kind *k;
    char *kind;
    const char *bytes; /* borrowed */
    size_t len;
    char sha[65];
    int whole; /* 1: stored by reading the bytes again */
    long max;  /* records kept at most: a batch of more is refused (max_records) */
    kept *recs;
    long n, cap;
    acre_cell *cells; /* n * k->ncols; a text cell's s is NULL, its text at off[] in the arena */
    size_t *off;
    acre_fielderr *errs;
    size_t nerr, caperr;
    acre_buf arena;
};

void acre_ingest_prep_free(acre_ingest_prep *p)
{
    if (!p)
        return;
    free(p->kind);
    free(p->recs);
    free(p->cells);
    free(p->off);
    free(p->errs);
    acre_buf_free(&p->arena);
    free(p);
}

static int grow(acre_ingest_prep *p)
{
    long cap = p->cap ? 2 * p->cap : 64;
    size_t nc = (size_t)p->k->ncols;
    kept *r = acre_realloc(p->recs, (size_t)cap * sizeof *r);
    acre_cell *c;
    size_t *o;
    if (!r)
        return ACRE_ENOMEM;
    p->recs = r;
    if (!(c = acre_realloc(p->cells, (size_t)cap * nc * sizeof *c)))
        return ACRE_ENOMEM;
    p->cells = c;
    if (!(o = acre_realloc(p->off, (size_t)cap * nc * sizeof *o)))
        return ACRE_ENOMEM;
    p->off = o;
    p->cap = cap;
    return 0;
}

int acre_ingest_prep_keep(acre_ingest_prep *p, const acre_rec *r, const json_t *v,
                          const acre_numtab *t, const char *raw, size_t rawlen, long line,
                          acre_error *err)
{
    size_t nc = (size_t)p->k->ncols;
    kept *f;

    if (p->max > 0 && p->n >= p->max)
        return 0; /* counted only: the batch is refused for its size */
    if (p->n == p->cap && grow(p))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    f = &p->recs[p->n];
    f->line = line;
    f->raw = p->arena.len;
    if (raw) {
        acre_buf_add(&p->arena, raw, rawlen);
    } else {
        acre_buf_json(&p->arena, v, t, 0); /* parsed again, it echoes as v would */
    }
    f->rawlen = p->arena.len - f->raw;
    acre_buf_add(&p->arena, "", 1);
    f->nerr = r->nerrors;
    f->err0 = p->nerr;
    if (r->nerrors) {
        if (p->nerr + (size_t)r->nerrors > p->caperr) {
            size_t cap = (p->caperr ? p->caperr * 2 : 16) + (size_t)r->nerrors;
            acre_fielderr *e = acre_realloc(p->errs, cap * sizeof *e);
            if (!e)
                return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            p->errs = e;
            p->caperr = cap;
        }
        memcpy(p->errs + p->nerr, r->errors, (size_t)r->nerrors * sizeof *r->errors);
        p->nerr += (size_t)r->nerrors;
    } else {
        acre_cell *c = p->cells + (size_t)p->n * nc;
        size_t *o = p->off + (size_t)p->n * nc;
        for (size_t i = 0; i < nc; i++) {
            c[i] = r->cells[i];
            if (c[i].t == CELL_TEXT) {
                o[i] = p->arena.len;
                c[i].s = NULL;
                acre_buf_add(&p->arena, r->cells[i].s, r->cells[i].len);
                acre_buf_add(&p->arena, "", 1); /* read as C text too (messages) */
            }
        }
    }
    if (p->arena.oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    p->n++;
    return 0;
}

/* The bytes, read into a detached sink: 0 with the records kept, ACRE_EREJECTED for more than
 * max_records, 1 when the bytes are refused whole (kept as bytes), or a negative code. */
static int read_into(acre_ingest_prep *p, const acre_ingest_opts *opts, acre_ingest_summary *sum,
                     acre_error *err)
{
    acre_ingest_sink *g;
    reader rd;
    unsigned char md[32];
    unsigned int mdlen = 0;
    int rc;

    memset(&rd, 0, sizeof rd);
    rd.mem = p->bytes;
    rd.memlen = p->len;
    if (!(rd.sha = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(rd.sha, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(rd.sha);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    if ((rc = acre_ingest_begin_detached(&g, p, p->kind, opts, err)) == 0) {
        rc = acre_ingest_read(g, &rd, err);
        if (rc == ACRE_EREJECTED) {
            rc = 1; /* refused whole: acre_ingest_buffer will say so, with its rejects */
        } else if (rc == 0 && (rc = acre_ingest_too_many(g, err)) != 0 && sum) {
            long n = acre_ingest_received(g);
            sum->received += n;
            sum->rejected += n;
        }
        acre_ingest_abort(g);
    }
    if (rc == 0) {
        EVP_DigestFinal_ex(rd.sha, md, &mdlen);
        acre_hex32(p->sha, md);
    }
    free(rd.buf);
    EVP_MD_CTX_free(rd.sha);
    return rc;
}

int acre_ingest_prepare(acre_ingest_prep **out, const char *kind, const void *bytes, size_t len,
                        const acre_ingest_opts *opts, acre_ingest_summary *sum, acre_error *err)
{
    acre_ingest_prep *p;
    const acre_kind *k;
    int rc = 0;

    *out = NULL;
    if (!(k = acre_ingest_kind_find(kind, err)))
        return ACRE_EUSAGE;
    if (!(p = acre_calloc(1, sizeof *p)) || !(p->kind = acre_strdup(kind))) {
        free(p);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    p->k = k;
    p->bytes = bytes;
    p->len = len;
    p->max = opts ? opts->max_records : 0;
    if (k->across)
        p->whole = 1; /* a parent may come after its child: the sink reads the batch whole */
    else if ((rc = read_into(p, opts, sum, err)) == 1) {
        p->whole = 1, rc = 0;
        acre_error_clear(err); /* told when stored */
    }
    if (rc) {
        acre_ingest_prep_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Kept record i's cells, their texts in the arena. */
static void thaw(const acre_ingest_prep *p, long i, acre_cell *cells)
{
    size_t nc = (size_t)p->k->ncols;
    const acre_cell *c = p->cells + (size_t)i * nc;
    const size_t *o = p->off + (size_t)i * nc;
    for (size_t j = 0; j < nc; j++) {
        cells[j] = c[j];
        if (c[j].t == CELL_TEXT)
            cells[j].s = p->arena.p + o[j];
    }
}

int acre_ingest_prepared(acre_store *s, const acre_ingest_prep *p, const acre_ingest_opts *opts,
                         acre_ingest_summary *sum, acre_error *err)
{
    acre_ingest_sink *g;
    const acre_kind *k = p->k;
    size_t nc = (size_t)k->ncols;
    acre_cell *ahead = NULL;
    int rc;

    if (p->whole)
        return acre_ingest_buffer(s, p->kind, p->bytes, p->len, opts, sum, err);
    if ((rc = acre_ingest_begin(&g, s, p->kind, opts, err)))
        return rc;
    if (!(ahead = acre_malloc(ACRE_INGEST_AHEAD * nc * sizeof *ahead)))
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    for (long i = 0; i < p->n && rc == 0; i++) {
        const kept *f = &p->recs[i];
        acre_cell cells[ACRE_MAX_COLS];
        if (i % ACRE_INGEST_AHEAD == 0) {
            /* what the next records ask of the store, read ahead */
            long nvalid = 0;
            for (long j = i; j < p->n && j < i + ACRE_INGEST_AHEAD; j++)
                if (p->recs[j].nerr == 0)
                    thaw(p, j, ahead + (size_t)nvalid++ * nc);
            if ((rc = acre_ingest_ahead(g, nvalid, ahead, err)))
                break;
        }
        if (f->nerr == 0)
            thaw(p, i, cells);
        rc = acre_ingest_validated(g, cells, f->nerr ? p->errs + f->err0 : NULL, f->nerr,
                                   p->arena.p + f->raw, f->rawlen, f->line, err);
    }
    free(ahead);
    if (rc == 0)
        rc = acre_ingest_set_sha256(g, p->sha, err);
    acre_ingest_fail(g, rc, err);
    return acre_ingest_commit(g, sum, err);
}
