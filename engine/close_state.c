/* engine/close_state.c — the rows a close stores beside its ledger.
 *
 * What the next close starts from: balances and the plan each affiliate held (close_affiliate),
 * each rule kind's own state (its save hook), the customers that did not count, settled
 * customers and clawbacks, the judgments of late records (counted); then the close row with the
 * ledger itself. All in the close's one transaction, which close.c began and commits. */
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "close_int.h"
#include "store_int.h"

#define INSERT(t)                                                                                  \
    {                                                                                              \
        ACRE_Q_INSERT, t, {NULL}, {{NULL, 0}}, {NULL}, 0, 0                                        \
    }

static const acre_query q_balance = INSERT("close_affiliate");
static const acre_query q_excluded = INSERT("close_excluded");
static const acre_query q_settled = INSERT("settled");
static const acre_query q_clawed = {
    ACRE_Q_UPDATE, "settled", {"clawed_period", NULL}, {{"customer_id", ACRE_EQ}}, {NULL}, 0, 0};
static const acre_query q_counted = {ACRE_Q_REPLACE, "counted", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
static const acre_query q_close = INSERT("close");

int acre_close_write_state(ctx *x, acre_error *err)
{
    acre_close *c = &x->c;
    acre_stmt *st = NULL;
    int rc = 0;

#define PREP(q)                                                                                    \
    do {                                                                                           \
        acre_store_done(x->s, st);                                                                 \
        st = NULL;                                                                                 \
        if ((rc = acre_store_stmt(x->s, (q), &st, err)))                                           \
            goto out;                                                                              \
    } while (0)
#define STEP(row, what)                                                                            \
    do {                                                                                           \
        if ((rc = acre_store_run(x->s, st, (row), NULL, NULL, (what), err)))                       \
            goto out;                                                                              \
    } while (0)

    PREP(&q_balance);
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        char *cf;
        if (!acre_close_listed(a))
            continue;
        if (!(cf = acre_dec_format(&a->carried_forward))) {
            rc = acre_close_oom(err);
            goto out;
        }
        {
            acre_value row[4] = {acre_val_int(c->period), acre_val_text(a->id),
                                 acre_val_text(a->plan ? a->plan->label : NULL), acre_val_text(cf)};
            rc = acre_store_run(x->s, st, row, NULL, NULL, "storing balances", err);
            free(cf);
            if (rc)
                goto out;
        }
    }

    /* each rule kind's own state, in table order; this runs beside the ledger's writer
     * (engine/close.c store_close), so a save hook reads no line */
    acre_store_done(x->s, st);
    st = NULL;
    for (int k = 0; acre_rule_kinds[k]; k++)
        if (acre_rule_kinds[k]->save && (rc = acre_rule_kinds[k]->save(c, x->s, err)))
            goto out;

    PREP(&q_excluded);
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        const acre_plan *p = c->affs[cu->aff].plan;
        if (p && p->valuer && !cu->counts) {
            acre_value row[2] = {acre_val_int(c->period), acre_val_text(cu->id)};
            STEP(row, "storing excluded customers");
        }
    }

    PREP(&q_settled);
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        const acre_plan *p = c->affs[cu->aff].plan;
        acre_value row[10];
        if (!cu->qualifies)
            continue;
        row[0] = acre_val_text(cu->id);
        row[1] = acre_val_int(c->period);
        row[2] = acre_val_text(c->affs[cu->aff].id);
        row[3] = acre_val_text(p->label);
        row[4] = acre_val_text(cu->outcome == 1   ? "paid"
                               : cu->outcome == 2 ? "over_cap"
                                                  : "qualified");
        row[5] = acre_val_text(cu->outcome == 1 ? cu->paid_now : NULL);
        row[6] = acre_val_text(cu->qualified_at);
        row[7] = acre_val_int(cu->qsec);
        row[8] = acre_val_int(p->clawback_days);
        row[9] = acre_val_null(); /* clawed_period */
        STEP(row, "storing settled customers");
    }

    PREP(&q_clawed);
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        acre_value row[2];
        if (!cu->settled || !cu->clawed || !cu->paid)
            continue;
        row[0] = acre_val_int(c->period);
        row[1] = acre_val_text(cu->id);
        STEP(row, "storing clawbacks");
    }

    PREP(&q_counted);
    if (x->out_counted.oom) {
        rc = acre_close_oom(err);
        goto out;
    }
    {
        char *p = x->out_counted.p, *end = p + x->out_counted.len;
        while (p && p < end) {
            char *f[5];
            acre_value row[6];
            for (int i = 0; i < 5; i++) {
                f[i] = p;
                p = strchr(p, '\n');
                *p++ = '\0';
            }
            row[0] = acre_val_text(f[0]);
            row[1] = acre_val_text(f[1]);
            row[2] = acre_val_int(c->period);
            row[3] = acre_val_int(atoll(f[2]));
            row[4] = acre_val_text(f[3]);
            row[5] = acre_val_text(f[4]);
            STEP(row, "storing what was counted");
        }
    }
out:
    acre_store_done(x->s, st);
    return rc;
#undef PREP
#undef STEP
}

int acre_close_write_close(ctx *x, const char *ledger, const char *digest, acre_error *err)
{
    const char *prev = x->ncloses ? x->closes[x->ncloses - 1].digest : NULL;
    acre_value row[6] = {acre_val_int(x->c.period), acre_val_text(x->c.period_text),
                         acre_val_int(x->seq),      acre_val_text(digest),
                         acre_val_text(prev),       acre_val_text(ledger)};
    return acre_store_query(x->s, &q_close, row, NULL, NULL, "storing the ledger", err);
}
