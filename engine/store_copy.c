/* engine/store_copy.c — a store copied into a new one, across backends (acre copy; SPEC 13,
 * issue 22; docs/store-backends.md "Moving a store").
 *
 * Every row of every table of acre_store_tables() is read from the source at one snapshot and
 * inserted into the destination in one write transaction, through the query shapes every
 * backend answers: so SQLite to PostgreSQL, PostgreSQL to SQLite and either to itself are the
 * same code, and what arrives is every version of every record with its seq and batch, every
 * batch, plan, close (its ledger bytes and digests), the close's state, the API's clients and
 * the outbox. The counters come last, replacing the new store's. A destination that holds
 * anything is refused before anything is written. */
#include <string.h>

#include "store_int.h"

typedef struct copying {
    acre_store *to;
    acre_stmt *insert;
    long rows;
} copying;

static int copy_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    copying *c = ctx;
    (void)n;
    c->rows++;
    return acre_store_run(c->to, c->insert, row, NULL, NULL, "writing the copy", err);
}

static int any_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    (void)row, (void)n, (void)err;
    *(int *)ctx = 1;
    return 1;
}

/* 0 when `to` holds nothing but a new store's counters, else ACRE_EUSAGE naming a table. */
static int check_empty(acre_store *to, const char *name, acre_error *err)
{
    for (const acre_table *const *t = acre_store_tables(); *t; t++) {
        acre_query q = {ACRE_Q_SELECT, (*t)->name, {NULL}, {{NULL, 0}}, {NULL}, 0, 1};
        int found = 0, rc;
        long long seq = 0;
        if (strcmp((*t)->name, "counter") == 0) {
            if ((rc = acre_store_seq(to, &seq, err)))
                return rc;
            found = seq != 0;
        } else {
            q.cols[0] = (*t)->cols[0].name;
            if ((rc = acre_store_query(to, &q, NULL, any_row, &found, "reading the destination",
                                       err)))
                return rc;
        }
        if (found)
            return acre_error_set(err, ACRE_EUSAGE, NULL, "copy_destination",
                                  "the store %s is not new (its table %s has rows): acre copy "
                                  "writes only into a new store, and left it as it was",
                                  name, (*t)->name);
    }
    return 0;
}

static int copy_table(acre_store *from, acre_store *to, const acre_table *t, long *rows,
                      acre_error *err)
{
    acre_query sel = {ACRE_Q_SELECT, t->name, {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
    /* a counter replaces the new store's; every other row is new there */
    acre_query ins = {strcmp(t->name, "counter") == 0 ? ACRE_Q_REPLACE : ACRE_Q_INSERT,
                      t->name,
                      {NULL},
                      {{NULL, 0}},
                      {NULL},
                      0,
                      0};
    copying c = {to, NULL, 0};
    int rc;
    for (int i = 0; i < t->ncols && i < ACRE_Q_MAX - 1; i++)
        sel.cols[i] = t->cols[i].name;
    if ((rc = acre_store_stmt(to, &ins, &c.insert, err)))
        return rc;
    rc = acre_store_query(from, &sel, NULL, copy_row, &c, "reading the store to copy", err);
    acre_store_done(to, c.insert);
    *rows += c.rows;
    return rc;
}

int acre_store_copy(acre_store *from, acre_store *to, const char *to_name, acre_copy_stats *stats,
                    acre_error *err)
{
    int rc;
    memset(stats, 0, sizeof *stats);
    if ((rc = acre_store_begin_read(from, err)))
        return rc;
    if ((rc = acre_store_begin(to, err))) {
        acre_store_rollback(from);
        return rc;
    }
    if (!(rc = check_empty(to, to_name, err))) {
        /* the counters last: the new store's own are replaced after everything else is in */
        const acre_table *counter = acre_store_table("counter");
        for (const acre_table *const *t = acre_store_tables(); *t && !rc; t++)
            if (*t != counter) {
                rc = copy_table(from, to, *t, &stats->rows, err);
                stats->tables++;
            }
        if (!rc) {
            rc = copy_table(from, to, counter, &stats->rows, err);
            stats->tables++;
        }
    }
    acre_store_rollback(from); /* read only: nothing to keep */
    if (rc) {
        acre_store_rollback(to);
        return rc;
    }
    return acre_store_commit(to, err);
}
