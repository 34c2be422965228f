/* engine/store_sqlite.c — the SQLite backend (include/acre/sys/store.h): opening a file,
 * transactions and the commit guard, reader handles for other threads, quick_check, the online
 * backup. Its queries are in store_sqlite_query.c, its schema in store_sqlite_schema.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "store_int.h"
#include "store_sqlite.h"

#define BUSY_TIMEOUT_MS 30000

int acre_sqlite_fail(sqlite3 *db, const char *what, acre_error *err)
{
    int nomem = db && sqlite3_errcode(db) == SQLITE_NOMEM;
    const char *msg = db ? sqlite3_errmsg(db) : "no store";
    if (!what)
        return acre_error_set(err, nomem ? ACRE_ENOMEM : ACRE_EIO, NULL, "store", "%s", msg);
    return acre_error_set(err, nomem ? ACRE_ENOMEM : ACRE_EIO, NULL, "store", "%s: %s", what, msg);
}

int acre_sqlite_exec(sqlite3 *db, const char *sql, acre_error *err)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return acre_sqlite_fail(db, "preparing a statement", err);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_sqlite_fail(db, sql, err);
    return 0;
}

static int begin(acre_store_backend *b, int write, acre_error *err)
{
    return acre_sqlite_exec(((sqlite_backend *)b)->db, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

static int commit(acre_store_backend *b, acre_error *err)
{
    sqlite_backend *sb = (sqlite_backend *)b;
    int rc;
    /* SQLite may roll a transaction back by itself after an error (SQLITE_NOMEM, SQLITE_FULL) */
    if (sqlite3_get_autocommit(sb->db))
        return acre_error_set(err, ACRE_EIO, NULL, "store",
                              "SQLite rolled the transaction back after an error; nothing of it "
                              "was written");
    sb->committing = 1;
    rc = acre_sqlite_exec(sb->db, "COMMIT", err);
    sb->committing = 0;
    return rc;
}

static void rollback(acre_store_backend *b)
{
    sqlite_backend *sb = (sqlite_backend *)b;
    if (!sqlite3_get_autocommit(sb->db))
        sqlite3_exec(sb->db, "ROLLBACK", NULL, NULL, NULL);
}

static int savepoint(acre_store_backend *b, int op, acre_error *err)
{
    sqlite3 *db = ((sqlite_backend *)b)->db;
    int rc;
    if (op == ACRE_SAVEPOINT)
        return acre_sqlite_exec(db, "SAVEPOINT acre_batch", err);
    if (op == ACRE_SAVEPOINT_RELEASE)
        return acre_sqlite_exec(db, "RELEASE acre_batch", err);
    if ((rc = acre_sqlite_exec(db, "ROLLBACK TO acre_batch", err)))
        return rc;
    return acre_sqlite_exec(db, "RELEASE acre_batch", err);
}

/* SQLite's commit hook: refuses every commit but commit()'s. If SQLite rolled a transaction
 * back by itself after an error and the caller went on, each later write would commit alone
 * and leave the store half-written; with this guard each fails instead. */
static int commit_guard(void *arg)
{
    const sqlite_backend *sb = arg;
    return !sb->committing;
}

const char *acre_sqlite_version(void)
{
    return sqlite3_libversion();
}

static void backend_free(acre_store_backend *b)
{
    sqlite_backend *sb = (sqlite_backend *)b;
    if (!sb)
        return;
    acre_sqlite_uncache(sb);
    sqlite3_close(sb->db);
    free(sb);
}

/* SQLite running out of memory in quick_check is a row ("… error code=7"), not corruption. */
static int memory_row(const char *t)
{
    for (const char *p = t; (p = strstr(p, "error code=7")); p++)
        if (p[12] < '0' || p[12] > '9')
            return 1;
    return 0;
}

/* quick_check: each problem it names (a zeroed or torn page, a broken b-tree) is one. */
static int check(acre_store_backend *b, void (*fn)(void *ctx, const char *problem), void *ctx,
                 acre_error *err)
{
    sqlite3 *db = ((sqlite_backend *)b)->db;
    sqlite3_stmt *st;
    int rc;
    /* its temporary b-trees are in memory (temp_store, set when the store is opened) */
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
        if (sqlite3_errcode(db) == SQLITE_NOMEM) /* its message may name a temporary file */
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                                  "out of memory: checking the store");
        fn(ctx, sqlite3_errmsg(db));
        return 0;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") == 0)
            continue;
        if (!t || strcmp(t, "out of memory") == 0 || memory_row(t)) {
            sqlite3_finalize(st);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        /* one report may hold several lines ("*** in database main ***\nPage 12: …") */
        for (const char *e; *t; t = *e ? e + 1 : e) {
            char line[512];
            e = t + strcspn(t, "\n");
            if (e > t && strncmp(t, "*** in database", 15) != 0) {
                snprintf(line, sizeof line, "%.*s", (int)(e - t), t);
                fn(ctx, line);
            }
        }
    }
    if (rc != SQLITE_DONE) {
        if (rc == SQLITE_NOMEM) {
            sqlite3_finalize(st);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        fn(ctx, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return 0;
}

static void remove_copy(const char *dest)
{
    const char *suffix[] = {"", "-journal", "-wal", "-shm"};
    char p[4096];
    for (int k = 0; k < 4; k++)
        if (snprintf(p, sizeof p, "%s%s", dest, suffix[k]) < (int)sizeof p)
            unlink(p);
}

/* SQLite's online backup: other processes may write the store meanwhile. */
static int backup(acre_store_backend *bk, const char *dest, acre_error *err)
{
    sqlite3 *to = NULL;
    sqlite3_backup *b;
    int fd, rc, tries = 0;

    if (!dest[0] || strcmp(dest, ":memory:") == 0)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "backup", "backup: name a new file");
    /* the copy holds the same personal data as the store: 0600 whatever the umask */
    fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return acre_error_set(err, errno == EEXIST ? ACRE_EUSAGE : ACRE_EIO, NULL, "backup",
                              errno == EEXIST ? "backup: %s exists: a backup is written to a new "
                                                "file, never over one"
                                              : "backup: cannot create %s: %s",
                              dest, strerror(errno));
    if (fchmod(fd, 0600)) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: %s: %s", dest, strerror(errno));
        close(fd);
        remove_copy(dest);
        return rc;
    }
    close(fd);
    if (sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: opening %s: %s", dest,
                            to ? sqlite3_errmsg(to) : "out of memory");
        goto out;
    }
    if (!(b = sqlite3_backup_init(to, "main", ((sqlite_backend *)bk)->db, "main"))) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: %s: %s", dest,
                            sqlite3_errmsg(to));
        goto out;
    }
    /* all pages in one step: one read transaction, so one snapshot (a writer waits on no one) */
    while (((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
           ++tries < 600)
        sqlite3_sleep(50); /* at most 30 s, the store's busy timeout */
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        rc = acre_error_set(err, rc == SQLITE_NOMEM ? ACRE_ENOMEM : ACRE_EIO, NULL, "backup",
                            "backup: copying the store to %s: %s", dest, sqlite3_errstr(rc));
        goto out;
    }
    rc = 0;
out:
    if (to && sqlite3_close(to) != SQLITE_OK && !rc)
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: closing %s", dest);
    if (rc)
        remove_copy(dest);
    return rc;
}

static sqlite_backend *new_backend(void)
{
    sqlite_backend *sb = acre_calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->parent.version = ACRE_STORE_BACKEND_VERSION;
    sb->parent.name = "sqlite";
    sb->parent.begin = begin;
    sb->parent.commit = commit;
    sb->parent.rollback = rollback;
    sb->parent.savepoint = savepoint;
    sb->parent.prepare = acre_sqlite_prepare;
    sb->parent.run = acre_sqlite_run;
    sb->parent.finalize = acre_sqlite_finalize;
    sb->parent.check = check;
    sb->parent.backup = backup;
    sb->parent.free = backend_free;
    return sb;
}

/* A read-only connection on the same file, for a reader thread. */
static int reader(acre_store_backend *b, acre_store_backend **out, acre_error *err)
{
    const char *path = sqlite3_db_filename(((sqlite_backend *)b)->db, "main");
    sqlite_backend *r;
    *out = NULL;
    if (!(r = new_backend()))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    r->reader = 1;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        int rc = acre_sqlite_fail(r->db, "opening a reader", err);
        backend_free(&r->parent);
        return rc;
    }
    sqlite3_busy_timeout(r->db, 10000);
    *out = &r->parent;
    return 0;
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

int acre_sqlite_backend(acre_store_backend **out, const char *path, acre_error *err)
{
    sqlite_backend *sb = new_backend();
    int rc;

    *out = NULL;
    if (!sb)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (create_private(path) < 0) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "store", "creating the store %s: %s", path,
                            strerror(errno));
        free(sb);
        return rc;
    }
    /* one thread uses a handle at a time (a reader thread gets its own: reader()) */
    if (sqlite3_open_v2(path, &sb->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "store", "opening the store %s: %s", path,
                            sb->db ? sqlite3_errmsg(sb->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(sb->db, BUSY_TIMEOUT_MS);
    if ((rc = acre_sqlite_schema(sb->db, path, err)))
        goto fail;
    sqlite3_commit_hook(sb->db, commit_guard, sb);
    {
        const char *file = sqlite3_db_filename(sb->db, "main");
        if (file && file[0]) /* in memory, a second connection would see another database */
            sb->parent.reader = reader;
    }
    *out = &sb->parent;
    return 0;
fail:
    backend_free(&sb->parent);
    return rc;
}

sqlite3 *acre_sqlite_db(acre_store *s)
{
    return s && s->b && strcmp(s->b->name, "sqlite") == 0 ? ((sqlite_backend *)s->b)->db : NULL;
}

/* ---- the failing allocator's hook (engine/alloc.c) ---- */

static sqlite3_mem_methods sqlite_orig;
static int (*sqlite_fails)(void);

static void *sqlite_malloc(int n)
{
    return sqlite_fails() ? NULL : sqlite_orig.xMalloc(n);
}

static void *sqlite_realloc(void *p, int n)
{
    return sqlite_fails() ? NULL : sqlite_orig.xRealloc(p, n);
}

int acre_sqlite_fail_with(int (*fails)(void))
{
    sqlite3_mem_methods m;
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_orig) != SQLITE_OK)
        return ACRE_ERROR;
    m = sqlite_orig;
    m.xMalloc = sqlite_malloc;
    m.xRealloc = sqlite_realloc;
    sqlite_fails = fails;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        return ACRE_ERROR;
    return 0;
}
