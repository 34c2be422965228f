/* engine/store_legacy.c — TRANSITIONAL (engine/store_legacy.h): SQL on the SQLite backend's
 * connection for the files not yet behind the backend interface. */
#include <string.h>

#include "store_legacy.h"
#include "store_sqlite.h"

struct sqlite3 *acre_sqlite_db(acre_store_backend *b)
{
    return b && b->name && strcmp(b->name, "sqlite") == 0 ? ((sqlite_backend *)b)->db : NULL;
}

int acre_store_fail(acre_store *s, const char *what, acre_error *err)
{
    return acre_sqlite_fail(s ? s->db : NULL, what, err);
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
    if (!s->db) {
        *st = NULL;
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store",
                              "this needs a SQLite store (issue 17: not yet behind the backend "
                              "interface)");
    }
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return acre_store_fail(s, "preparing a statement", err);
    }
    return 0;
}

int acre_store_exec(acre_store *s, const char *sql, acre_error *err)
{
    if (!s->db)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "store", "this needs a SQLite store");
    return acre_sqlite_exec(s->db, sql, err);
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
    if (!s->db) {
        rc = acre_error_set(err, ACRE_EUSAGE, NULL, "store", "this needs a SQLite store");
        goto fail;
    }
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
