/* engine/kind_rules.c — the record kinds' rules beyond each field's own: across a record's
 * fields, reading the store, or over the whole batch.
 *
 * Each is a hook of its kind's row (engine/validate.c) and reads the store only through
 * engine/ingest_store.h, so the ingest that calls it (engine/ingest.c) knows no kind by name. */
#include "kind_rules.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ingest_store.h"
#include "jsonval.h"
#include "parents.h"

void acre_gaming_ggr(const acre_kind *k, acre_rec *r)
{
    int ggr = acre_kind_col(k, "ggr"), tb = acre_kind_col(k, "total_bets"),
        w = acre_kind_col(k, "wins");
    if (r->cells[ggr].t == CELL_NULL && (r->cells[tb].t == CELL_NULL || r->cells[w].t == CELL_NULL))
        acre_rec_error(r, "ggr", "required",
                       "ggr: required unless both total_bets and wins are given");
}

void acre_assignment_dates(const acre_kind *k, acre_rec *r)
{
    const acre_cell *from = &r->cells[acre_kind_col(k, "effective_from")],
                    *to = &r->cells[acre_kind_col(k, "effective_to")];
    if (from->t == CELL_TEXT && to->t == CELL_TEXT && memcmp(to->s, from->s, 7) < 0)
        acre_rec_error(r, "effective_to", "before_effective_from",
                       "effective_to: %.7s is before effective_from %.7s", to->s, from->s);
}

void acre_fx_not_usd(const acre_kind *k, acre_rec *r)
{
    const acre_cell *c = &r->cells[acre_kind_col(k, "currency")];
    if (c->t == CELL_TEXT && c->len == 3 && memcmp(c->s, "USD", 3) == 0)
        acre_rec_error(r, "currency", "not_usd",
                       "currency: USD needs no rate (its usd_rate is always 1)");
}

/* ---- assignments: no overlap ---------------------------------------------------------- */

#define OPEN_END "9999-12" /* an absent effective_to: the range has no end */

/* Two texts compared as the store compares them (SQLite's BINARY): bytes, then length. */
static int text_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int text_eq(const acre_cell *a, const acre_cell *b)
{
    return a->t == CELL_TEXT && b->t == CELL_TEXT && text_cmp(a->s, a->len, b->s, b->len) == 0;
}

/* A month, or OPEN_END for none. */
static const char *month_or_open(const acre_cell *c, size_t *n)
{
    if (c->t == CELL_NULL || !c->s) {
        *n = sizeof OPEN_END - 1;
        return OPEN_END;
    }
    *n = c->len;
    return c->s;
}

typedef struct overlap {
    const acre_cell *rec;
    int plan, from, to;          /* columns */
    char *plan_id, *start, *end; /* the stored assignment that overlaps first (end NULL: open) */
    int oom;
} overlap;

/* One current assignment of the record's affiliate: does its range meet the record's? */
static int overlap_row(void *ctx, const acre_cell *row)
{
    overlap *o = ctx;
    const acre_cell *plan = &row[o->plan], *from = &row[o->from];
    const char *to, *last;
    size_t nto, nlast;

    if (from->t != CELL_TEXT || !from->s)
        return 0;
    /* re-sending the same key may change its own range */
    if (text_eq(plan, &o->rec[o->plan]) && text_eq(from, &o->rec[o->from]))
        return 0;
    last = month_or_open(&o->rec[o->to], &nlast);
    to = month_or_open(&row[o->to], &nto);
    if (text_cmp(from->s, from->len, last, nlast) > 0 ||
        text_cmp(to, nto, o->rec[o->from].s, o->rec[o->from].len) < 0)
        return 0;
    if (o->start && text_cmp(from->s, from->len, o->start, strlen(o->start)) >= 0)
        return 0; /* the earliest one is named */
    free(o->plan_id);
    free(o->start);
    free(o->end);
    o->plan_id = acre_strndup(plan->s ? plan->s : "", plan->s ? plan->len : 0);
    o->start = acre_strndup(from->s, from->len);
    o->end = row[o->to].t != CELL_NULL && row[o->to].s ? acre_strndup(row[o->to].s, row[o->to].len)
                                                       : NULL;
    if (!o->plan_id || !o->start || (row[o->to].t != CELL_NULL && row[o->to].s && !o->end)) {
        o->oom = 1;
        return 1;
    }
    return 0;
}

int acre_assignment_overlap(const acre_kind *k, acre_rec *r, acre_istore *is, acre_error *err)
{
    const acre_cell *aff = &r->cells[0]; /* the key's first column: affiliate_id */
    overlap o = {0};
    int rc;

    o.rec = r->cells;
    o.plan = acre_kind_col(k, "plan_id");
    o.from = acre_kind_col(k, "effective_from");
    o.to = acre_kind_col(k, "effective_to");
    rc = acre_istore_each_current(is, 1, r->cells, overlap_row, &o, "checking assignment overlaps",
                                  err);

    if (o.oom)
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    else if (rc == 0 && o.start)
        acre_rec_error(r, "effective_from", "overlapping_assignment",
                       "effective_from: affiliate %.*s already holds plan %.*s from %s to %s, "
                       "which overlaps",
                       acre_utf8_prefix(aff->s, 100), aff->s, acre_utf8_prefix(o.plan_id, 100),
                       o.plan_id, o.start, o.end ? o.end : "open end");
    free(o.plan_id);
    free(o.start);
    free(o.end);
    return rc;
}

/* ---- customers: an older update is ignored -------------------------------------------- */

int acre_customer_supersedes(const acre_kind *k, const acre_cell *old, const acre_cell *neu)
{
    int lm = acre_kind_col(k, "last_modified_date");
    const acre_cell *o = &old[lm], *n = &neu[lm];
    return !(o->s && n->t == CELL_TEXT && strcmp(n->s, o->s) < 0);
}

/* ---- affiliates: parents -------------------------------------------------------------- */

static const acre_fielderr unknown_parent = {
    "parent_affiliate_id", "unknown_parent",
    "parent_affiliate_id: the parent affiliate is not stored or is rejected"};
static const acre_fielderr parent_cycle = {"parent_affiliate_id", "parent_cycle",
                                           "parent_affiliate_id: parents would form a cycle"};

typedef struct parent_ctx {
    acre_istore *is;
    int col; /* parent_affiliate_id */
} parent_ctx;

/* The stored parent of affiliate `id` (acre_stored_parent_fn). */
static int stored_parent(void *ctx, const char *id, char **parent, acre_error *err)
{
    parent_ctx *c = ctx;
    acre_cell key = {CELL_TEXT, id, strlen(id), 0}, row[ACRE_MAX_COLS];
    int rc = acre_istore_current(c->is, &key, row, "reading a parent", err);
    const acre_cell *p = &row[c->col];

    *parent = NULL;
    if (rc <= 0)
        return rc;
    if (p->s && *p->s && !(*parent = acre_strdup(p->s)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 1;
}

/* Decides, before anything is stored, which records break the parent rules: a parent that is
 * neither stored nor a live record of the batch, a parent whose own record is rejected, or a
 * chain of parents that comes back to the record (engine/parents.c). */
int acre_affiliate_parents(const acre_kind *k, long n, acre_batch_rec_fn rec, void *ctx,
                           acre_istore *is, const acre_fielderr **verdict, acre_error *err)
{
    static const char *const unknown = "the parent affiliate is not stored or is rejected";
    static const char *const cycle = "parents would form a cycle";
    parent_ctx pc = {is, acre_kind_col(k, "parent_affiliate_id")};
    char **ids = acre_calloc((size_t)n + 1, sizeof *ids);
    char **parents = acre_calloc((size_t)n + 1, sizeof *parents);
    int *valid = acre_calloc((size_t)n + 1, sizeof *valid);
    const char **why = acre_calloc((size_t)n + 1, sizeof *why);
    int rc = 0;

    if (!ids || !parents || !valid || !why) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    for (long i = 0; i < n; i++) {
        const acre_cell *cells;
        if ((rc = rec(ctx, i, &cells, err)) < 0)
            goto out;
        if (rc == 0)
            continue;
        rc = 0;
        valid[i] = 1;
        ids[i] = acre_strdup(cells[0].s);
        parents[i] = cells[pc.col].t == CELL_TEXT ? acre_strdup(cells[pc.col].s) : NULL;
        if (!ids[i] || (cells[pc.col].t == CELL_TEXT && !parents[i])) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            goto out;
        }
    }
    rc = acre_parents_resolve(n, ids, parents, valid, why, unknown, cycle, stored_parent, &pc, err);
    for (long i = 0; i < n && rc == 0; i++)
        verdict[i] = why[i] == cycle ? &parent_cycle : why[i] ? &unknown_parent : NULL;
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
    free(why);
    return rc;
}
