/* engine/close_state.c — the rows a close stores beside its ledger.
 *
 * What the next close starts from: balances and the plan each affiliate held (close_affiliate),
 * carryover layers, the customers that did not count, settled customers and clawbacks, the
 * judgments of late records (counted); then the close row with the ledger itself. All in the
 * close's one transaction, which close.c began and commits. */
#include <stdlib.h>
#include <string.h>

#include "close_int.h"
#include "store_int.h"

int acre_close_write_state(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    sqlite3_stmt *st = NULL;
    int rc = 0;

#define PREP(sql)                                                                                  \
    do {                                                                                           \
        sqlite3_finalize(st);                                                                      \
        if ((rc = acre_store_prepare(x->s, &st, sql, err)))                                        \
            goto out;                                                                              \
    } while (0)
#define STEP(what)                                                                                 \
    do {                                                                                           \
        if (sqlite3_step(st) != SQLITE_DONE) {                                                     \
            rc = acre_store_fail(x->s, what, err);                                                 \
            goto out;                                                                              \
        }                                                                                          \
        sqlite3_reset(st);                                                                         \
    } while (0)

    PREP("INSERT INTO close_affiliate(period, affiliate_id, plan, carried_forward) "
         "VALUES(?1, ?2, ?3, ?4)");
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        char *cf;
        if (!acre_close_listed(a))
            continue;
        if (!(cf = acre_dec_format(&a->carried_forward))) {
            rc = acre_close_oom(err);
            goto out;
        }
        sqlite3_bind_int(st, 1, c->period);
        sqlite3_bind_text(st, 2, a->id, -1, SQLITE_STATIC);
        if (a->plan)
            sqlite3_bind_text(st, 3, a->plan->label, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 3);
        sqlite3_bind_text(st, 4, cf, -1, free);
        STEP("storing balances");
    }

    PREP("INSERT INTO close_layer(period, affiliate_id, plan_id, plan, origin, amount) "
         "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        for (int k = 0; k < a->nlayers; k++) {
            char *amount = acre_dec_format(&a->layers[k].amount);
            if (!amount) {
                rc = acre_close_oom(err);
                goto out;
            }
            sqlite3_bind_int(st, 1, c->period);
            sqlite3_bind_text(st, 2, a->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, a->layer_plan_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, a->layer_label, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 5, a->layers[k].origin);
            sqlite3_bind_text(st, 6, amount, -1, free);
            STEP("storing carryover");
        }
    }

    PREP("INSERT INTO close_excluded(period, customer_id) VALUES(?1, ?2)");
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        const acre_plan *p = c->affs[cu->aff].plan;
        if (p && p->has_rs && !cu->counts) {
            sqlite3_bind_int(st, 1, c->period);
            sqlite3_bind_text(st, 2, cu->id, -1, SQLITE_STATIC);
            STEP("storing excluded customers");
        }
    }

    PREP("INSERT INTO settled(customer_id, period, affiliate_id, plan, outcome, amount, "
         "qualified_at, qsec, clawback_days) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        const acre_plan *p = c->affs[cu->aff].plan;
        if (!cu->qualifies)
            continue;
        sqlite3_bind_text(st, 1, cu->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, c->period);
        sqlite3_bind_text(st, 3, c->affs[cu->aff].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->label, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5,
                          cu->outcome == 1   ? "paid"
                          : cu->outcome == 2 ? "over_cap"
                                             : "qualified",
                          -1, SQLITE_STATIC);
        if (cu->outcome == 1)
            sqlite3_bind_text(st, 6, cu->paid_now, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_text(st, 7, cu->qualified_at, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, cu->qsec);
        sqlite3_bind_int64(st, 9, p->has_cpa ? p->cpa.clawback_days : 0);
        STEP("storing settled customers");
    }

    PREP("UPDATE settled SET clawed_period = ?2 WHERE customer_id = ?1");
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        if (!cu->settled || !cu->clawed || !cu->paid)
            continue;
        sqlite3_bind_text(st, 1, cu->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, c->period);
        STEP("storing clawbacks");
    }

    PREP("INSERT OR REPLACE INTO counted(tbl, rkey, period, seq, a, b) "
         "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (x->out_counted.oom) {
        rc = acre_close_oom(err);
        goto out;
    }
    {
        char *p = x->out_counted.p, *end = p + x->out_counted.len;
        while (p && p < end) {
            char *f[5];
            for (int i = 0; i < 5; i++) {
                f[i] = p;
                p = strchr(p, '\n');
                *p++ = '\0';
            }
            sqlite3_bind_text(st, 1, f[0], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, f[1], -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 3, c->period);
            sqlite3_bind_int64(st, 4, atoll(f[2]));
            sqlite3_bind_text(st, 5, f[3], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 6, f[4], -1, SQLITE_STATIC);
            STEP("storing what was counted");
        }
    }
out:
    sqlite3_finalize(st);
    return rc;
#undef PREP
#undef STEP
}

int acre_close_write_close(ctx *x, const char *ledger, const char *digest, acre_error *err)
{
    const char *prev = x->ncloses ? x->closes[x->ncloses - 1].digest : NULL;
    sqlite3_stmt *st;
    int rc = acre_store_prepare(x->s, &st,
                                "INSERT INTO close(period, period_text, seq, ledger, digest, "
                                "previous_digest) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                                err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, x->c.period);
    sqlite3_bind_text(st, 2, x->c.period_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, x->seq);
    sqlite3_bind_text(st, 4, ledger, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, digest, -1, SQLITE_STATIC);
    if (prev)
        sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = acre_store_fail(x->s, "storing the ledger", err);
    sqlite3_finalize(st);
    return rc;
}
