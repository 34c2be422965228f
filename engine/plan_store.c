/* engine/plan_store.c — plans in the store: add (strictly checked, immutable), list, show. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/plan.h"
#include "alloc.h"
#include "jsonval.h"
#include "digest.h"
#include "plan.h"
#include "store_int.h"

#define MAX_PLAN_FILE (16 << 20)

static char *slurp(FILE *f, size_t *n)
{
    size_t cap = 65536, len = 0;
    char *p = acre_malloc(cap);
    while (p) {
        size_t got = fread(p + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        if (cap >= MAX_PLAN_FILE) {
            free(p);
            *n = MAX_PLAN_FILE; /* too large, not out of memory */
            return NULL;
        }
        char *q = acre_realloc(p, cap * 2);
        if (!q) {
            free(p);
            return NULL;
        }
        p = q;
        cap *= 2;
    }
    *n = len;
    return p;
}

static int store_one(acre_store *s, const json_t *obj, const acre_numtab *t, long index,
                     const char *name, int *added, int *unchanged, acre_error *err)
{
    acre_plan *p = NULL;
    acre_buf body = {0};
    sqlite3_stmt *st = NULL;
    char sha[65];
    int rc;

    if ((rc = acre_plan_parse(&p, obj, t, err))) {
        char msg[sizeof err->message];
        if (rc == ACRE_ENOMEM)
            return rc;
        snprintf(msg, sizeof msg, "%s", err->message);
        acre_error_set(err, ACRE_EREJECTED, err->field, err->rule, "%s plan %ld: %s", name,
                       index, msg);
        err->index = index;
        return ACRE_EREJECTED;
    }
    acre_buf_json(&body, obj, t, 1);
    if (body.oom) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    acre_sha256_hex(sha, body.p, body.len);
    if ((rc = acre_store_prepare(s, &st, "SELECT body FROM plan WHERE plan_id = ?1 AND version = ?2",
                                 err)))
        goto out;
    sqlite3_bind_text(st, 1, p->plan_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, p->version);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = acre_store_row(s, st, err)))
            goto out;
        if (strcmp((const char *)sqlite3_column_text(st, 0), body.p) == 0) {
            (*unchanged)++;
            rc = 0;
        } else {
            rc = acre_error_set(err, ACRE_EREJECTED, "version", "immutable",
                                "%s plan %ld: %s is already stored with other content; plans "
                                "are immutable: store it as a new version",
                                name, index, p->label);
            err->index = index;
        }
        goto out;
    }
    if (rc != SQLITE_DONE) {
        rc = acre_store_fail(s, "reading plans", err);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = acre_store_prepare(s, &st,
                                 "INSERT INTO plan(plan_id, version, name, currency, body, sha256, "
                                 "seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, (SELECT value + 1 FROM "
                                 "counter WHERE name = 'seq'))",
                                 err)))
        goto out;
    sqlite3_bind_text(st, 1, p->plan_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, p->version);
    if (p->name)
        sqlite3_bind_text(st, 3, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, p->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, body.p, (int)body.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, sha, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = acre_store_fail(s, "storing a plan", err);
        goto out;
    }
    /* the plan takes a sequence number like a record version (schema 4) */
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = acre_store_prepare(s, &st, "UPDATE counter SET value = value + 1 WHERE name = 'seq'",
                                 err)))
        goto out;
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = acre_store_fail(s, "advancing the sequence counter", err);
        goto out;
    }
    (*added)++;
    rc = 0;
out:
    sqlite3_finalize(st);
    acre_buf_free(&body);
    acre_plan_free(p);
    return rc;
}

int acre_plan_add(acre_store *s, FILE *f, const char *name, int *added, int *unchanged,
                  acre_error *err)
{
    size_t n = 0;
    char *text = slurp(f, &n);
    json_error_t je;
    json_t *doc = NULL;
    acre_numtab t = {0};
    int rc;

    *added = *unchanged = 0;
    if (ferror(f)) { /* a directory, a failing disk: not an empty file */
        free(text);
        return acre_error_set(err, ACRE_EIO, NULL, NULL, "%s: read error; nothing of it is stored",
                              name);
    }
    if (!text && n != MAX_PLAN_FILE)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (!text)
        return acre_error_set(err, ACRE_EREJECTED, NULL, "too_large",
                              "%s: cannot read the file (larger than 16 MiB?)", name);
    if (!(doc = acre_json_loadb(text, n, JSON_REJECT_DUPLICATES, &je))) {
        if (json_error_code(&je) == json_error_out_of_memory)
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        else
            rc = acre_error_set(err, ACRE_EREJECTED, NULL, "json", "%s: line %d column %d: %s",
                                name, je.line, je.column, je.text);
        goto out;
    }
    if ((rc = acre_numtab_build(&t, doc, text, n)) == ACRE_ENOMEM) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    } else if (rc) {
        rc = acre_error_set(err, ACRE_EREJECTED, NULL, "json", "%s: cannot read its numbers",
                            name);
        goto out;
    }
    if (!json_is_object(doc) && !json_is_array(doc)) {
        rc = acre_error_set(err, ACRE_EREJECTED, NULL, "json",
                            "%s: a plan file holds one plan object or an array of plans", name);
        goto out;
    }
    if ((rc = acre_store_begin(s, err)))
        goto out;
    if (json_is_object(doc)) {
        rc = store_one(s, doc, &t, 0, name, added, unchanged, err);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(doc, i, v) {
            /* the same name twice in one file with different content is caught by the lookup,
             * since the first is already inserted in this transaction */
            if ((rc = store_one(s, v, &t, (long)i, name, added, unchanged, err)))
                break;
        }
    }
    if (rc) {
        acre_store_rollback(s);
        *added = *unchanged = 0;
    } else {
        rc = acre_store_commit(s, err);
    }
out:
    acre_numtab_free(&t);
    json_decref(doc);
    free(text);
    return rc;
}

int acre_plan_list(acre_store *s, int (*fn)(void *ctx, const acre_plan_info *p), void *ctx,
                   acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(
        s, &st, "SELECT plan_id, version, name, currency, sha256 FROM plan ORDER BY 1, 2", err);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int bad = acre_store_row(s, st, err);
        if (bad) {
            sqlite3_finalize(st);
            return bad;
        }
        acre_plan_info i = {(const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                            (const char *)sqlite3_column_text(st, 2),
                            (const char *)sqlite3_column_text(st, 3),
                            (const char *)sqlite3_column_text(st, 4)};
        if (fn(ctx, &i))
            break;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return acre_store_fail(s, "listing plans", err);
    return 0;
}

int acre_plan_show(acre_store *s, const char *id, long version, char **json, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st,
                                "SELECT body FROM plan WHERE plan_id = ?1 AND (?2 = 0 OR version "
                                "= ?2) ORDER BY version DESC LIMIT 1",
                                err);
    *json = NULL;
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, version);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!(rc = acre_store_row(s, st, err)) &&
            !(*json = acre_strdup((const char *)sqlite3_column_text(st, 0))))
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    } else if (rc != SQLITE_DONE)
        rc = acre_store_fail(s, "reading the plan", err);
    else if (version)
        rc = acre_error_set(err, ACRE_ENOTFOUND, "plan", "unknown_plan",
                            "no plan %s@%ld is stored", id, version);
    else
        rc = acre_error_set(err, ACRE_ENOTFOUND, "plan", "unknown_plan", "no plan %s is stored",
                            id);
    sqlite3_finalize(st);
    return rc;
}
