/* engine/plan_store.c — plans in the store: add (strictly checked, immutable), list, show. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/plan.h"
#include "alloc.h"
#include "digest.h"
#include "jsonval.h"
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

static const acre_query q_body = {ACRE_Q_SELECT,
                                  "plan",
                                  {"body", NULL},
                                  {{"plan_id", ACRE_EQ}, {"version", ACRE_EQ}},
                                  {NULL},
                                  0,
                                  1};
static const acre_query q_add = {ACRE_Q_INSERT, "plan", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};

/* *(char **)ctx = a copy of the first column's text. */
static int copy_text(void *ctx, const acre_value *row, int n, acre_error *err)
{
    (void)n;
    if (!(*(char **)ctx = acre_strdup(row[0].s ? row[0].s : "")))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 1;
}

static int store_one(acre_store *s, const json_t *obj, const acre_numtab *t, long index,
                     const char *name, int *added, int *unchanged, acre_error *err)
{
    acre_plan *p = NULL;
    acre_buf body = {0};
    char sha[65], *old = NULL;
    long long seq;
    int rc;

    if ((rc = acre_plan_parse(&p, obj, t, err))) {
        char msg[sizeof err->message];
        if (rc == ACRE_ENOMEM)
            return rc;
        snprintf(msg, sizeof msg, "%s", err->message);
        acre_error_set(err, ACRE_EREJECTED, err->field, err->rule, "%s plan %ld: %s", name, index,
                       msg);
        err->index = index;
        return ACRE_EREJECTED;
    }
    acre_buf_json(&body, obj, t, 1);
    if (body.oom) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    acre_sha256_hex(sha, body.p, body.len);
    {
        acre_value k[2] = {acre_val_text(p->plan_id), acre_val_int(p->version)};
        if ((rc = acre_store_query(s, &q_body, k, copy_text, &old, "reading plans", err)))
            goto out;
    }
    if (old) {
        if (strcmp(old, body.p) == 0) {
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
    /* the plan takes a sequence number like a record version (schema 4) */
    if ((rc = acre_store_seq(s, &seq, err)))
        goto out;
    {
        acre_value row[7] = {acre_val_text(p->plan_id), acre_val_int(p->version),
                             acre_val_text(p->name),    acre_val_text(p->currency),
                             acre_val_text(body.p),     acre_val_text(sha),
                             acre_val_int(seq + 1)};
        row[4].n = body.len;
        if ((rc = acre_store_query(s, &q_add, row, NULL, NULL, "storing a plan", err)) ||
            (rc = acre_store_set_seq(s, seq + 1, err)))
            goto out;
    }
    (*added)++;
    rc = 0;
out:
    free(old);
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
        rc = acre_error_set(err, ACRE_EREJECTED, NULL, "json", "%s: cannot read its numbers", name);
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
        json_array_foreach(doc, i, v)
        {
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

static const acre_query q_list = {ACRE_Q_SELECT,
                                  "plan",
                                  {"plan_id", "version", "name", "currency", "sha256", NULL},
                                  {{NULL, 0}},
                                  {NULL},
                                  0,
                                  0};

typedef struct listing {
    int (*fn)(void *ctx, const acre_plan_info *p);
    void *ctx;
} listing;

static int list_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    const listing *l = ctx;
    acre_plan_info i = {row[0].s, row[1].i, row[2].s, row[3].s, row[4].s};
    (void)n;
    (void)err;
    return l->fn(l->ctx, &i) ? 1 : 0;
}

int acre_plan_list(acre_store *s, int (*fn)(void *ctx, const acre_plan_info *p), void *ctx,
                   acre_error *err)
{
    listing l = {fn, ctx};
    return acre_store_query(s, &q_list, NULL, list_row, &l, "listing plans", err);
}

static const acre_query q_newest = {
    ACRE_Q_SELECT, "plan", {"body", NULL}, {{"plan_id", ACRE_EQ}}, {"version", NULL}, 1, 1};

int acre_plan_show(acre_store *s, const char *id, long version, char **json, acre_error *err)
{
    acre_value k[2] = {acre_val_text(id), acre_val_int(version)};
    int rc;
    *json = NULL;
    if ((rc = acre_store_query(s, version ? &q_body : &q_newest, k, copy_text, json,
                               "reading the plan", err)))
        return rc;
    if (*json)
        return 0;
    if (version)
        return acre_error_set(err, ACRE_ENOTFOUND, "plan", "unknown_plan",
                              "no plan %s@%ld is stored", id, version);
    return acre_error_set(err, ACRE_ENOTFOUND, "plan", "unknown_plan", "no plan %s is stored", id);
}
