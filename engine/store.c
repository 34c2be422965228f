/* engine/store.c — a store over its backend (include/acre/sys/store.h): opening, nested
 * transactions, running query shapes, the counts and batches a store reports.
 *
 * Every record kind has a table whose key is the record's key followed by `seq`, the ingest
 * sequence number: each version of a record is a row, nothing is updated in place, and the
 * current version of a key is its row with the highest seq. `batch` names the ingested file
 * (table ingest_batch) that brought the version. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "jsonval.h"
#include "record.h"
#include "store_int.h"

int acre_store_open_backend(acre_store **out, acre_store_backend *b, acre_error *err)
{
    acre_store *s;
    *out = NULL;
    if (!b)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "no backend");
    if (b->version != ACRE_STORE_BACKEND_VERSION || !b->begin || !b->commit || !b->rollback ||
        !b->prepare || !b->run || !b->finalize || !b->free) {
        int rc =
            acre_error_set(err, ACRE_EUSAGE, NULL, "store",
                           "the %s backend implements interface version %u; this acre "
                           "needs version %d with every required callback",
                           b->name ? b->name : "unnamed", b->version, ACRE_STORE_BACKEND_VERSION);
        if (b->free)
            b->free(b);
        return rc;
    }
    if (!(s = acre_calloc(1, sizeof *s))) {
        b->free(b);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    b->money_cents = 0; /* text, until a close's reader asks otherwise */
    s->b = b;
    *out = s;
    return 0;
}

int acre_store_is_url(const char *path)
{
    return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

static int open_as(acre_store **out, const char *path, int create, acre_error *err)
{
    acre_store_backend *b;
    struct stat st;
    int rc;
    *out = NULL;
    if (acre_store_is_url(path))
        rc = acre_pg_open(&b, path, create, err);
    else if (!create && strcmp(path, ":memory:") != 0 && stat(path, &st) != 0 && errno == ENOENT)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "missing_store",
                              "no store %s: only ingest, plan add and replay --into create one",
                              path);
    else
        rc = acre_sqlite_backend(&b, path, err);
    if (rc)
        return rc;
    return acre_store_open_backend(out, b, err);
}

int acre_store_open(acre_store **out, const char *path, acre_error *err)
{
    return open_as(out, path, 1, err);
}

int acre_store_open_existing(acre_store **out, const char *path, acre_error *err)
{
    return open_as(out, path, 0, err);
}

void acre_store_free(acre_store *s)
{
    if (!s)
        return;
    if (s->depth)
        s->b->rollback(s->b);
    s->b->free(s->b);
    acre_store_forget(s);
    free(s);
}

/* ---- ids found stored, across batches ---- */

int acre_store_known(const acre_store *s, const char *table, const char *id, size_t len)
{
    for (int i = 0; i < ACRE_KNOWN_TABLES && s->known[i].table; i++)
        if (strcmp(s->known[i].table, table) == 0)
            return acre_strset_get(&s->known[i].ids, id, len, NULL);
    return 0;
}

int acre_store_know(acre_store *s, const char *table, const acre_strset *ids)
{
    acre_known *k = NULL;
    for (int i = 0; i < ACRE_KNOWN_TABLES && !k; i++)
        if (!s->known[i].table || strcmp(s->known[i].table, table) == 0)
            k = &s->known[i];
    if (!k)
        return 0; /* more tables than kept: the others are asked each time */
    k->table = table;
    if (k->ids.n + ids->n > ACRE_KNOWN_MAX)
        acre_strset_free(&k->ids);
    for (size_t i = 0; i < ids->cap; i++) {
        const char *key = acre_strset_key(ids, i);
        if (key && acre_strset_put(&k->ids, key, ids->slots[i].len, 1)) {
            acre_strset_free(&k->ids);
            return ACRE_ENOMEM;
        }
    }
    return 0;
}

void acre_store_forget(acre_store *s)
{
    for (int i = 0; i < ACRE_KNOWN_TABLES; i++) {
        acre_strset_free(&s->known[i].ids);
        s->known[i].table = NULL;
    }
}

/* ---- transactions: nested by depth, one backend transaction ---- */

static int begin(acre_store *s, int write, acre_error *err)
{
    int rc;
    if (s->depth) {
        if (write && !s->writing)
            return acre_error_set(err, ACRE_EUSAGE, NULL, "store",
                                  "a write inside a read transaction");
        if (s->group && s->depth == 1 && s->group_broken)
            return acre_error_set(err, ACRE_EIO, NULL, "store",
                                  "an earlier batch of the group could not be undone; nothing "
                                  "of the group will be written");
        if (s->group && s->depth == 1) {
            /* a batch of a group: a savepoint, undone alone if it fails */
            if ((rc = s->b->savepoint(s->b, ACRE_SAVEPOINT, err)))
                return rc;
            s->broken = 0;
        }
        s->depth++;
        return 0;
    }
    if ((rc = s->b->begin(s->b, write, err)))
        return rc;
    s->depth = 1;
    s->writing = write;
    s->broken = 0;
    return 0;
}

int acre_store_begin(acre_store *s, acre_error *err)
{
    return begin(s, 1, err);
}

int acre_store_begin_read(acre_store *s, acre_error *err)
{
    return begin(s, 0, err);
}

/* Ends a batch of a group: its savepoint kept (keep) or undone. */
static int end_savepoint(acre_store *s, int keep, acre_error *err)
{
    int rc = 0;
    s->depth = 1;
    if (s->broken) {
        keep = 0;
        rc = acre_error_set(err, ACRE_EIO, NULL, "store",
                            "the transaction was rolled back after an error");
    }
    s->broken = 0;
    if (keep && (rc = s->b->savepoint(s->b, ACRE_SAVEPOINT_RELEASE, err)) == 0)
        return 0;
    acre_store_forget(s);
    if (s->b->savepoint(s->b, ACRE_SAVEPOINT_ROLLBACK, NULL))
        s->group_broken = 1; /* what it wrote may stay: the group must not commit */
    return rc;
}

int acre_store_commit(acre_store *s, acre_error *err)
{
    int rc;
    if (s->group && s->depth == 2)
        return end_savepoint(s, 1, err);
    if (s->group && s->depth == 1)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store",
                              "a group is committed with acre_store_group_commit");
    if (s->depth > 1) {
        s->depth--;
        if (s->broken)
            return acre_error_set(err, ACRE_EIO, NULL, "store",
                                  "the transaction was rolled back after an error");
        return 0;
    }
    if (s->depth == 0)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "no transaction to commit");
    if (s->broken) {
        s->b->rollback(s->b);
        acre_store_forget(s);
        s->depth = 0;
        return acre_error_set(err, ACRE_EIO, NULL, "store",
                              "the transaction was rolled back after an error; nothing of it "
                              "was written");
    }
    rc = s->b->commit(s->b, err);
    if (rc) {
        s->b->rollback(s->b);
        acre_store_forget(s);
    }
    s->depth = 0;
    return rc;
}

void acre_store_rollback(acre_store *s)
{
    if (s->group && s->depth == 2) {
        end_savepoint(s, 0, NULL);
        return;
    }
    if (s->depth > 1) {
        /* an inner transaction: only the outermost can roll back; until then nothing commits */
        s->depth--;
        s->broken = 1;
        return;
    }
    s->b->rollback(s->b);
    acre_store_forget(s);
    s->depth = 0;
    s->broken = 0;
    s->group = s->group_broken = 0;
}

int acre_store_group_begin(acre_store *s, acre_error *err)
{
    int rc;
    if (!s->b->savepoint)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store",
                              "the %s store has no savepoints: no group commit", s->b->name);
    if (s->depth)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "a group inside a transaction");
    if ((rc = begin(s, 1, err)))
        return rc;
    s->group = 1;
    s->group_broken = 0;
    return 0;
}

int acre_store_group_commit(acre_store *s, acre_error *err)
{
    if (!s->group || s->depth != 1) {
        acre_store_group_rollback(s);
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "no group to commit");
    }
    if (s->group_broken) {
        acre_store_group_rollback(s);
        return acre_error_set(err, ACRE_EIO, NULL, "store",
                              "a batch of the group could not be undone; nothing of the group "
                              "was written");
    }
    s->group = 0;
    return acre_store_commit(s, err);
}

void acre_store_group_rollback(acre_store *s)
{
    if (s->depth)
        s->b->rollback(s->b);
    acre_store_forget(s);
    s->depth = 0;
    s->broken = 0;
    s->group = s->group_broken = 0;
}

/* ---- queries ---- */

int acre_store_stmt(acre_store *s, const acre_query *q, acre_stmt **st, acre_error *err)
{
    return s->b->prepare(s->b, q, st, err);
}

typedef struct tramp {
    acre_row_fn fn;
    void *ctx;
    int failed;  /* fn's own failure, not the backend's */
    int stopped; /* fn asked to stop: acre_store_run_sets runs no more sets */
} tramp;

static int trampoline(void *arg, const acre_value *row, int n, acre_error *err)
{
    tramp *t = arg;
    int rc = t->fn(t->ctx, row, n, err);
    if (rc < 0)
        t->failed = 1;
    if (rc > 0)
        t->stopped = 1;
    return rc;
}

int acre_store_run(acre_store *s, acre_stmt *st, const acre_value *params, acre_row_fn fn,
                   void *ctx, const char *what, acre_error *err)
{
    tramp t = {fn, ctx, 0, 0};
    int rc = s->b->run(s->b, st, params, fn ? trampoline : NULL, &t, err);
    if (rc < 0 && !t.failed && what && err) {
        char msg[sizeof err->message];
        memcpy(msg, err->message, sizeof msg);
        rc = acre_error_set(err, rc, NULL, "store", "%s: %s", what, msg);
    }
    return rc;
}

int acre_store_run_sets(acre_store *s, acre_stmt *st, const acre_value *params, int stride,
                        long nsets, long *set, acre_row_fn fn, void *ctx, const char *what,
                        acre_error *err)
{
    tramp t = {fn, ctx, 0, 0};
    int rc = 0;
    if (s->b->run_sets)
        rc = s->b->run_sets(s->b, st, params, stride, nsets, set, fn ? trampoline : NULL, &t, err);
    else
        for (*set = 0; *set < nsets && !rc && !t.stopped; ++*set)
            rc = s->b->run(s->b, st, params + (size_t)*set * (size_t)stride, fn ? trampoline : NULL,
                           &t, err);
    if (rc < 0 && !t.failed && what && err) {
        char msg[sizeof err->message];
        memcpy(msg, err->message, sizeof msg);
        rc = acre_error_set(err, rc, NULL, "store", "%s: %s", what, msg);
    }
    return rc;
}

void acre_store_done(acre_store *s, acre_stmt *st)
{
    s->b->finalize(s->b, st);
}

int acre_store_query(acre_store *s, const acre_query *q, const acre_value *params, acre_row_fn fn,
                     void *ctx, const char *what, acre_error *err)
{
    acre_stmt *st;
    int rc = acre_store_stmt(s, q, &st, err);
    if (rc)
        return rc;
    rc = acre_store_run(s, st, params, fn, ctx, what, err);
    acre_store_done(s, st);
    return rc;
}

static int one_int(void *ctx, const acre_value *row, int n, acre_error *err)
{
    (void)n;
    (void)err;
    if (row[0].type == ACRE_VAL_INT)
        *(long long *)ctx = row[0].i;
    return 1;
}

int acre_store_int(acre_store *s, const acre_query *q, const acre_value *params, long long *v,
                   const char *what, acre_error *err)
{
    return acre_store_query(s, q, params, one_int, v, what, err);
}

static const acre_query q_counter = {ACRE_Q_SELECT, "counter", {"value"}, {{"name", ACRE_EQ}},
                                     {NULL},        0,         0};
static const acre_query q_set_counter = {ACRE_Q_UPDATE, "counter", {"value"}, {{"name", ACRE_EQ}},
                                         {NULL},        0,         0};

int acre_store_seq(acre_store *s, long long *seq, acre_error *err)
{
    acre_value p = acre_val_text("seq");
    *seq = -1;
    int rc = acre_store_int(s, &q_counter, &p, seq, "reading the sequence counter", err);
    if (!rc && *seq < 0)
        rc = acre_error_set(err, ACRE_EIO, NULL, "store", "the sequence counter is missing");
    return rc;
}

int acre_store_counter(acre_store *s, const char *name, long long *v, acre_error *err)
{
    acre_value p = acre_val_text(name);
    return acre_store_int(s, &q_counter, &p, v, "reading the store's counters", err);
}

int acre_store_set_seq(acre_store *s, long long seq, acre_error *err)
{
    acre_value p[2] = {acre_val_int(seq), acre_val_text("seq")};
    return acre_store_query(s, &q_set_counter, p, NULL, NULL, "advancing the sequence counter",
                            err);
}

int acre_store_parallel(const acre_store *s)
{
    return s->b->reader != NULL;
}

int acre_store_reader(acre_store *s, acre_store **out, acre_error *err)
{
    acre_store_backend *r;
    int rc;
    *out = NULL;
    if (!s->b->reader)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "this store has no readers");
    if ((rc = s->b->reader(s->b, &r, err)))
        return rc;
    return acre_store_open_backend(out, r, err);
}

int acre_store_check(acre_store *s, void (*fn)(void *ctx, const char *problem), void *ctx,
                     acre_error *err)
{
    return s->b->check ? s->b->check(s->b, fn, ctx, err) : 0;
}

int acre_store_backup(acre_store *s, const char *dest, acre_error *err)
{
    if (!s->b->backup)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "backup",
                              "backup: the %s store cannot be backed up by acre; use its own tools",
                              s->b->name);
    return s->b->backup(s->b, dest, err);
}

/* ---- what the store holds ---- */

const char *acre_kind_name(int i)
{
    for (int k = 0; acre_kinds[k]; k++)
        if (k == i)
            return acre_kinds[k]->name;
    return NULL;
}

/* Counting one kind: keys whose newest version belongs to it (the two customer and transaction
 * kinds share a table, told apart by vertical), and its versions. Rows come in key order, each
 * key's versions together, the newest last. */
typedef struct counting {
    const acre_kind *k;
    int vcol; /* the vertical's position in the row, or -1 */
    long records, versions;
    acre_buf last; /* the key of the previous row */
    int last_mine; /* whether the previous row (so far the newest of its key) was this kind's */
    int oom;
} counting;

static int mine(const counting *c, const acre_value *row)
{
    return c->vcol < 0 ||
           (row[c->vcol].type == ACRE_VAL_TEXT && strcmp(row[c->vcol].s, c->k->vertical) == 0);
}

static int count_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    counting *c = ctx;
    acre_buf key = {0};
    (void)n;
    for (int i = 0; i < c->k->nkey; i++) {
        if (row[i].type == ACRE_VAL_INT)
            acre_buf_printf(&key, "%lld", row[i].i);
        else if (row[i].type == ACRE_VAL_TEXT)
            acre_buf_add(&key, row[i].s, row[i].n);
        acre_buf_add(&key, "\x1f", 1);
    }
    if (key.oom) {
        acre_buf_free(&key);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    if (c->last.len != key.len || memcmp(c->last.p, key.p, key.len) != 0) {
        c->records += c->last_mine && c->last.len;
        c->last.len = 0;
        acre_buf_add(&c->last, key.p, key.len);
    }
    acre_buf_free(&key);
    if (c->last.oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    c->last_mine = mine(c, row);
    c->versions += c->last_mine;
    return 0;
}

int acre_store_counts(acre_store *s, acre_kind_count *counts, int cap, acre_error *err)
{
    int n = 0;
    for (int i = 0; acre_kinds[i] && n < cap; i++) {
        const acre_kind *k = acre_kinds[i];
        counting c = {k, -1, 0, 0, {0}, 0, 0};
        acre_query q = {ACRE_Q_SELECT, k->table, {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
        int rc, nc = 0;
        for (int j = 0; j < k->nkey; j++)
            q.cols[nc++] = k->cols[j].name;
        if (k->vertical) {
            c.vcol = nc;
            q.cols[nc++] = "vertical";
        }
        q.cols[nc++] = "seq";
        rc = acre_store_query(s, &q, NULL, count_row, &c, "counting records", err);
        c.records += c.last_mine && c.last.len;
        acre_buf_free(&c.last);
        if (rc)
            return rc;
        counts[n].kind = k->name;
        counts[n].records = c.records;
        counts[n].versions = c.versions;
        n++;
    }
    return n;
}

static const acre_query q_batches = {ACRE_Q_SELECT,
                                     "ingest_batch",
                                     {"batch", "kind", "source", "sha256", "received", "inserted",
                                      "updated", "unchanged", "rejected", NULL},
                                     {{NULL, 0}},
                                     {NULL},
                                     0,
                                     0};

typedef struct batches {
    int (*fn)(void *ctx, const acre_batch *b);
    void *ctx;
} batches;

static int batch_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    batches *x = ctx;
    acre_batch b;
    (void)n;
    (void)err;
    memset(&b, 0, sizeof b);
    b.batch = row[0].i;
    snprintf(b.kind, sizeof b.kind, "%s", row[1].s ? row[1].s : "");
    snprintf(b.source, sizeof b.source, "%s", row[2].s ? row[2].s : "");
    snprintf(b.sha256, sizeof b.sha256, "%s", row[3].s ? row[3].s : "");
    b.received = row[4].i;
    b.inserted = row[5].i;
    b.updated = row[6].i;
    b.unchanged = row[7].i;
    b.rejected = row[8].i;
    return x->fn(x->ctx, &b) ? 1 : 0;
}

int acre_store_batches(acre_store *s, int (*fn)(void *ctx, const acre_batch *b), void *ctx,
                       acre_error *err)
{
    batches x = {fn, ctx};
    return acre_store_query(s, &q_batches, NULL, batch_row, &x, "reading batches", err);
}

static const acre_query q_closes = {ACRE_Q_SELECT,
                                    "close",
                                    {"period_text", "digest", "previous_digest", "seq", NULL},
                                    {{NULL, 0}},
                                    {"period", NULL},
                                    0,
                                    0};

typedef struct closes {
    int (*fn)(void *ctx, const acre_closed *c);
    void *ctx;
} closes;

static int close_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    closes *x = ctx;
    acre_closed c;
    (void)n;
    (void)err;
    memset(&c, 0, sizeof c);
    snprintf(c.period, sizeof c.period, "%s", row[0].s ? row[0].s : "");
    snprintf(c.digest, sizeof c.digest, "%s", row[1].s ? row[1].s : "");
    snprintf(c.previous_digest, sizeof c.previous_digest, "%s", row[2].s ? row[2].s : "");
    c.seq = row[3].i;
    return x->fn(x->ctx, &c) ? 1 : 0;
}

int acre_store_closes(acre_store *s, int (*fn)(void *ctx, const acre_closed *c), void *ctx,
                      acre_error *err)
{
    closes x = {fn, ctx};
    return acre_store_query(s, &q_closes, NULL, close_row, &x, "reading the closes", err);
}

/* ---- a query's rows, kept ---- */

static int keep(void *ctx, const acre_value *row, int n, acre_error *err)
{
    acre_rows *r = ctx;
    size_t base;
    if (r->n == r->cap) {
        long cap = r->cap ? r->cap * 2 : 32;
        acre_value *v = acre_realloc(r->v, (size_t)cap * (size_t)n * sizeof *v);
        if (!v)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        r->v = v;
        r->cap = cap;
    }
    r->ncol = n;
    base = (size_t)r->n * (size_t)n;
    for (int i = 0; i < n; i++) {
        acre_value *v = &r->v[base + (size_t)i];
        *v = row[i];
        if (row[i].type == ACRE_VAL_TEXT) {
            /* an offset into text until the end, when the buffer no longer moves */
            v->s = (const char *)(uintptr_t)r->text.len;
            acre_buf_add(&r->text, row[i].s, row[i].n + 1);
        }
    }
    if (r->text.oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    r->n++;
    return 0;
}

/* Points the kept texts at `text` once it no longer moves. */
static void settle(acre_rows *r)
{
    for (long i = 0; i < r->n * r->ncol; i++)
        if (r->v[i].type == ACRE_VAL_TEXT)
            r->v[i].s = r->text.p + (uintptr_t)r->v[i].s;
}

int acre_store_rows(acre_store *s, const acre_query *q, const acre_value *params, acre_rows *r,
                    const char *what, acre_error *err)
{
    int rc;
    memset(r, 0, sizeof *r);
    if ((rc = acre_store_query(s, q, params, keep, r, what, err))) {
        acre_rows_free(r);
        return rc;
    }
    settle(r);
    return 0;
}

int acre_store_rows_stmt(acre_store *s, acre_stmt *st, const acre_value *params, acre_rows *r,
                         const char *what, acre_error *err)
{
    int rc;
    memset(r, 0, sizeof *r);
    if ((rc = acre_store_run(s, st, params, keep, r, what, err))) {
        acre_rows_free(r);
        return rc;
    }
    settle(r);
    return 0;
}

void acre_rows_free(acre_rows *r)
{
    free(r->v);
    acre_buf_free(&r->text);
    memset(r, 0, sizeof *r);
}
