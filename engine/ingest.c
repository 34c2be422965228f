/* engine/ingest.c — the record sink: a batch of records validated, checked and stored in one
 * transaction (SPEC 2, 3).
 *
 * Records come one at a time, from acre_ingest_record or from a source that read and parsed
 * them (engine/ingest_source.c). Each is validated against its kind's row (engine/validate.c),
 * then its kind's rules that read the store run through the row's hooks (references, checks,
 * supersedes, rules across the batch: engine/kind_rules.c), so nothing here knows a kind by
 * name; the store is read and written only through engine/ingest_store.h. A record that breaks
 * a rule is rejected (a reject line to the caller) and the others go on; with --atomic any
 * rejection refuses the batch at commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/ingest.h"
#include "alloc.h"
#include "datetime.h"
#include "events_int.h"
#include "ingest_int.h"
#include "ingest_store.h"
#include "store_int.h"
#include "strset.h"

/* A rejected record whose JSON is longer than this is not echoed whole in its reject line: the
 * line gives its length and its first REJECT_ECHO bytes (cut at a character) as a string. */
#define REJECT_ECHO 4096

/* A record held until commit (a kind whose rules span the batch). */
typedef struct pending {
    json_t *v;
    acre_numtab t; /* the elements of a document read whole share its table */
    char *text;    /* NULL, or the record's own copy, which t points into */
    long index, line;
} pending;

struct acre_ingest_sink {
    acre_store *s;
    const acre_kind *k;
    acre_istore *is;
    acre_ingest_opts o; /* o.source is `source` */
    char *source;
    acre_ingest_summary sum;
    long long seq, first_seq, batch;
    long long stored_sec; /* opts->stored_at in Unix seconds, or 0: unknown (the events' made_at) */
    long count;           /* records handed over so far: the next one's index */
    long invalid;         /* records rejected for their own content */
    int refcol[ACRE_MAX_REFS];
    acre_strset known[ACRE_MAX_REFS]; /* referenced ids found in the store */
    acre_rec rec;
    acre_buf out, text; /* reject lines */
    acre_buf recj;      /* the rejected record's JSON, before it is echoed */
    pending *pend;
    long npend, cap;
    char sha[65]; /* "" when unknown */
    int failed;   /* the code the batch failed with, or 0 */
    acre_error fail;
    /* A detached sink (no store, engine/ingest_prep.c): each record is validated and kept in
     * `prep`, to be checked and stored later; nothing is reported. */
    acre_ingest_prep *prep;
};

/* ---- rejects --------------------------------------------------------------------------- */

static void emit_reject(acre_ingest_sink *g, long index, long line, const json_t *v,
                        const acre_numtab *t)
{
    acre_rec *r = &g->rec;
    acre_reject rj;

    g->sum.rejected++;
    if (!g->o.on_reject)
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
    g->o.on_reject(g->o.ctx, &rj);
}

/* The reject of a record known by its raw text: parsed again to echo it. */
static void emit_raw(acre_ingest_sink *g, const char *raw, size_t len, long index, long line)
{
    json_error_t je;
    json_t *v = acre_json_loadb(raw, len, ACRE_INGEST_JSON_FLAGS, &je);
    acre_numtab t = {0};
    if (v && acre_numtab_build(&t, v, raw, len) != 0) {
        json_decref(v);
        v = NULL;
    }
    emit_reject(g, index, line, v, &t);
    acre_numtab_free(&t);
    json_decref(v);
}

/* ---- one record ------------------------------------------------------------------------ */

/* 1 when the id names a stored record of the kind reference `ref` names, 0 if not. */
static int known(acre_ingest_sink *g, int ref, const acre_cell *id, acre_error *err)
{
    int rc;
    if (acre_strset_get(&g->known[ref], id->s, id->len, NULL) ||
        acre_store_known(g->s, g->k->refs[ref].kind->table, id->s, id->len))
        return 1;
    if ((rc = acre_istore_exists(g->is, ref, id, err)) == 1 &&
        acre_strset_put(&g->known[ref], id->s, id->len, 1))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return rc;
}

/* The kind's rules beyond its fields, for a record without field errors (SPEC 9: references
 * only then): the verdict of the rules across the batch, its references, its check. Adds
 * errors to g->rec; returns 0 or a negative code. */
static int check_refs(acre_ingest_sink *g, const acre_fielderr *verdict, acre_error *err)
{
    const acre_kind *k = g->k;
    acre_rec *r = &g->rec;
    int rc;

    if (verdict)
        acre_rec_error(r, verdict->field, verdict->rule, "%s", verdict->message);
    for (int i = 0; i < k->nrefs && r->nerrors == 0; i++) {
        const acre_cell *id = &r->cells[g->refcol[i]];
        const char *f = k->refs[i].field, *to = k->refs[i].kind->table;
        char rule[40];
        if (id->t != CELL_TEXT)
            continue; /* an absent optional reference names nothing */
        if ((rc = known(g, i, id, err)) < 0)
            return rc;
        if (rc)
            continue;
        snprintf(rule, sizeof rule, "unknown_%s", to);
        acre_rec_error(r, f, rule, "%s: no %s \"%.*s\" is stored", f, to,
                       acre_utf8_prefix(id->s, 100), id->s);
    }
    if (k->check && r->nerrors == 0)
        return k->check(k, r, g->is, err);
    return 0;
}

static int cell_equals(const acre_cell *stored, const acre_cell *c)
{
    if (c->t == CELL_NULL)
        return stored->t == CELL_NULL;
    if (c->t == CELL_INT)
        return stored->t == CELL_INT && stored->i == c->i;
    return stored->t == CELL_TEXT && stored->len == c->len && memcmp(stored->s, c->s, c->len) == 0;
}

/* Stores the record's new version unless it equals the current one (or the kind keeps the
 * current one: supersedes). */
static int upsert(acre_ingest_sink *g, acre_error *err)
{
    const acre_kind *k = g->k;
    acre_rec *r = &g->rec;
    acre_cell row[ACRE_MAX_COLS];
    int rc = acre_istore_current(g->is, r->cells, row, "reading the stored version", err);
    int exists = rc == 1;

    if (rc < 0)
        return rc;
    if (exists) {
        int same = 1;
        for (int i = k->nkey; i < k->ncols && same; i++)
            same = cell_equals(&row[i], &r->cells[i]);
        if (!same && k->supersedes && !k->supersedes(k, row, r->cells))
            same = 1;
        if (same) {
            g->sum.unchanged++;
            return 0;
        }
    }
    if ((rc = acre_istore_insert(g->is, r->cells, exists ? row : NULL, ++g->seq, g->batch, err)))
        return rc;
    if (exists)
        g->sum.updated++;
    else
        g->sum.inserted++;
    return 0;
}

/* One more record received: its progress call, every ACRE_INGEST_PROGRESS. */
static void received(acre_ingest_sink *g)
{
    if (++g->sum.received % ACRE_INGEST_PROGRESS == 0 && g->o.progress)
        g->o.progress(g->o.progress_ctx, g->sum.received);
}

static int handle(acre_ingest_sink *g, const json_t *v, const acre_numtab *t, long index, long line,
                  const acre_fielderr *verdict, const char *raw, size_t rawlen, acre_error *err)
{
    int rc;
    received(g);
    rc = acre_rec_validate(&g->rec, g->k, v, t);
    if (rc == ACRE_ENOMEM)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (g->prep)
        return acre_ingest_prep_keep(g->prep, &g->rec, v, t, raw, rawlen, line, err);
    if (rc == 0 && (rc = check_refs(g, verdict, err)) < 0)
        return rc;
    if (g->rec.nerrors) {
        g->invalid++;
        emit_reject(g, index, line, v, t);
        return 0;
    }
    return upsert(g, err);
}

/* ---- records held until commit (a kind whose rules span the batch) --------------------- */

int acre_ingest_hold(acre_ingest_sink *g, json_t *v, const acre_numtab *t, long line, char *text,
                     acre_error *err)
{
    if (g->npend == g->cap) {
        long cap = g->cap ? g->cap * 2 : 256;
        pending *p = acre_realloc(g->pend, (size_t)cap * sizeof *p);
        if (!p)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        g->pend = p;
        g->cap = cap;
    }
    g->pend[g->npend].v = json_incref(v);
    g->pend[g->npend].t = *t;
    g->pend[g->npend].text = text;
    g->pend[g->npend].index = g->count++;
    g->pend[g->npend].line = line;
    g->npend++;
    return 0;
}

static void free_pending(acre_ingest_sink *g)
{
    for (long i = 0; i < g->npend; i++) {
        /* array elements share one table: free it with the last of them */
        if (i + 1 == g->npend || g->pend[i].t.items != g->pend[i + 1].t.items)
            acre_numtab_free(&g->pend[i].t);
        json_decref(g->pend[i].v);
        free(g->pend[i].text);
    }
    free(g->pend);
    g->pend = NULL;
    g->npend = g->cap = 0;
}

/* Held record i, validated again for the kind's `across` hook (acre_batch_rec_fn). */
static int held_rec(void *ctx, long i, const acre_cell **cells, acre_error *err)
{
    acre_ingest_sink *g = ctx;
    int rc = acre_rec_validate(&g->rec, g->k, g->pend[i].v, &g->pend[i].t);
    *cells = g->rec.cells;
    if (rc == ACRE_ENOMEM)
        return acre_error_set(err, rc, NULL, NULL, "out of memory");
    return rc == 0;
}

/* Decides the rules across the batch before anything of it is stored, then handles each held
 * record in order with its verdict. */
static int store_held(acre_ingest_sink *g, acre_error *err)
{
    const acre_fielderr **verdict = acre_calloc((size_t)g->npend + 1, sizeof *verdict);
    int rc;

    if (!verdict)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    rc = g->k->across(g->k, g->npend, held_rec, g, g->is, verdict, err);
    for (long i = 0; i < g->npend && rc == 0; i++)
        rc = handle(g, g->pend[i].v, &g->pend[i].t, g->pend[i].index, g->pend[i].line, verdict[i],
                    NULL, 0, err);
    free(verdict);
    return rc;
}

/* ---- what the sources ask (engine/ingest_int.h) ---------------------------------------- */

const acre_kind *acre_ingest_kind_find(const char *name, acre_error *err)
{
    const acre_kind *k = acre_kind_find(name);
    if (!k)
        acre_error_set(err, ACRE_EUSAGE, NULL, "kind", "unknown record kind \"%s\"", name);
    return k;
}

const acre_kind *acre_ingest_kind(const acre_ingest_sink *g)
{
    return g->k;
}

const char *acre_ingest_source(const acre_ingest_sink *g)
{
    return g->source;
}

int acre_ingest_holds(const acre_ingest_sink *g)
{
    return g->k->across != NULL;
}

int acre_ingest_detached(const acre_ingest_sink *g)
{
    return g->prep != NULL;
}

int acre_ingest_value(acre_ingest_sink *g, const json_t *v, const acre_numtab *t, long line,
                      const char *raw, size_t rawlen, acre_error *err)
{
    return handle(g, v, t, g->count++, line, NULL, raw, rawlen, err);
}

int acre_ingest_validated(acre_ingest_sink *g, const acre_cell *cells, const acre_fielderr *errs,
                          int nerr, const char *raw, size_t rawlen, long line, acre_error *err)
{
    long index = g->count++;
    int rc;

    received(g);
    g->rec.kind = g->k;
    g->rec.nerrors = 0;
    if (nerr) {
        memcpy(g->rec.errors, errs, (size_t)nerr * sizeof *errs);
        g->rec.nerrors = nerr;
    } else {
        memcpy(g->rec.cells, cells, (size_t)g->k->ncols * sizeof *cells);
        if ((rc = check_refs(g, NULL, err)) < 0)
            return rc;
    }
    if (g->rec.nerrors) {
        g->invalid++;
        emit_raw(g, raw, rawlen, index, line);
        return 0;
    }
    return upsert(g, err);
}

int acre_ingest_ahead(acre_ingest_sink *g, long n, const acre_cell *cells, acre_error *err)
{
    const acre_kind *k = g->k;
    acre_cell *ids = NULL;
    char *found = NULL;
    acre_strset asked = {0};
    int rc;

    if (!g->is)
        return 0;
    /* (none: what an earlier chunk read is forgotten all the same) */
    if ((rc = acre_istore_ahead(g->is, n, cells, err)) || n <= 0)
        return rc;
    /* each reference not known yet, once */
    for (int r = 0; r < k->nrefs && !rc; r++) {
        const char *table = k->refs[r].kind->table;
        long nids = 0;
        if (!ids &&
            (!(ids = acre_malloc((size_t)n * sizeof *ids)) || !(found = acre_malloc((size_t)n)))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
        acre_strset_free(&asked);
        for (long i = 0; i < n; i++) {
            const acre_cell *id = &cells[(size_t)i * (size_t)k->ncols + (size_t)g->refcol[r]];
            if (id->t != CELL_TEXT || acre_strset_get(&g->known[r], id->s, id->len, NULL) ||
                acre_store_known(g->s, table, id->s, id->len) ||
                acre_strset_get(&asked, id->s, id->len, NULL))
                continue;
            if (acre_strset_put(&asked, id->s, id->len, 1)) {
                rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                break;
            }
            ids[nids++] = *id;
        }
        if (!rc)
            rc = acre_istore_exists_each(g->is, r, nids, ids, found, err);
        for (long i = 0; i < nids && !rc; i++)
            if (found[i] && acre_strset_put(&g->known[r], ids[i].s, ids[i].len, 1))
                rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    acre_strset_free(&asked);
    free(ids);
    free(found);
    return rc;
}

int acre_ingest_refuse(acre_ingest_sink *g, const char *rule, const char *why, acre_error *err)
{
    return acre_error_set(err, ACRE_EREJECTED, NULL, rule,
                          "%s: %s; the file is refused and nothing of it is stored", g->source,
                          why);
}

int acre_ingest_refuse_json(acre_ingest_sink *g, long index, long line, long column,
                            const char *text, acre_error *err)
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

int acre_ingest_refuse_jerr(acre_ingest_sink *g, long index, const json_error_t *je, long line_base,
                            acre_error *err)
{
    if (json_error_code(je) == json_error_out_of_memory)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return acre_ingest_refuse_json(g, index, line_base + (je->line > 0 ? je->line : 1) - 1,
                                   je->column, je->text, err);
}

int acre_ingest_too_many(const acre_ingest_sink *g, acre_error *err)
{
    if (g->o.max_records <= 0 || g->sum.received <= g->o.max_records)
        return 0;
    return acre_error_set(err, ACRE_EREJECTED, NULL, "max_records",
                          "%s: %ld records; at most %ld are taken at once, and nothing of these is "
                          "stored",
                          g->source, g->sum.received, g->o.max_records);
}

long acre_ingest_received(const acre_ingest_sink *g)
{
    return g->sum.received;
}

void acre_ingest_uncount(acre_ingest_sink *g)
{
    g->sum.received = 0;
}

int acre_ingest_fail(acre_ingest_sink *g, int rc, const acre_error *err)
{
    if (!g->failed && rc) {
        g->failed = rc;
        if (err)
            g->fail = *err;
        else
            acre_error_set(&g->fail, rc, NULL, NULL, "the batch failed");
    }
    return rc;
}

/* ---- the batch ------------------------------------------------------------------------- */

static void free_sink(acre_ingest_sink *g)
{
    acre_istore_abort(g->is); /* NULL once committed */
    for (int i = 0; i < ACRE_MAX_REFS; i++)
        acre_strset_free(&g->known[i]);
    acre_rec_free(&g->rec);
    acre_buf_free(&g->out);
    acre_buf_free(&g->text);
    acre_buf_free(&g->recj);
    free_pending(g);
    free(g->source);
    free(g);
}

/* acre_ingest_begin, or a detached sink keeping its records in prep when s is NULL */
static int begin(acre_ingest_sink **out, acre_store *s, acre_ingest_prep *prep, const char *kind,
                 const acre_ingest_opts *opts, acre_error *err)
{
    const acre_kind *k;
    acre_ingest_sink *g;
    int rc;

    *out = NULL;
    if (!(k = acre_ingest_kind_find(kind, err)))
        return ACRE_EUSAGE;
    if (k->nrefs > ACRE_MAX_REFS)
        return acre_error_set(err, ACRE_ERROR, NULL, NULL, "%s: too many references", k->name);
    if (!(g = acre_calloc(1, sizeof *g)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    g->s = s;
    g->k = k;
    if (opts)
        g->o = *opts;
    acre_rec_init(&g->rec);
    if (!(g->source = acre_strdup(opts && opts->source ? opts->source : "-"))) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto fail;
    }
    g->o.source = g->source;
    g->o.stored_at = NULL; /* read once, below */
    if (opts && opts->stored_at) {
        char canon[ACRE_DATETIME_LEN + 1];
        const char *why;
        int64_t sec;
        int32_t nsec;
        if (!acre_datetime_canon(canon, opts->stored_at, strlen(opts->stored_at), &why) &&
            !acre_datetime_split(canon, &sec, &nsec))
            g->stored_sec = sec;
    }
    for (int i = 0; i < k->nrefs; i++)
        g->refcol[i] = acre_kind_col(k, k->refs[i].field);
    if (prep) {
        g->prep = prep;
        g->o.on_reject = NULL; /* reported when stored */
        g->o.before_commit = NULL;
        *out = g;
        return 0;
    }
    if ((rc = acre_istore_open(&g->is, s, k, err)) ||
        (rc = acre_istore_batch_start(g->is, g->source, opts ? opts->stored_at : NULL, &g->seq,
                                      &g->batch, err)))
        goto fail;
    g->first_seq = g->seq + 1;
    *out = g;
    return 0;
fail:
    free_sink(g);
    return rc;
}

int acre_ingest_begin(acre_ingest_sink **out, acre_store *s, const char *kind,
                      const acre_ingest_opts *opts, acre_error *err)
{
    if (!s) {
        *out = NULL;
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "no store to ingest into");
    }
    return begin(out, s, NULL, kind, opts, err);
}

int acre_ingest_begin_detached(acre_ingest_sink **out, acre_ingest_prep *prep, const char *kind,
                               const acre_ingest_opts *opts, acre_error *err)
{
    return begin(out, NULL, prep, kind, opts, err);
}

int acre_ingest_set_sha256(acre_ingest_sink *g, const char *hex, acre_error *err)
{
    size_t n = hex ? strlen(hex) : 0;
    if (n != 64 || strspn(hex, "0123456789abcdef") != 64)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "sha256",
                              "a SHA-256 is 64 lower-case hex digits");
    memcpy(g->sha, hex, 65);
    return 0;
}

int acre_ingest_record(acre_ingest_sink *g, const char *json, size_t len, acre_error *err)
{
    json_error_t je;
    acre_numtab t = {0};
    json_t *v;
    char *copy = NULL;
    int rc;

    if (g->failed) {
        if (err)
            *err = g->fail;
        return g->failed;
    }
    if (acre_ingest_holds(g)) {
        /* a held record outlives the caller's text: its number texts must point into a copy */
        if (!(copy = acre_malloc(len ? len : 1))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            goto out;
        }
        memcpy(copy, json, len);
        json = copy;
    }
    v = acre_json_loadb(json, len, ACRE_INGEST_JSON_FLAGS, &je);
    if (!v && json_error_code(&je) == json_error_out_of_memory) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    } else if (!v || (rc = acre_numtab_build(&t, v, json, len)) == ACRE_ERROR) {
        /* not JSON: this record's reject, not the batch's refusal */
        g->rec.nerrors = 0;
        if (!v)
            acre_rec_error(&g->rec, "", "json", "line %d, column %d: invalid JSON: %s", je.line,
                           je.column, je.text);
        else
            acre_rec_error(&g->rec, "", "json", "record: numbers could not be read exactly");
        g->sum.received++;
        g->invalid++;
        emit_reject(g, g->count++, 0, NULL, NULL);
        rc = 0;
    } else if (rc == 0 && acre_ingest_holds(g)) {
        if ((rc = acre_ingest_hold(g, v, &t, 0, copy, err)) == 0)
            copy = NULL, t.items = NULL; /* held */
    } else if (rc == 0) {
        rc = acre_ingest_value(g, v, &t, 0, json, len, err);
    } else {
        rc = acre_error_set(err, rc, NULL, NULL, "out of memory");
    }
    acre_numtab_free(&t);
    json_decref(v);
out:
    free(copy);
    return rc < 0 ? acre_ingest_fail(g, rc, err) : rc;
}

int acre_ingest_commit(acre_ingest_sink *g, acre_ingest_summary *sum, acre_error *err)
{
    acre_error local;
    int rc = 0;

    if (!err) {
        acre_error_clear(&local);
        err = &local;
    }
    if (!g || g->prep) {
        acre_ingest_abort(g);
        return acre_error_set(err, ACRE_EUSAGE, NULL, NULL, "no batch to commit");
    }
    if (g->failed) {
        rc = g->failed;
        if (err != &g->fail)
            *err = g->fail;
    }
    if (rc == 0 && g->npend > 0)
        rc = store_held(g, err);
    if (rc == 0)
        rc = acre_ingest_too_many(g, err);
    if (rc == 0 && g->o.atomic && g->invalid > 0)
        rc = acre_error_set(err, ACRE_EREJECTED, NULL, "atomic",
                            "%s: %ld of %ld records are invalid; with --atomic the file is "
                            "refused and nothing of it is stored",
                            g->source, g->invalid, g->sum.received);
    if (rc == 0 && !g->o.again && g->sum.received > 0 && g->sha[0])
        rc = acre_istore_resent(g->is, g->sha, g->batch, g->source, err);
    if (rc == 0)
        rc = acre_istore_batch_finish(g->is, g->batch, g->sha, &g->sum, g->first_seq, g->seq, err);
    if (rc == 0) {
        /* qualification of the customers whose transactions or activity changed, in the same
         * transaction: an event exists only when its records do (SPEC 12) */
        char **ids = NULL;
        int n = 0;
        if (!(rc = acre_istore_customers(g->is, &ids, &n, err)))
            rc = acre_events_on_ingest(g->s, ids, n, strcmp(g->k->table, "txn") != 0, g->stored_sec,
                                       err);
        for (int i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
    }
    if (rc == 0 && g->o.before_commit)
        rc = g->o.before_commit(g->o.commit_ctx, g->s, &g->sum, err);
    if (rc == 0) {
        rc = acre_istore_commit(g->is, err);
        g->is = NULL;
    }
    /* what it found stored stays stored: the next batch on this store need not ask */
    for (int i = 0; i < g->k->nrefs && rc == 0; i++)
        if (acre_store_know(g->s, g->k->refs[i].kind->table, &g->known[i]))
            acre_store_forget(g->s); /* out of memory: nothing lost but the time saved */
    if (rc) {
        /* nothing of the batch is stored: every record it held counts as rejected */
        g->sum.rejected = g->sum.received;
        g->sum.inserted = g->sum.updated = g->sum.unchanged = 0;
    }
    if (sum) {
        sum->received += g->sum.received;
        sum->inserted += g->sum.inserted;
        sum->updated += g->sum.updated;
        sum->unchanged += g->sum.unchanged;
        sum->rejected += g->sum.rejected;
    }
    free_sink(g);
    return rc;
}

void acre_ingest_abort(acre_ingest_sink *g)
{
    if (g)
        free_sink(g); /* rolls the transaction back */
}
