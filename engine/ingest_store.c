/* engine/ingest_store.c — the SQL of an ingest: a kind's versions, references, the batch row.
 *
 * Statements are built from the kind's row (table and column names from acre's own table,
 * never from input) and every value is bound. A kind's versions are rows keyed by its key and
 * `seq`; the current version of a key is its row with the highest seq (engine/store.c). */
#include "ingest_store.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "jsonval.h"
#include "store_int.h"

struct acre_istore {
    acre_store *s;
    const acre_kind *k;
    sqlite3_stmt *current, *insert, *prefix; /* prefix: prepared on first use, for prefix_n */
    int prefix_n;
    sqlite3_stmt *exists[ACRE_MAX_REFS];
};

static void bind_cell(sqlite3_stmt *st, int i, const acre_cell *c)
{
    if (c->t == CELL_TEXT)
        sqlite3_bind_text(st, i, c->s, (int)c->len, SQLITE_STATIC);
    else if (c->t == CELL_INT)
        sqlite3_bind_int64(st, i, c->i);
    else
        sqlite3_bind_null(st, i);
}

/* The current row of st as cells (after acre_store_row: reading a text does not allocate). */
static void read_row(sqlite3_stmt *st, int n, acre_cell *row)
{
    for (int i = 0; i < n; i++) {
        acre_cell *c = &row[i];
        int t = sqlite3_column_type(st, i);
        memset(c, 0, sizeof *c);
        if (t == SQLITE_NULL)
            continue;
        if (t == SQLITE_INTEGER) {
            c->t = CELL_INT;
            c->i = sqlite3_column_int64(st, i);
            continue;
        }
        c->t = t == SQLITE_TEXT ? CELL_TEXT : CELL_OTHER;
        c->s = (const char *)sqlite3_column_text(st, i);
        c->len = c->s ? (size_t)sqlite3_column_bytes(st, i) : 0;
    }
}

static void select_cols(acre_buf *sql, const acre_kind *k)
{
    acre_buf_adds(sql, "SELECT ");
    for (int i = 0; i < k->ncols; i++)
        acre_buf_printf(sql, "%s%s", i ? ", " : "", k->cols[i].name);
}

static int prepare(acre_istore *is, sqlite3_stmt **st, acre_buf *sql, acre_error *err)
{
    if (sql->oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return acre_store_prepare(is->s, st, sql->p, err);
}

int acre_istore_open(acre_istore **out, acre_store *s, const acre_kind *k, acre_error *err)
{
    acre_istore *is = acre_calloc(1, sizeof *is);
    acre_buf sql = {0};
    int rc;

    *out = NULL;
    if (!is)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    is->s = s;
    is->k = k;
    if ((rc = acre_store_begin(s, err))) {
        free(is);
        return rc;
    }
    select_cols(&sql, k);
    acre_buf_printf(&sql, " FROM %s WHERE ", k->table);
    for (int i = 0; i < k->nkey; i++)
        acre_buf_printf(&sql, "%s%s = ?%d", i ? " AND " : "", k->cols[i].name, i + 1);
    acre_buf_adds(&sql, " ORDER BY seq DESC LIMIT 1");
    if ((rc = prepare(is, &is->current, &sql, err)))
        goto out;

    acre_buf_reset(&sql);
    acre_buf_printf(&sql, "INSERT INTO %s(", k->table);
    for (int i = 0; i < k->ncols; i++)
        acre_buf_printf(&sql, "%s, ", k->cols[i].name);
    acre_buf_adds(&sql, "seq, batch) VALUES(");
    for (int i = 0; i < k->ncols + 2; i++)
        acre_buf_printf(&sql, "%s?%d", i ? ", " : "", i + 1);
    acre_buf_adds(&sql, ")");
    if ((rc = prepare(is, &is->insert, &sql, err)))
        goto out;

    for (int i = 0; i < k->nrefs && i < ACRE_MAX_REFS; i++) {
        const acre_kind *to = k->refs[i].kind;
        acre_buf_reset(&sql);
        acre_buf_printf(&sql, "SELECT 1 FROM %s WHERE %s = ?1 LIMIT 1", to->table,
                        to->cols[0].name);
        if ((rc = prepare(is, &is->exists[i], &sql, err)))
            goto out;
    }
out:
    acre_buf_free(&sql);
    if (rc)
        acre_istore_abort(is);
    else
        *out = is;
    return rc;
}

static void finalize(acre_istore *is)
{
    sqlite3_finalize(is->current);
    sqlite3_finalize(is->insert);
    sqlite3_finalize(is->prefix);
    for (int i = 0; i < ACRE_MAX_REFS; i++)
        sqlite3_finalize(is->exists[i]);
}

int acre_istore_commit(acre_istore *is, acre_error *err)
{
    int rc;
    finalize(is); /* no statement open across the commit */
    if ((rc = acre_store_commit(is->s, err)))
        acre_store_rollback(is->s);
    free(is);
    return rc;
}

void acre_istore_abort(acre_istore *is)
{
    if (!is)
        return;
    finalize(is);
    acre_store_rollback(is->s);
    free(is);
}

int acre_istore_current(acre_istore *is, const acre_cell *key, acre_cell *row, const char *what,
                        acre_error *err)
{
    sqlite3_stmt *st = is->current;
    int rc, bad;

    sqlite3_reset(st);
    for (int i = 0; i < is->k->nkey; i++)
        bind_cell(st, i + 1, &key[i]);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && (bad = acre_store_row(is->s, st, err)))
        return bad;
    if (rc == SQLITE_ROW) {
        read_row(st, is->k->ncols, row);
        return 1;
    }
    if (rc != SQLITE_DONE)
        return acre_store_fail(is->s, what, err);
    return 0;
}

int acre_istore_each_current(acre_istore *is, int n, const acre_cell *key, acre_istore_row_fn fn,
                             void *ctx, const char *what, acre_error *err)
{
    const acre_kind *k = is->k;
    acre_cell row[ACRE_MAX_COLS];
    int rc;

    if (is->prefix && is->prefix_n != n) {
        sqlite3_finalize(is->prefix);
        is->prefix = NULL;
    }
    if (!is->prefix) {
        acre_buf sql = {0};
        select_cols(&sql, k);
        acre_buf_printf(&sql, " FROM %s AS a WHERE ", k->table);
        for (int i = 0; i < n; i++)
            acre_buf_printf(&sql, "%s = ?%d AND ", k->cols[i].name, i + 1);
        acre_buf_printf(&sql, "seq = (SELECT max(seq) FROM %s AS b WHERE ", k->table);
        for (int i = 0; i < k->nkey; i++)
            acre_buf_printf(&sql, "%sb.%s = a.%s", i ? " AND " : "", k->cols[i].name,
                            k->cols[i].name);
        acre_buf_adds(&sql, ")");
        rc = prepare(is, &is->prefix, &sql, err);
        acre_buf_free(&sql);
        if (rc)
            return rc;
        is->prefix_n = n;
    }
    sqlite3_reset(is->prefix);
    for (int i = 0; i < n; i++)
        bind_cell(is->prefix, i + 1, &key[i]);
    while ((rc = sqlite3_step(is->prefix)) == SQLITE_ROW) {
        int stop;
        if ((stop = acre_store_row(is->s, is->prefix, err)))
            return stop;
        read_row(is->prefix, k->ncols, row);
        if ((stop = fn(ctx, row)))
            return stop;
    }
    if (rc != SQLITE_DONE)
        return acre_store_fail(is->s, what, err);
    return 0;
}

int acre_istore_insert(acre_istore *is, const acre_cell *cells, long long seq, long long batch,
                       acre_error *err)
{
    sqlite3_stmt *st = is->insert;
    int n = is->k->ncols;

    sqlite3_reset(st);
    for (int i = 0; i < n; i++)
        bind_cell(st, i + 1, &cells[i]);
    sqlite3_bind_int64(st, n + 1, seq);
    sqlite3_bind_int64(st, n + 2, batch);
    if (sqlite3_step(st) != SQLITE_DONE)
        return acre_store_fail(is->s, "storing a record", err);
    return 0;
}

int acre_istore_exists(acre_istore *is, int ref, const acre_cell *id, acre_error *err)
{
    sqlite3_stmt *st = is->exists[ref];
    int rc;

    sqlite3_reset(st);
    bind_cell(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        return acre_store_fail(is->s, "looking up a reference", err);
    return 0;
}

int acre_istore_batch_start(acre_istore *is, const char *source, const char *stored_at,
                            long long *seq, long long *batch, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(is->s, &st, "SELECT value FROM counter WHERE name = 'seq'", err);
    if (rc)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return acre_store_fail(is->s, "reading the sequence counter", err);
    }
    *seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    rc = acre_store_prepare(is->s, &st,
                            "INSERT INTO ingest_batch(kind, source, sha256, received, inserted, "
                            "updated, unchanged, rejected, stored_at) "
                            "VALUES(?1, ?2, '', 0, 0, 0, 0, 0, ?3)",
                            err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, is->k->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    if (stored_at)
        sqlite3_bind_text(st, 3, stored_at, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(is->s, "recording the batch", err);
    *batch = sqlite3_last_insert_rowid(is->s->db);
    return 0;
}

int acre_istore_batch_finish(acre_istore *is, long long batch, const char *sha,
                             const acre_ingest_summary *sum, long long first_seq,
                             long long last_seq, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(is->s, &st,
                                "UPDATE ingest_batch SET sha256 = ?1, received = ?2, inserted = "
                                "?3, updated = ?4, unchanged = ?5, rejected = ?6, first_seq = "
                                "?7, last_seq = ?8 WHERE batch = ?9",
                                err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, sum->received);
    sqlite3_bind_int64(st, 3, sum->inserted);
    sqlite3_bind_int64(st, 4, sum->updated);
    sqlite3_bind_int64(st, 5, sum->unchanged);
    sqlite3_bind_int64(st, 6, sum->rejected);
    if (last_seq >= first_seq) {
        sqlite3_bind_int64(st, 7, first_seq);
        sqlite3_bind_int64(st, 8, last_seq);
    }
    sqlite3_bind_int64(st, 9, batch);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(is->s, "recording the batch", err);
    if ((rc = acre_store_prepare(is->s, &st, "UPDATE counter SET value = ?1 WHERE name = 'seq'",
                                 err)))
        return rc;
    sqlite3_bind_int64(st, 1, last_seq);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(is->s, "advancing the sequence counter", err);
    return 0;
}

int acre_istore_resent(acre_istore *is, const char *sha, long long batch, const char *source,
                       acre_error *err)
{
    const char *kind = is->k->name;
    sqlite3_stmt *st;
    int rc = acre_store_prepare(is->s, &st,
                                "SELECT batch, source, stored_at FROM ingest_batch WHERE kind = "
                                "?1 AND sha256 = ?2 AND batch <> ?3 ORDER BY batch LIMIT 1",
                                err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, batch);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rc = 0;
    } else if (rc != SQLITE_ROW) {
        rc = acre_store_fail(is->s, "looking for an earlier batch", err);
    } else if (!(rc = acre_store_row(is->s, st, err))) {
        const char *at = (const char *)sqlite3_column_text(st, 2);
        rc = acre_error_set(err, ACRE_EREJECTED, NULL, "resent",
                            "%s: the same bytes (sha256 %.12s) were already ingested as %s "
                            "batch %lld (%.200s) %s%.40s; sending a file again would roll later "
                            "updates back, so nothing of it is stored (--again ingests it "
                            "anyway)",
                            source, sha, kind, (long long)sqlite3_column_int64(st, 0),
                            (const char *)sqlite3_column_text(st, 1),
                            at ? "at " : "at an unknown time", at ? at : "");
    }
    sqlite3_finalize(st);
    return rc;
}
