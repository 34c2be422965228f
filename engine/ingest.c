/* engine/ingest.c — reading a file of records, validating, and storing them (SPEC 2, 3).
 *
 * One file is one transaction. NDJSON is read line by line, so memory is bounded by the longest
 * line; a JSON array or {"data":[...]} envelope is split into its elements as it is read
 * (engine/jsonsplit.c), so memory is bounded by the largest element. A file that is not valid
 * JSON (malformed, truncated, binary) is refused whole: nothing of it is stored. Valid JSON records
 * that break a rule are rejected one by one, and the rest are stored (or, with --atomic, the file
 * is refused whole). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/ingest.h"
#include "alloc.h"
#include "digest.h"
#include "jsonsplit.h"
#include "jsonval.h"
#include "parents.h"
#include "reader.h"
#include "record.h"
#include "safeguard.h"
#include "spool.h"
#include "store_legacy.h"
#include "strset.h"

/* A rejected record whose JSON is longer than this is not echoed whole in its reject line: the
 * line gives its length and its first REJECT_ECHO bytes (cut at a character) as a string. */
#define REJECT_ECHO 4096
#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* ---- the ingest of one file ------------------------------------------------------------ */

struct pending;

typedef struct ingest {
    acre_store *s;
    const acre_kind *k;
    const acre_ingest_opts *o;
    const char *source;
    acre_ingest_summary sum;
    long long seq, first_seq, batch;
    sqlite3_stmt *sel, *ins, *exists, *parent, *overlap;
    acre_strset known;   /* referenced ids found in the store */
    acre_rec rec;
    acre_buf out, text;  /* reject lines */
    acre_buf recj;       /* the rejected record's JSON, before it is echoed */
    int ref_col;
    long invalid;        /* records rejected for their own content */
    /* affiliates: records held until the whole file is read, and the verdicts decided
     * before anything is stored (see resolve_parents) */
    struct pending *pend;
    long npend, cap;
    const char **verdict;
    long nverdict;
} ingest;

static void emit_reject(ingest *g, long index, long line, const json_t *v, const acre_numtab *t)
{
    acre_rec *r = &g->rec;
    acre_reject rj;

    g->sum.rejected++;
    if (!g->o || !g->o->on_reject)
        return;
    acre_buf_reset(&g->out);
    acre_buf_reset(&g->text);
    acre_buf_adds(&g->out, "{\"file\":");
    acre_buf_json_str(&g->out, g->source, strlen(g->source));
    acre_buf_printf(&g->out, ",\"index\":%ld", index);
    if (line > 0)
        acre_buf_printf(&g->out, ",\"line\":%ld", line);
    if (v) {
        acre_buf_reset(&g->recj);
        acre_buf_json(&g->recj, v, t, 0);
        if (g->recj.oom) {
            g->out.oom = 1; /* out of memory: no reject line, as when it was written in place */
        } else if (g->recj.len <= REJECT_ECHO) {
            acre_buf_adds(&g->out, ",\"record\":");
            acre_buf_add(&g->out, g->recj.p, g->recj.len);
        } else {
            acre_buf_printf(&g->out, ",\"record_bytes\":%zu,\"record_prefix\":", g->recj.len);
            acre_buf_json_str(&g->out, g->recj.p, (size_t)acre_utf8_prefix(g->recj.p, REJECT_ECHO));
        }
        if (g->recj.cap > 4 * REJECT_ECHO)
            acre_buf_free(&g->recj); /* a huge record: do not keep its memory */
    }
    acre_buf_adds(&g->out, ",\"errors\":[");
    acre_buf_printf(&g->text, "%s record %ld:", g->source, index);
    for (int i = 0; i < r->nerrors; i++) {
        const acre_fielderr *e = &r->errors[i];
        acre_buf_adds(&g->out, i ? ",{\"field\":" : "{\"field\":");
        acre_buf_json_str(&g->out, e->field, strlen(e->field));
        acre_buf_adds(&g->out, ",\"rule\":");
        acre_buf_json_str(&g->out, e->rule, strlen(e->rule));
        acre_buf_adds(&g->out, ",\"message\":");
        acre_buf_json_str(&g->out, e->message, strlen(e->message));
        acre_buf_adds(&g->out, "}");
        acre_buf_printf(&g->text, "%s %s", i ? ";" : "", e->message);
    }
    acre_buf_adds(&g->out, "]}");
    if (g->out.oom || g->text.oom)
        return;
    rj.json = g->out.p;
    rj.text = g->text.p;
    g->o->on_reject(g->o->ctx, &rj);
}

static void bind_cell(sqlite3_stmt *st, int i, const acre_cell *c)
{
    if (c->t == CELL_TEXT)
        sqlite3_bind_text(st, i, c->s, (int)c->len, SQLITE_STATIC);
    else if (c->t == CELL_INT)
        sqlite3_bind_int64(st, i, c->i);
    else
        sqlite3_bind_null(st, i);
}

static int cell_equals(sqlite3_stmt *st, int i, const acre_cell *c)
{
    int t = sqlite3_column_type(st, i);
    if (c->t == CELL_NULL)
        return t == SQLITE_NULL;
    if (c->t == CELL_INT)
        return t == SQLITE_INTEGER && sqlite3_column_int64(st, i) == c->i;
    if (t != SQLITE_TEXT)
        return 0;
    return (size_t)sqlite3_column_bytes(st, i) == c->len &&
           memcmp(sqlite3_column_text(st, i), c->s, c->len) == 0;
}

static int prepare(ingest *g, acre_error *err)
{
    const acre_kind *k = g->k;
    acre_buf sql = {0};
    int rc;

    acre_buf_adds(&sql, "SELECT ");
    for (int i = 0; i < k->ncols; i++)
        acre_buf_printf(&sql, "%s%s", i ? ", " : "", k->cols[i].name);
    acre_buf_printf(&sql, " FROM %s WHERE ", k->table);
    for (int i = 0; i < k->nkey; i++)
        acre_buf_printf(&sql, "%s%s = ?%d", i ? " AND " : "", k->cols[i].name, i + 1);
    acre_buf_adds(&sql, " ORDER BY seq DESC LIMIT 1");
    if (sql.oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if ((rc = acre_store_prepare(g->s, &g->sel, sql.p, err)))
        goto out;

    acre_buf_reset(&sql);
    acre_buf_printf(&sql, "INSERT INTO %s(", k->table);
    for (int i = 0; i < k->ncols; i++)
        acre_buf_printf(&sql, "%s, ", k->cols[i].name);
    acre_buf_adds(&sql, "seq, batch) VALUES(");
    for (int i = 0; i < k->ncols + 2; i++)
        acre_buf_printf(&sql, "%s?%d", i ? ", " : "", i + 1);
    acre_buf_adds(&sql, ")");
    if ((rc = acre_store_prepare(g->s, &g->ins, sql.p, err)))
        goto out;

    switch (k->ref) {
    case REF_CUSTOMER:
        rc = acre_store_prepare(g->s, &g->exists,
                                "SELECT 1 FROM customer WHERE customer_id = ?1 LIMIT 1", err);
        break;
    case REF_AFFILIATE:
    case REF_ASSIGNMENT:
    case REF_PARENT:
        rc = acre_store_prepare(g->s, &g->exists,
                                "SELECT 1 FROM affiliate WHERE affiliate_id = ?1 LIMIT 1", err);
        break;
    default:
        break;
    }
    if (rc)
        goto out;
    if (k->ref == REF_PARENT)
        rc = acre_store_prepare(g->s, &g->parent,
                                "SELECT parent_affiliate_id FROM affiliate WHERE affiliate_id = "
                                "?1 ORDER BY seq DESC LIMIT 1",
                                err);
    if (k->ref == REF_ASSIGNMENT)
        rc = acre_store_prepare(
            g->s, &g->overlap,
            "SELECT plan_id, effective_from, effective_to FROM assignment AS a "
            "WHERE affiliate_id = ?1 AND seq = (SELECT max(seq) FROM assignment AS b "
            "WHERE b.affiliate_id = a.affiliate_id AND b.plan_id = a.plan_id "
            "AND b.effective_from = a.effective_from) "
            "AND NOT (plan_id = ?2 AND effective_from = ?3) "
            "AND effective_from <= coalesce(?5, '9999-12') AND coalesce(effective_to, '9999-12') "
            ">= ?3 ORDER BY effective_from LIMIT 1",
            err);
out:
    acre_buf_free(&sql);
    return rc;
}

/* 1 when the id names a stored record (affiliate or customer, by the statement), 0 if not. */
static int known(ingest *g, const acre_cell *id, acre_error *err)
{
    int rc;
    if (acre_strset_get(&g->known, id->s, id->len, NULL))
        return 1;
    sqlite3_reset(g->exists);
    sqlite3_bind_text(g->exists, 1, id->s, (int)id->len, SQLITE_STATIC);
    rc = sqlite3_step(g->exists);
    if (rc == SQLITE_ROW) {
        if (acre_strset_put(&g->known, id->s, id->len, 1))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        return 1;
    }
    if (rc != SQLITE_DONE)
        return acre_store_fail(g->s, "looking up a reference", err);
    return 0;
}

/* Reference rules of SPEC 3 for a record without field errors; adds errors to g->rec. */
static int check_refs(ingest *g, long index, acre_error *err)
{
    acre_rec *r = &g->rec;
    const acre_cell *id;
    int rc;

    switch (g->k->ref) {
    case REF_NONE:
        return 0;
    case REF_PARENT:
        if (index < g->nverdict && g->verdict[index])
            acre_rec_error(r, "parent_affiliate_id",
                           strstr(g->verdict[index], "cycle") ? "parent_cycle" : "unknown_parent",
                           "parent_affiliate_id: %s", g->verdict[index]);
        return 0;
    case REF_AFFILIATE:
    case REF_CUSTOMER:
    case REF_ASSIGNMENT:
        id = &r->cells[g->k->ref_col];
        rc = known(g, id, err);
        if (rc < 0)
            return rc;
        if (!rc) {
            const char *f = g->k->cols[g->k->ref_col].name;
            int aff = g->k->ref != REF_CUSTOMER;
            acre_rec_error(r, f, aff ? "unknown_affiliate" : "unknown_customer",
                           "%s: no %s \"%.*s\" is stored", f, aff ? "affiliate" : "customer",
                           acre_utf8_prefix(id->s, 100), id->s);
            return 0;
        }
        break;
    }
    if (g->k->ref == REF_ASSIGNMENT) {
        sqlite3_stmt *st = g->overlap;
        int bad;
        sqlite3_reset(st);
        for (int i = 0; i < 5; i++)
            bind_cell(st, i + 1, &r->cells[i]);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && (bad = acre_store_row(g->s, st, err)))
            return bad;
        if (rc == SQLITE_ROW) {
            const char *to = (const char *)sqlite3_column_text(st, 2);
            acre_rec_error(r, "effective_from", "overlapping_assignment",
                           "effective_from: affiliate %.*s already holds plan %.*s from %s "
                           "to %s, which overlaps",
                           acre_utf8_prefix(r->cells[0].s, 100), r->cells[0].s,
                           acre_utf8_prefix((const char *)sqlite3_column_text(st, 0), 100),
                           (const char *)sqlite3_column_text(st, 0),
                           (const char *)sqlite3_column_text(st, 1), to ? to : "open end");
        } else if (rc != SQLITE_DONE) {
            return acre_store_fail(g->s, "checking assignment overlaps", err);
        }
    }
    return 0;
}

/* Stores the record's new version unless it equals the current one. */
static int upsert(ingest *g, acre_error *err)
{
    const acre_kind *k = g->k;
    acre_rec *r = &g->rec;
    int rc, bad, exists = 0;

    sqlite3_reset(g->sel);
    for (int i = 0; i < k->nkey; i++)
        bind_cell(g->sel, i + 1, &r->cells[i]);
    rc = sqlite3_step(g->sel);
    if (rc == SQLITE_ROW && (bad = acre_store_row(g->s, g->sel, err)))
        return bad;
    if (rc == SQLITE_ROW) {
        int same = 1;
        exists = 1;
        for (int i = k->nkey; i < k->ncols && same; i++)
            same = cell_equals(g->sel, i, &r->cells[i]);
        if (!same && strcmp(k->table, "customer") == 0) {
            /* A customer update older than the stored one is ignored (SPEC 3). */
            int lm = acre_kind_col(k, "last_modified_date");
            const unsigned char *old = sqlite3_column_text(g->sel, lm);
            if (old && r->cells[lm].t == CELL_TEXT &&
                strcmp(r->cells[lm].s, (const char *)old) < 0)
                same = 1;
        }
        if (same) {
            g->sum.unchanged++;
            return 0;
        }
    } else if (rc != SQLITE_DONE) {
        return acre_store_fail(g->s, "reading the stored version", err);
    }
    sqlite3_reset(g->ins);
    for (int i = 0; i < k->ncols; i++)
        bind_cell(g->ins, i + 1, &r->cells[i]);
    sqlite3_bind_int64(g->ins, k->ncols + 1, ++g->seq);
    sqlite3_bind_int64(g->ins, k->ncols + 2, g->batch);
    if (sqlite3_step(g->ins) != SQLITE_DONE)
        return acre_store_fail(g->s, "storing a record", err);
    if (exists)
        g->sum.updated++;
    else
        g->sum.inserted++;
    return 0;
}

static int handle(ingest *g, const json_t *v, const acre_numtab *t, long index, long line,
                  acre_error *err)
{
    int rc;
    g->sum.received++;
    rc = acre_rec_validate(&g->rec, g->k, v, t);
    if (rc == ACRE_ENOMEM)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (rc == 0 && (rc = check_refs(g, index, err)) < 0)
        return rc;
    if (g->rec.nerrors) {
        g->invalid++;
        emit_reject(g, index, line, v, t);
        return 0;
    }
    return upsert(g, err);
}

/* ---- refusing a whole file ----------------------------------------------------------- */

/* Refuses the file for invalid JSON at line, column (jansson's text says what). */
static int refuse_json_at(ingest *g, long index, long line, long column, const char *text,
                          acre_error *err)
{
    g->rec.nerrors = 0;
    acre_rec_error(&g->rec, "", "json", "line %ld, column %ld: invalid JSON: %s", line, column,
                   text);
    g->sum.received++;
    emit_reject(g, index, line, NULL, NULL);
    return acre_error_set(err, ACRE_EREJECTED, NULL, "json",
                          "%s: line %ld, column %ld: invalid JSON: %s; the file is refused and "
                          "nothing of it is stored",
                          g->source, line, column, text);
}

static int refuse_json(ingest *g, long index, const json_error_t *je, long line_base,
                       acre_error *err)
{
    if (json_error_code(je) == json_error_out_of_memory)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return refuse_json_at(g, index, line_base + (je->line > 0 ? je->line : 1) - 1, je->column,
                          je->text, err);
}

static int refuse(ingest *g, const char *rule, acre_error *err, const char *why)
{
    return acre_error_set(err, ACRE_EREJECTED, NULL, rule,
                          "%s: %s; the file is refused and nothing of it is stored", g->source,
                          why);
}

/* ---- NDJSON in two threads --------------------------------------------------------------
 *
 * Parsing JSON costs more than storing it, so a reader thread reads, parses and validates lines
 * into batches while the calling thread checks references and stores them, in file order. Only
 * the calling thread touches the store or calls the reject callback, so the output is the same
 * as one thread would give. A record crosses over as its raw line and its canonical cells, copied
 * into the batch; a reject's echo is parsed again from the raw line. */

#define BATCH_RECS 2048
#define NBATCH 6

typedef struct frozen {
    long index, line;
    size_t raw, rawlen; /* the line, in the batch arena */
    size_t err0;        /* first of its errors in the batch's errs */
    int nerr;
    acre_cell cells[ACRE_MAX_COLS];
    size_t off[ACRE_MAX_COLS]; /* text cells: offsets in the arena */
} frozen;

enum { FAIL_NONE, FAIL_JSON, FAIL_LONG, FAIL_NOMEM, FAIL_IO, FAIL_NUMBERS };

typedef struct fbatch {
    frozen *recs;
    size_t n;
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
    int nfull, headfull, nspare;
    int stop;
    reader *rd;
    const acre_kind *k;
    long index;
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
        b->nerr = 0;
        b->end = 0;
        b->fail = FAIL_NONE;
        acre_buf_reset(&b->arena);
        b->arena.oom = 0;
    }
    return b;
}

static void give_full(fpipe *p, fbatch *b)
{
    pthread_mutex_lock(&p->mu);
    p->full[(p->headfull + p->nfull) % NBATCH] = b;
    p->nfull++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int freeze(fbatch *b, const acre_rec *r, const char *line, size_t len, long index, long ln)
{
    frozen *f = &b->recs[b->n];
    f->index = index;
    f->line = ln;
    f->raw = b->arena.len;
    f->rawlen = len;
    acre_buf_add(&b->arena, line, len);
    acre_buf_add(&b->arena, "", 1);
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
    if (b->arena.oom)
        return ACRE_ENOMEM;
    b->n++;
    return 0;
}

static void *parse_thread(void *arg)
{
    fpipe *p = arg;
    acre_rec rec;
    fbatch *b = take_spare(p);

    acre_rec_init(&rec);
    while (b) {
        char *line;
        size_t len;
        json_t *doc;
        acre_numtab t = {0};
        int rc = acre_reader_line(p->rd, &line, &len);
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
        } else if (blank(line, len)) {
            continue;
        } else if (!(doc = acre_json_loadb(line, len, JSON_FLAGS, &b->je))) {
            b->end = 1;
            b->fail = FAIL_JSON;
            b->fail_line = p->rd->line;
            b->fail_index = p->index;
        } else {
            rc = acre_numtab_build(&t, doc, line, len);
            if (rc == 0 && acre_rec_validate(&rec, p->k, doc, &t) == ACRE_ENOMEM)
                rc = ACRE_ENOMEM;
            if (rc == 0)
                rc = freeze(b, &rec, line, len, p->index, p->rd->line);
            acre_numtab_free(&t);
            json_decref(doc);
            p->index++;
            if (rc) {
                b->end = 1;
                b->fail = rc == ACRE_ENOMEM ? FAIL_NOMEM : FAIL_NUMBERS;
            }
        }
        if (b->end || b->n == BATCH_RECS) {
            int end = b->end;
            give_full(p, b);
            b = end ? NULL : take_spare(p);
        }
    }
    acre_rec_free(&rec);
    return NULL;
}

/* Rebuilds the reject of a frozen record from its raw line. */
static void emit_frozen(ingest *g, const fbatch *b, const frozen *f)
{
    const char *raw = b->arena.p + f->raw;
    json_error_t je;
    json_t *v = acre_json_loadb(raw, f->rawlen, JSON_FLAGS, &je);
    acre_numtab t = {0};
    if (v && acre_numtab_build(&t, v, raw, f->rawlen) != 0) {
        json_decref(v);
        v = NULL;
    }
    emit_reject(g, f->index, f->line, v, &t);
    acre_numtab_free(&t);
    json_decref(v);
}

static int consume(ingest *g, const fbatch *b, acre_error *err)
{
    int rc;
    for (size_t i = 0; i < b->n; i++) {
        const frozen *f = &b->recs[i];
        g->sum.received++;
        g->rec.kind = g->k;
        g->rec.nerrors = 0;
        if (f->nerr) {
            memcpy(g->rec.errors, b->errs + f->err0, (size_t)f->nerr * sizeof *b->errs);
            g->rec.nerrors = f->nerr;
            g->invalid++;
            emit_frozen(g, b, f);
            continue;
        }
        for (int c = 0; c < g->k->ncols; c++) {
            g->rec.cells[c] = f->cells[c];
            if (f->cells[c].t == CELL_TEXT)
                g->rec.cells[c].s = b->arena.p + f->off[c];
        }
        if ((rc = check_refs(g, f->index, err)) < 0)
            return rc;
        if (g->rec.nerrors) {
            g->invalid++;
            emit_frozen(g, b, f);
            continue;
        }
        if ((rc = upsert(g, err)))
            return rc;
    }
    return 0;
}

/* Reads and stores the rest of an NDJSON file; *index is the next record's index. */
static int pipeline(ingest *g, reader *rd, long index, acre_error *err)
{
    fpipe p;
    pthread_t th;
    int rc = 0, done = 0;

    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.rd = rd;
    p.k = g->k;
    p.index = index;
    for (int i = 0; i < NBATCH; i++) {
        p.batches[i].recs = acre_malloc(BATCH_RECS * sizeof *p.batches[i].recs);
        if (!p.batches[i].recs)
            rc = ACRE_ENOMEM;
        p.spare[p.nspare++] = &p.batches[i];
    }
    if (rc || pthread_create(&th, NULL, parse_thread, &p) != 0) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    while (!done) {
        fbatch *b;
        pthread_mutex_lock(&p.mu);
        while (p.nfull == 0)
            pthread_cond_wait(&p.cv, &p.mu);
        b = p.full[p.headfull];
        p.headfull = (p.headfull + 1) % NBATCH;
        p.nfull--;
        pthread_mutex_unlock(&p.mu);

        rc = consume(g, b, err);
        done = b->end || rc;
        if (rc == 0 && b->end) {
            char why[120];
            switch (b->fail) {
            case FAIL_JSON:
                rc = refuse_json(g, b->fail_index, &b->je, b->fail_line, err);
                break;
            case FAIL_LONG:
                snprintf(why, sizeof why, "line %ld is longer than %ld MiB", b->fail_line,
                         MAX_LINE >> 20);
                rc = refuse(g, "too_large", err, why);
                break;
            case FAIL_NOMEM:
                rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                break;
            case FAIL_IO:
                rc = acre_error_set(err, ACRE_EIO, NULL, NULL, "%s: read error", g->source);
                break;
            case FAIL_NUMBERS:
                rc = refuse(g, "json", err, "numbers could not be read exactly");
                break;
            }
        }
        pthread_mutex_lock(&p.mu);
        if (done)
            p.stop = 1; /* the reader thread ends at its next batch */
        p.spare[p.nspare++] = b;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    pthread_join(th, NULL);
out:
    for (int i = 0; i < NBATCH; i++) {
        free(p.batches[i].recs);
        free(p.batches[i].errs);
        acre_buf_free(&p.batches[i].arena);
    }
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    return rc;
}

/* ---- affiliates: parents may be defined anywhere in the same file ----------------------- */

typedef struct pending {
    json_t *v;
    acre_numtab t; /* the elements of a document read whole share its table */
    char *text;    /* an element split from a stream: its own copy, which t points into */
    long line;
} pending;

/* Keeps a record until the whole file is read; takes `text` (NULL, or the copy t points into). */
static int hold(ingest *g, json_t *v, const acre_numtab *t, long line, char *text)
{
    if (g->npend == g->cap) {
        long cap = g->cap ? g->cap * 2 : 256;
        pending *p = acre_realloc(g->pend, (size_t)cap * sizeof *p);
        if (!p)
            return ACRE_ENOMEM;
        g->pend = p;
        g->cap = cap;
    }
    g->pend[g->npend].v = json_incref(v);
    g->pend[g->npend].t = *t;
    g->pend[g->npend].text = text;
    g->pend[g->npend].line = line;
    g->npend++;
    return 0;
}

/* The stored parent of affiliate `id` (acre_stored_parent_fn). */
static int stored_parent(void *ctx, const char *id, char **parent, acre_error *err)
{
    ingest *g = ctx;
    int rc, bad;
    *parent = NULL;
    sqlite3_reset(g->parent);
    sqlite3_bind_text(g->parent, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(g->parent);
    if (rc == SQLITE_ROW && (bad = acre_store_row(g->s, g->parent, err)))
        return bad;
    if (rc == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_text(g->parent, 0);
        if (p && *p && !(*parent = acre_strdup((const char *)p)))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        return 1;
    }
    if (rc != SQLITE_DONE)
        return acre_store_fail(g->s, "reading a parent", err);
    return 0;
}

/* Decides, before anything is stored, which affiliate records break the parent rules: a parent
 * that is neither stored nor a live record of the file, a parent whose own record is rejected,
 * or a chain of parents that comes back to the record (engine/parents.c). */
static int resolve_parents(ingest *g, acre_error *err)
{
    pending *p = g->pend;
    long n = g->npend;
    char **ids = acre_calloc((size_t)n + 1, sizeof *ids), **parents = acre_calloc((size_t)n + 1, sizeof *parents);
    int *valid = acre_calloc((size_t)n + 1, sizeof *valid);
    int rc = 0;
    static const char *const unknown = "the parent affiliate is not stored or is rejected";
    static const char *const cycle = "parents would form a cycle";

    g->verdict = acre_calloc((size_t)n + 1, sizeof *g->verdict);
    g->nverdict = n;
    if (!ids || !parents || !valid || !g->verdict) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    for (long i = 0; i < n; i++) {
        if (acre_rec_validate(&g->rec, g->k, p[i].v, &p[i].t) != 0)
            continue;
        valid[i] = 1;
        ids[i] = acre_strdup(g->rec.cells[0].s);
        parents[i] = g->rec.cells[2].t == CELL_TEXT ? acre_strdup(g->rec.cells[2].s) : NULL;
        if (!ids[i] || (g->rec.cells[2].t == CELL_TEXT && !parents[i])) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            goto out;
        }
    }
    rc = acre_parents_resolve(n, ids, parents, valid, g->verdict, unknown, cycle, stored_parent, g,
                              err);
out:
    for (long i = 0; i < n; i++) {
        if (ids) /* either may be NULL: the allocation failed */
            free(ids[i]);
        if (parents)
            free(parents[i]);
    }
    free(ids);
    free(parents);
    free(valid);
    return rc;
}

/* ---- the file -------------------------------------------------------------------------- */

/* Runs `handle` over each record of a parsed document, or holds them (affiliates). */
static int each_record(ingest *g, json_t *doc, const char *text, size_t len, long line,
                       int collect, long *index, acre_error *err)
{
    acre_numtab t = {0};
    int rc = 0;
    json_t *records = doc;

    if (json_is_object(doc) && json_is_array(json_object_get(doc, "data"))) {
        const char *key;
        json_t *val;
        json_object_foreach(doc, key, val)
        {
            if (strcmp(key, "data") && strcmp(key, "meta")) {
                char why[200];
                snprintf(why, sizeof why,
                         "envelope: unexpected key \"%.*s\" (expected \"data\" and optional "
                         "\"meta\")",
                         acre_utf8_prefix(key, 60), key);
                return refuse(g, "envelope", err, why);
            }
        }
        records = json_object_get(doc, "data");
    }
    if ((rc = acre_numtab_build(&t, doc, text, len))) {
        acre_numtab_free(&t);
        return rc == ACRE_ENOMEM ? acre_error_set(err, rc, NULL, NULL, "out of memory")
                                 : refuse(g, "json", err, "numbers could not be read exactly");
    }
    if (json_is_array(records)) {
        size_t n = json_array_size(records);
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (collect)
                rc = hold(g, json_array_get(records, i), &t, 0, NULL);
            else
                rc = handle(g, json_array_get(records, i), &t, (*index)++, 0, err);
        }
        if (collect && rc == 0 && n > 0)
            return 0; /* the held elements own t now */
    } else if (collect) {
        rc = hold(g, records, &t, line, NULL);
        if (rc == 0)
            return 0;
    } else {
        rc = handle(g, records, &t, (*index)++, line, err);
    }
    if (rc == ACRE_ENOMEM)
        acre_error_set(err, rc, NULL, NULL, "out of memory");
    acre_numtab_free(&t);
    return rc;
}

/* ---- a JSON array or envelope, element by element (engine/jsonsplit.c) ----------------- */

typedef struct split_ctx {
    ingest *g;
    int collect;
    long *index, base; /* base: the lines before the document */
    acre_error *err;
    int refused; /* err is set */
} split_ctx;

static int on_element(void *ctx, const char *text, size_t len, long line, long col0)
{
    split_ctx *c = ctx;
    json_error_t je;
    acre_numtab t = {0};
    int rc;
    char *copy = NULL;
    json_t *v;

    /* a held element outlives the reader's buffer, which moves as the file is read: its number
     * texts must point into a copy of its own */
    if (c->collect) {
        if (!(copy = acre_malloc(len ? len : 1))) {
            c->refused = 1;
            return acre_error_set(c->err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        memcpy(copy, text, len);
        text = copy;
    }
    v = acre_json_loadb(text, len, JSON_FLAGS, &je);
    if (!v) {
        free(copy);
        c->refused = 1;
        if (json_error_code(&je) == json_error_out_of_memory)
            return acre_error_set(c->err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        /* where parsing the whole document would have put it, and counted as then: the
         * refusal is record 0 and the only one received */
        c->g->sum.received = 0;
        return refuse_json_at(c->g, 0, c->base + line + (je.line > 1 ? je.line - 1 : 0),
                              je.line <= 1 ? col0 + je.column : je.column, je.text, c->err);
    }
    if ((rc = acre_numtab_build(&t, v, text, len)) == 0) {
        if (c->collect) {
            if ((rc = hold(c->g, v, &t, 0, copy)) == 0)
                copy = NULL; /* held */
            (*c->index)++;
        } else {
            rc = handle(c->g, v, &t, (*c->index)++, 0, c->err);
        }
    } else if (rc != ACRE_ENOMEM) {
        c->refused = 1;
        rc = refuse(c->g, "json", c->err, "numbers could not be read exactly");
    }
    if (rc == ACRE_ENOMEM) {
        c->refused = 1;
        acre_error_set(c->err, rc, NULL, NULL, "out of memory");
    }
    if (rc || !c->collect)
        acre_numtab_free(&t); /* a held element keeps its table */
    free(copy);
    json_decref(v);
    if (rc && !c->refused)
        c->refused = 1; /* handle set err */
    return rc;
}

static int split(ingest *g, reader *rd, int env, int collect, long *index, acre_error *err)
{
    split_ctx c = {g, collect, index, rd->line, err, 0};
    acre_jsplit_err je;
    int rc = acre_jsplit(rd, env, on_element, &c, &je);
    if (rc == 0 || c.refused)
        return rc;
    if (rc == ACRE_EREJECTED)
        g->sum.received = 0; /* counted as when the document was parsed whole */
    if (rc == ACRE_EREJECTED && strcmp(je.rule, "json") == 0)
        return refuse_json_at(g, 0, c.base + je.line, je.column, je.text, err);
    if (rc == ACRE_EREJECTED)
        return refuse(g, je.rule, err, je.text);
    return acre_error_set(err, rc, NULL, NULL, "out of memory");
}

static int run(ingest *g, reader *rd, acre_error *err)
{
    json_error_t je;
    json_t *doc;
    char *line;
    size_t len;
    long index = 0;
    int rc = 0, env = 0;
    /* affiliates are read whole, so a parent may come after its child */
    int collect = g->k->ref == REF_PARENT;

    /* Find the first byte that is not white space (or a UTF-8 byte order mark). */
    for (;;) {
        if (rd->start == rd->end && !rd->eof && (rc = acre_reader_fill(rd, MAX_LINE)) < 0)
            return acre_error_set(err, rc, NULL, NULL, "out of memory");
        if (rd->start == rd->end && rd->ioerr) /* a read error is not an empty file */
            return acre_error_set(err, ACRE_EIO, NULL, NULL, "read error; nothing of it is stored");
        if (rd->start == rd->end)
            return 0; /* an empty file: no records */
        if (rd->end - rd->start >= 3 && memcmp(rd->buf + rd->start, "\xEF\xBB\xBF", 3) == 0) {
            rd->start += 3;
            continue;
        }
        char c = rd->buf[rd->start];
        if (c == ' ' || c == '\t' || c == '\r') {
            rd->start++;
            continue;
        }
        if (c == '\n') {
            rd->start++;
            rd->line++;
            continue;
        }
        break;
    }
    if (rd->buf[rd->start] == '{' && (env = acre_jsplit_is_envelope(rd)) < 0)
        return acre_error_set(err, env, NULL, NULL, "out of memory");
    if (rd->buf[rd->start] == '[' || env) {
        rc = split(g, rd, env, collect, &index, err);
        goto resolve;
    }
    if (collect) {
        if ((rc = acre_reader_all(rd)) != 0)
            return rc == 2 ? refuse(g, "too_large", err, "the file is larger than 1 GiB")
                           : acre_error_set(err, rc, NULL, NULL, "out of memory");
    }
    if (rd->buf[rd->start] != '{' && rd->buf[rd->start] != '[') {
        unsigned char c = (unsigned char)rd->buf[rd->start];
        int printable = c >= 0x20 && c < 0x7f;
        char why[200];
        snprintf(why, sizeof why,
                 "not JSON: it starts with %s%c%s (byte 0x%02x); expected NDJSON, a JSON array "
                 "or a {\"data\":[...]} envelope",
                 printable ? "'" : "", printable ? c : ' ', printable ? "'" : "", c);
        return refuse(g, "json", err, why);
    }

    /* '{': NDJSON, or an envelope (on one line or pretty-printed), or one pretty record. */
    for (long nrec = 0;; nrec++) {
        long ln;
        rc = acre_reader_line(rd, &line, &len);
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (rc == 2) {
            char why[120];
            snprintf(why, sizeof why, "line %ld is longer than %ld MiB", rd->line + 1,
                     MAX_LINE >> 20);
            return refuse(g, "too_large", err, why);
        }
        if (rc < 0)
            return acre_error_set(err, rc, NULL, NULL, "out of memory");
        ln = rd->line;
        if (blank(line, len)) {
            nrec--;
            continue;
        }
        doc = acre_json_loadb(line, len, JSON_FLAGS, &je);
        if (!doc && json_error_code(&je) == json_error_out_of_memory)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        if (!doc && nrec == 0) {
            /* Not one record per line: the first line may open a pretty-printed document. */
            size_t n;
            rd->start = (size_t)(line - rd->buf); /* read the rest behind the first line */
            if ((rc = acre_reader_all(rd)) != 0)
                return rc == 2 ? refuse(g, "too_large", err, "the file is larger than 1 GiB")
                               : acre_error_set(err, rc, NULL, NULL, "out of memory");
            line = rd->buf + rd->start;
            n = rd->end - rd->start;
            doc = acre_json_loadb(line, n, JSON_FLAGS, &je);
            if (!doc)
                return refuse_json(g, 0, &je, ln, err);
            rd->start = rd->end;
            rc = each_record(g, doc, line, n, ln, collect, &index, err);
            json_decref(doc);
            if (rc)
                return rc;
            break;
        }
        if (!doc)
            return refuse_json(g, index, &je, ln, err);
        if (nrec == 0 && json_is_object(doc) && json_is_array(json_object_get(doc, "data"))) {
            /* a one-line envelope must be the whole file */
            char *rest;
            size_t rlen;
            int more;
            while ((more = acre_reader_line(rd, &rest, &rlen)) == 0 && blank(rest, rlen))
                ;
            if (more != 1) {
                json_decref(doc);
                return refuse(g, "envelope", err, "text follows the {\"data\":[...]} envelope");
            }
        }
        rc = each_record(g, doc, line, len, ln, collect, &index, err);
        json_decref(doc);
        if (rc)
            return rc;
        if (!collect && nrec == 0)
            return pipeline(g, rd, index, err);
    }
resolve:
    if (rc == 0 && rd->ioerr)
        return acre_error_set(err, ACRE_EIO, NULL, NULL, "%s: read error", g->source);
    if (rc == 0 && collect) {
        if ((rc = resolve_parents(g, err)) == 0)
            for (long k = 0; k < g->npend && rc == 0; k++)
                rc = handle(g, g->pend[k].v, &g->pend[k].t, k, g->pend[k].line, err);
    }
    return rc;
}

static void free_pending(ingest *g)
{
    for (long i = 0; i < g->npend; i++) {
        /* array elements share one table: free it with the last of them */
        if (i + 1 == g->npend || g->pend[i].t.items != g->pend[i + 1].t.items)
            acre_numtab_free(&g->pend[i].t);
        json_decref(g->pend[i].v);
        free(g->pend[i].text);
    }
    free(g->pend);
}

static int start_batch(ingest *g, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(g->s, &st, "SELECT value FROM counter WHERE name = 'seq'", err);
    if (rc)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return acre_store_fail(g->s, "reading the sequence counter", err);
    }
    g->seq = sqlite3_column_int64(st, 0);
    g->first_seq = g->seq + 1;
    sqlite3_finalize(st);
    rc = acre_store_prepare(g->s, &st,
                            "INSERT INTO ingest_batch(kind, source, sha256, received, inserted, "
                            "updated, unchanged, rejected, stored_at) "
                            "VALUES(?1, ?2, '', 0, 0, 0, 0, 0, ?3)",
                            err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, g->k->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g->source, -1, SQLITE_STATIC);
    if (g->o && g->o->stored_at)
        sqlite3_bind_text(st, 3, g->o->stored_at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(g->s, "recording the batch", err);
    g->batch = sqlite3_last_insert_rowid(g->s->db);
    return 0;
}

static int finish_batch(ingest *g, const char *sha, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(g->s, &st,
                                "UPDATE ingest_batch SET sha256 = ?1, received = ?2, inserted = "
                                "?3, updated = ?4, unchanged = ?5, rejected = ?6, first_seq = "
                                "?7, last_seq = ?8 WHERE batch = ?9",
                                err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, g->sum.received);
    sqlite3_bind_int64(st, 3, g->sum.inserted);
    sqlite3_bind_int64(st, 4, g->sum.updated);
    sqlite3_bind_int64(st, 5, g->sum.unchanged);
    sqlite3_bind_int64(st, 6, g->sum.rejected);
    if (g->seq >= g->first_seq) {
        sqlite3_bind_int64(st, 7, g->first_seq);
        sqlite3_bind_int64(st, 8, g->seq);
    }
    sqlite3_bind_int64(st, 9, g->batch);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(g->s, "recording the batch", err);
    if ((rc = acre_store_prepare(g->s, &st, "UPDATE counter SET value = ?1 WHERE name = 'seq'",
                                 err)))
        return rc;
    sqlite3_bind_int64(st, 1, g->seq);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(g->s, "advancing the sequence counter", err);
    return 0;
}

int acre_ingest(acre_store *s, const char *kind, FILE *in, const acre_ingest_opts *opts,
                acre_ingest_summary *sum, acre_error *err)
{
    ingest g;
    reader rd;
    int rc;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char sha[65];
    int spooled = 0;

    memset(&g, 0, sizeof g);
    memset(&rd, 0, sizeof rd);
    g.k = acre_kind_find(kind);
    if (!g.k)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "kind", "unknown record kind \"%s\"",
                              kind);
    g.s = s;
    g.o = opts;
    g.source = opts && opts->source ? opts->source : "-";
    rd.sha = EVP_MD_CTX_new();
    if (!rd.sha || !EVP_DigestInit_ex(rd.sha, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(rd.sha);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    acre_rec_init(&g.rec);

    /* a pipe is read to its end before the write lock is taken (engine/spool.c) */
    if ((rc = acre_spool(in, &rd.in, &spooled, err)))
        goto out;
    if ((rc = acre_store_begin(s, err)))
        goto out;
    if ((rc = prepare(&g, err)) || (rc = start_batch(&g, err)))
        goto out;
    if ((rc = run(&g, &rd, err)))
        goto out;
    if (opts && opts->atomic && g.invalid > 0) {
        rc = acre_error_set(err, ACRE_EREJECTED, NULL, "atomic",
                            "%s: %ld of %ld records are invalid; with --atomic the file is "
                            "refused and nothing of it is stored",
                            g.source, g.invalid, g.sum.received);
        goto out;
    }
    EVP_DigestFinal_ex(rd.sha, md, &mdlen);
    acre_hex32(sha, md);
    if (!(opts && opts->again) && g.sum.received > 0 &&
        (rc = acre_resent_check(s, g.k->name, sha, g.batch, g.source, err)))
        goto out;
    if ((rc = finish_batch(&g, sha, err)))
        goto out;
    sqlite3_finalize(g.sel);
    sqlite3_finalize(g.ins);
    sqlite3_finalize(g.exists);
    sqlite3_finalize(g.parent);
    sqlite3_finalize(g.overlap);
    g.sel = g.ins = g.exists = g.parent = g.overlap = NULL;
    rc = acre_store_commit(s, err);
out:
    sqlite3_finalize(g.sel);
    sqlite3_finalize(g.ins);
    sqlite3_finalize(g.exists);
    sqlite3_finalize(g.parent);
    sqlite3_finalize(g.overlap);
    if (rc) {
        acre_store_rollback(s);
        /* nothing of the file is stored: every record it held counts as rejected */
        g.sum.rejected = g.sum.received;
        g.sum.inserted = g.sum.updated = g.sum.unchanged = 0;
    }
    if (sum) {
        sum->received += g.sum.received;
        sum->inserted += g.sum.inserted;
        sum->updated += g.sum.updated;
        sum->unchanged += g.sum.unchanged;
        sum->rejected += g.sum.rejected;
    }
    acre_strset_free(&g.known);
    acre_rec_free(&g.rec);
    acre_buf_free(&g.out);
    acre_buf_free(&g.text);
    acre_buf_free(&g.recj);
    free(g.verdict);
    free_pending(&g);
    free(rd.buf);
    EVP_MD_CTX_free(rd.sha);
    if (spooled)
        fclose(rd.in);
    return rc;
}
