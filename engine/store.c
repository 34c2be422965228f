/* engine/store.c — opening the store, its schema, and what it holds.
 *
 * Every record kind has a table whose primary key is the record's key followed by `seq`, the
 * ingest sequence number: each version of a record is a row, nothing is updated in place, and
 * the current version of a key is its row with the highest seq. `batch` names the ingested file
 * (table ingest_batch) that brought the version. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "jsonval.h"
#include "record.h"
#include "store_int.h"

#define BUSY_TIMEOUT_MS 30000

int acre_store_fail(acre_store *s, const char *what, acre_error *err)
{
    int nomem = s && s->db && sqlite3_errcode(s->db) == SQLITE_NOMEM;
    return acre_error_set(err, nomem ? ACRE_ENOMEM : ACRE_EIO, NULL, "store", "%s: %s", what,
                          s && s->db ? sqlite3_errmsg(s->db) : "no store");
}

int acre_store_row(acre_store *s, sqlite3_stmt *st, acre_error *err)
{
    for (int i = 0, n = sqlite3_column_count(st); i < n; i++)
        if (sqlite3_column_type(st, i) == SQLITE_TEXT && !sqlite3_column_text(st, i))
            return acre_store_fail(s, "reading a row", err);
    return 0;
}

int acre_store_prepare(acre_store *s, sqlite3_stmt **st, const char *sql, acre_error *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return acre_store_fail(s, "preparing a statement", err);
    }
    return 0;
}

int acre_store_exec(acre_store *s, const char *sql, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(s, sql, err);
    return 0;
}

int acre_store_begin(acre_store *s, acre_error *err)
{
    return acre_store_exec(s, "BEGIN IMMEDIATE", err);
}

int acre_store_commit(acre_store *s, acre_error *err)
{
    int rc;
    /* SQLite may roll a transaction back by itself after an error (SQLITE_NOMEM, SQLITE_FULL) */
    if (sqlite3_get_autocommit(s->db))
        return acre_error_set(err, ACRE_EIO, NULL, "store",
                              "SQLite rolled the transaction back after an error; nothing of it "
                              "was written");
    s->committing = 1;
    rc = acre_store_exec(s, "COMMIT", err);
    s->committing = 0;
    return rc;
}

/* SQLite's commit hook: refuses every commit but acre_store_commit's. If SQLite rolled a
 * transaction back by itself after an error and the caller went on, each later write would
 * commit alone and leave the store half-written; with this guard each fails instead. */
static int commit_guard(void *arg)
{
    const acre_store *s = arg;
    return !s->committing;
}

void acre_store_rollback(acre_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The DDL of one kind's table, from its column list. */
static void table_ddl(acre_buf *b, const acre_kind *k)
{
    acre_buf_printf(b, "CREATE TABLE %s(", k->table);
    for (int i = 0; i < k->ncols; i++) {
        const acre_field *f = &k->cols[i];
        int integer = f->type == T_INT_NN || f->type == T_VERSION;
        acre_buf_printf(b, "%s %s%s, ", f->name, integer ? "INTEGER" : "TEXT",
                        i < k->nkey ? " NOT NULL" : "");
    }
    acre_buf_adds(b, "seq INTEGER NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY(");
    for (int i = 0; i < k->nkey; i++)
        acre_buf_printf(b, "%s, ", k->cols[i].name);
    acre_buf_adds(b, "seq)) WITHOUT ROWID;\n");
}

static int create_schema(acre_store *s, acre_error *err)
{
    acre_buf b = {0};
    int rc;

    acre_buf_adds(&b, "BEGIN;\n"
                      "CREATE TABLE counter(name TEXT PRIMARY KEY, value INTEGER NOT NULL) "
                      "WITHOUT ROWID;\n"
                      "INSERT INTO counter VALUES('seq', 0);\n"
                      "CREATE TABLE ingest_batch(batch INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
                      "source TEXT NOT NULL, sha256 TEXT NOT NULL, received INTEGER NOT NULL, "
                      "inserted INTEGER NOT NULL, updated INTEGER NOT NULL, "
                      "unchanged INTEGER NOT NULL, rejected INTEGER NOT NULL, "
                      "first_seq INTEGER, last_seq INTEGER);\n");
    for (int i = 0; acre_kinds[i]; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= strcmp(acre_kinds[j]->table, acre_kinds[i]->table) == 0;
        if (!seen)
            table_ddl(&b, acre_kinds[i]);
    }
    acre_buf_adds(&b, "PRAGMA user_version = 1;\nCOMMIT;\n");
    if (b.oom) {
        acre_buf_free(&b);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    rc = sqlite3_exec(s->db, b.p, NULL, NULL, NULL);
    acre_buf_free(&b);
    if (rc != SQLITE_OK) {
        rc = acre_store_fail(s, "creating the schema", err);
        acre_store_rollback(s);
        return rc;
    }
    return 0;
}

static int user_version(acre_store *s, int *v, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st, "PRAGMA user_version", err);
    if (rc)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return acre_store_fail(s, "reading the schema version", err);
    }
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Brings a store of an older schema up to ACRE_SCHEMA_VERSION. Version 0 is a new file; each
 * later version adds a step here (run in one transaction each). */
/* Version 2: plans, closes and what each close leaves for the next (engine/close.c). */
static const char schema_v2[] =
    "BEGIN;\n"
    "CREATE TABLE plan(plan_id TEXT NOT NULL, version INTEGER NOT NULL, name TEXT, "
    "currency TEXT NOT NULL, body TEXT NOT NULL, sha256 TEXT NOT NULL, "
    "PRIMARY KEY(plan_id, version)) WITHOUT ROWID;\n"
    "CREATE TABLE close(period INTEGER PRIMARY KEY, period_text TEXT NOT NULL, "
    "seq INTEGER NOT NULL, ledger TEXT NOT NULL, digest TEXT NOT NULL, previous_digest TEXT);\n"
    "CREATE TABLE close_affiliate(period INTEGER NOT NULL, affiliate_id TEXT NOT NULL, plan TEXT, "
    "carried_forward TEXT NOT NULL, PRIMARY KEY(period, affiliate_id)) WITHOUT ROWID;\n"
    "CREATE TABLE close_layer(period INTEGER NOT NULL, affiliate_id TEXT NOT NULL, "
    "plan_id TEXT NOT NULL, plan TEXT NOT NULL, origin INTEGER NOT NULL, amount TEXT NOT NULL, "
    "PRIMARY KEY(period, affiliate_id, origin)) WITHOUT ROWID;\n"
    "CREATE TABLE close_excluded(period INTEGER NOT NULL, customer_id TEXT NOT NULL, "
    "PRIMARY KEY(period, customer_id)) WITHOUT ROWID;\n"
    "CREATE TABLE settled(customer_id TEXT PRIMARY KEY, period INTEGER NOT NULL, "
    "affiliate_id TEXT NOT NULL, plan TEXT NOT NULL, outcome TEXT NOT NULL, amount TEXT, "
    "qualified_at TEXT NOT NULL, qsec INTEGER NOT NULL, clawback_days INTEGER NOT NULL, "
    "clawed_period INTEGER) WITHOUT ROWID;\n"
    "CREATE TABLE counted(tbl TEXT NOT NULL, rkey TEXT NOT NULL, period INTEGER NOT NULL, "
    "seq INTEGER NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, "
    "PRIMARY KEY(tbl, rkey, period)) WITHOUT ROWID;\n"
    "PRAGMA user_version = 2;\n"
    "COMMIT;\n";

/* Version 3: when each batch was stored (SPEC 10 "Re-sent files"; NULL for batches stored
 * before, or by a caller that gave no time), and the index that finds a batch by its bytes. */
static const char schema_v3[] = "BEGIN;\n"
                                "ALTER TABLE ingest_batch ADD COLUMN stored_at TEXT;\n"
                                "CREATE INDEX ingest_batch_sha ON ingest_batch(kind, sha256);\n"
                                "PRAGMA user_version = 3;\n"
                                "COMMIT;\n";

/* Version 4: the sequence number at which each plan version was stored, so that a close
 * recomputed at an earlier watermark (simulate, audit --recompute) resolves "the newest
 * version" as that close did. Plans stored before have 0: as if stored before every close. */
static const char schema_v4[] = "BEGIN;\n"
                                "ALTER TABLE plan ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;\n"
                                "PRAGMA user_version = 4;\n"
                                "COMMIT;\n";

static int migrate(acre_store *s, int from, acre_error *err)
{
    int rc;
    if (from == 0 && (rc = create_schema(s, err)))
        return rc;
    if (from <= 1 && sqlite3_exec(s->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK) {
        rc = acre_store_fail(s, "migrating the store to schema version 2", err);
        acre_store_rollback(s);
        return rc;
    }
    if (from <= 2 && sqlite3_exec(s->db, schema_v3, NULL, NULL, NULL) != SQLITE_OK) {
        rc = acre_store_fail(s, "migrating the store to schema version 3", err);
        acre_store_rollback(s);
        return rc;
    }
    if (from <= 3 && sqlite3_exec(s->db, schema_v4, NULL, NULL, NULL) != SQLITE_OK) {
        rc = acre_store_fail(s, "migrating the store to schema version 4", err);
        acre_store_rollback(s);
        return rc;
    }
    return 0;
}

/* A file that SQLite opens but that is not an acre store (another program's database) is
 * refused before anything is written to it: no schema, no switch to WAL. Version 0 with tables
 * is such a file; so is a version acre wrote whose tables are not there. */
static int foreign_check(acre_store *s, const char *path, int v, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st,
                                v ? "SELECT count(*) = 2 FROM sqlite_master WHERE type = 'table' "
                                    "AND name IN ('counter', 'ingest_batch')"
                                  : "SELECT count(*) = 0 FROM sqlite_master",
                                err);
    if (rc)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return acre_store_fail(s, "reading the schema", err);
    }
    rc = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc)
        return 0;
    return acre_error_set(err, ACRE_EUSAGE, NULL, "foreign_store",
                          "%s is an SQLite database but not an acre store (%s); acre leaves it "
                          "as it is: name an acre store, or a new file, with --db",
                          path,
                          v ? "its schema version is acre's but acre's tables are missing"
                            : "it has tables and no acre schema");
}

/* Creates the store file 0600 whatever the umask (it holds personal data); SQLite gives its
 * -wal and -shm files the mode of the database. Returns 1 when it made the file, 0 when it
 * existed, -1 (errno set) when it could not be made. Names SQLite keeps in memory are left. */
static int create_private(const char *path)
{
    int fd;
    if (!path[0] || strcmp(path, ":memory:") == 0)
        return 0;
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    if (fchmod(fd, 0600)) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    close(fd);
    return 1;
}

int acre_store_open(acre_store **out, const char *path, acre_error *err)
{
    acre_store *s = acre_calloc(1, sizeof *s);
    int rc, v = 0;

    *out = NULL;
    if (!s)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (create_private(path) < 0) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "store", "creating the store %s: %s", path,
                            strerror(errno));
        free(s);
        return rc;
    }
    /* only one thread ever uses a store handle (ingest's reader thread never touches SQLite) */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "store", "opening the store %s: %s", path,
                            s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* the schema is read before anything is written: a foreign file stays as it is */
    if ((rc = user_version(s, &v, err))) {
        rc = acre_error_set(err, rc, NULL, "store", "opening the store %s: %s", path,
                            sqlite3_errmsg(s->db));
        goto fail;
    }
    if ((rc = foreign_check(s, path, v, err)))
        goto fail;
    /* WAL lets readers go on while a file is ingested; synchronous=FULL makes a committed file
     * survive a power cut (one sync per file, so it costs little). */
    if ((rc = acre_store_exec(s, "PRAGMA journal_mode=WAL", err)) ||
        (rc = acre_store_exec(s, "PRAGMA synchronous=FULL", err)) ||
        (rc = acre_store_exec(s, "PRAGMA cache_size=-65536", err)) ||
        (rc = acre_store_exec(s, "PRAGMA foreign_keys=OFF", err))) {
        /* say which file: "opening the store x.db: file is not a database" */
        rc = acre_error_set(err, rc, NULL, "store", "opening the store %s: %s", path,
                            sqlite3_errmsg(s->db));
        goto fail;
    }
    if (v > ACRE_SCHEMA_VERSION) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "schema_version",
                            "the store %s has schema version %d; this acre knows up to %d", path,
                            v, ACRE_SCHEMA_VERSION);
        goto fail;
    }
    if (v < ACRE_SCHEMA_VERSION && (rc = migrate(s, v, err)))
        goto fail;
    sqlite3_commit_hook(s->db, commit_guard, s);
    *out = s;
    return 0;
fail:
    acre_store_free(s);
    return rc;
}

void acre_store_free(acre_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

const char *acre_kind_name(int i)
{
    for (int k = 0; acre_kinds[k]; k++)
        if (k == i)
            return acre_kinds[k]->name;
    return NULL;
}

int acre_store_counts(acre_store *s, acre_kind_count *counts, int cap, acre_error *err)
{
    int n = 0;
    for (int i = 0; acre_kinds[i] && n < cap; i++) {
        const acre_kind *k = acre_kinds[i];
        acre_buf sql = {0};
        sqlite3_stmt *st;
        int rc;

        /* Records of this kind: keys whose newest version belongs to it (the two customer and
         * transaction kinds share a table, told apart by vertical). */
        acre_buf_adds(&sql, "SELECT count(*), (SELECT count(*) FROM ");
        acre_buf_adds(&sql, k->table);
        if (k->vertical)
            acre_buf_adds(&sql, " WHERE vertical = ?1");
        acre_buf_adds(&sql, ") FROM (SELECT ");
        acre_buf_adds(&sql, k->vertical ? "vertical" : "1");
        acre_buf_adds(&sql, " AS v, max(seq) FROM ");
        acre_buf_adds(&sql, k->table);
        acre_buf_adds(&sql, " GROUP BY ");
        for (int c = 0; c < k->nkey; c++)
            acre_buf_printf(&sql, "%s%s", c ? ", " : "", k->cols[c].name);
        acre_buf_adds(&sql, k->vertical ? ") WHERE v = ?1" : ")");
        if (sql.oom) {
            acre_buf_free(&sql);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        rc = acre_store_prepare(s, &st, sql.p, err);
        acre_buf_free(&sql);
        if (rc)
            return rc;
        if (k->vertical)
            sqlite3_bind_text(st, 1, k->vertical, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_finalize(st);
            return acre_store_fail(s, "counting records", err);
        }
        counts[n].kind = k->name;
        counts[n].records = sqlite3_column_int64(st, 0);
        counts[n].versions = sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        n++;
    }
    return n;
}

int acre_store_batches(acre_store *s, int (*fn)(void *ctx, const acre_batch *b), void *ctx,
                       acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st,
                                "SELECT batch, kind, source, sha256, received, inserted, "
                                "updated, unchanged, rejected FROM ingest_batch ORDER BY batch",
                                err);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        acre_batch b;
        int bad = acre_store_row(s, st, err);
        if (bad) {
            sqlite3_finalize(st);
            return bad;
        }
        memset(&b, 0, sizeof b);
        b.batch = sqlite3_column_int64(st, 0);
        snprintf(b.kind, sizeof b.kind, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(b.source, sizeof b.source, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(b.sha256, sizeof b.sha256, "%s", (const char *)sqlite3_column_text(st, 3));
        b.received = sqlite3_column_int64(st, 4);
        b.inserted = sqlite3_column_int64(st, 5);
        b.updated = sqlite3_column_int64(st, 6);
        b.unchanged = sqlite3_column_int64(st, 7);
        b.rejected = sqlite3_column_int64(st, 8);
        if (fn(ctx, &b))
            break;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return acre_store_fail(s, "reading batches", err);
    return 0;
}

/* *out = a private in-memory copy of s (SQLite's backup API), for simulate and audit
 * --recompute: its edits may commit one statement at a time, so the commit guard is off. */
int acre_store_copy_memory(acre_store **out, acre_store *s, acre_error *err)
{
    sqlite3_backup *b;
    int rc;
    if ((rc = acre_store_open(out, ":memory:", err)))
        return rc;
    sqlite3_commit_hook((*out)->db, NULL, NULL);
    if ((rc = acre_store_exec(*out, "PRAGMA temp_store = MEMORY", err)))
        goto fail;
    if (!(b = sqlite3_backup_init((*out)->db, "main", s->db, "main"))) {
        rc = acre_store_fail(*out, "copying the store", err);
        goto fail;
    }
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        rc = acre_error_set(err, ACRE_EIO, NULL, NULL, "copying the store: %s", sqlite3_errstr(rc));
        goto fail;
    }
    return 0;
fail:
    acre_store_free(*out);
    *out = NULL;
    return rc;
}
