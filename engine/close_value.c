/* engine/close_value.c — what one streamed record version is worth to a close.
 *
 * The revenue a record adds under a plan (acre_close_value: the record's view handed to the
 * value hook of the plan's valuer, rules/revshare.c), the qualification events kept for its
 * customer, and the date and customer of a record in each table's column layout. */
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "alloc.h"
#include "close_int.h"
#include "datetime.h"

static const char *col(const grp *g, const ver *v, int i)
{
    return acre_grp_col(g, v, i);
}

void acre_close_record_date(int tb, const grp *g, const ver *v, char date[11])
{
    const char *d = col(g, v, tb == TB_TXN ? TX_DATE : tb == TB_BONUS ? BE_TS : 0);
    memcpy(date, d, 10);
    date[10] = '\0';
}

const char *acre_close_record_customer(int tb, const grp *g, const ver *v)
{
    return col(g, v, tb == TB_TXN ? TX_CUST : tb == TB_BONUS ? BE_CUST : 1);
}

/* The view a value hook reads of version v (engine/close.h): the columns of its table. */
static void view(acre_rec_view *r, int tb, const grp *g, const ver *v, int64_t signup_sec)
{
    *r = (acre_rec_view){.table = tb, .signup_sec = signup_sec};
    acre_close_record_date(tb, g, v, r->date);
    r->customer_id = acre_close_record_customer(tb, g, v);
    switch (tb) {
    case TB_TXN:
        r->type = col(g, v, TX_TYPE);
        r->status = col(g, v, TX_STATUS);
        r->amount = col(g, v, TX_AMOUNT);
        r->currency = col(g, v, TX_CUR);
        r->amount_usd = col(g, v, TX_USD);
        break;
    case TB_GAMING:
        r->activity_date = col(g, v, GA_DATE);
        r->game_type = col(g, v, GA_GAME);
        r->currency = col(g, v, GA_CUR);
        r->total_bets = col(g, v, GA_TOTAL);
        r->total_wins = col(g, v, GA_WINS);
        r->ggr = col(g, v, GA_GGR);
        r->ngr = col(g, v, GA_NGR);
        break;
    case TB_TRADING:
        r->currency = col(g, v, TA_CUR);
        break;
    case TB_BONUS:
        r->status = col(g, v, BE_STATUS);
        r->currency = col(g, v, BE_CUR);
        r->btr = col(g, v, BE_BTR);
        break;
    }
}

int acre_close_value(ctx *x, int tb, const grp *g, const ver *v, const acre_plan *p,
                     int64_t signup_sec, acre_acc *a, acre_acc *b)
{
    acre_rec_view r;
    int rc;
    if (!p || !p->valuer)
        return 0;
    view(&r, tb, g, v, signup_sec);
    /* x->err is the error of the query being read (engine/close_read.h) */
    rc = p->valuer->value(&x->c, p->valuer_config, p, &r, a, b, x->err);
    if (rc == ACRE_ENOMEM) {
        acre_close_ran_out(&x->c); /* reported when the close is stored */
        return 0;
    }
    return rc;
}

void acre_close_add_event(ctx *x, acre_cust *cu, int tb, const grp *g, const ver *v)
{
    acre_close *c = &x->c;
    const acre_plan *p = cu->evplan;
    acre_qev *e;
    int type = -1;
    if (tb == TB_BONUS)
        return;
    if (tb == TB_TXN) {
        const char *t = col(g, v, TX_TYPE);
        type = acre_txn_type(t, strlen(t));
        if (type < 0 || !(p->q.event_types & (1u << type)) ||
            !acre_strlist_has(&p->counted_statuses, col(g, v, TX_STATUS)))
            return;
    } else if (!x->need_activity_events) {
        return;
    }
    /* one event per activity row: rows of one day share an instant and acre_qualify applies
     * them together (summing them here could exceed the 15 digits an acre_number holds) */
    if (cu->nev == cu->cap) {
        int cap = cu->cap ? cu->cap * 2 : 2;
        acre_qev *n = acre_realloc(cu->ev, (size_t)cap * sizeof *n);
        if (!n) {
            c->oom = 1;
            return;
        }
        cu->ev = n;
        cu->cap = cap;
    }
    e = &cu->ev[cu->nev++];
    memset(e, 0, sizeof *e);
    if (tb == TB_TXN) {
        const char *id = col(g, v, TX_ID), *cur = col(g, v, TX_CUR);
        acre_datetime_split(col(g, v, TX_DATE), &e->sec, &e->nsec);
        memcpy(e->currency, cur, 3);
        e->txn_id = (uint32_t)c->ids.len;
        acre_buf_add(&c->ids, id, strlen(id) + 1);
        acre_number_stored(&e->amount, col(g, v, TX_AMOUNT));
        if (col(g, v, TX_USD)) {
            e->has_usd = 1;
            acre_number_stored(&e->other, col(g, v, TX_USD));
        }
    } else {
        e->activity = 1;
        acre_date_sec(col(g, v, 0), &e->sec);
        e->sec += 86399; /* activity counts at the end of its day */
        memcpy(e->currency, col(g, v, tb == TB_GAMING ? GA_CUR : TA_CUR), 3);
        if (tb == TB_GAMING) {
            e->bets = col(g, v, GA_BETS) ? atol(col(g, v, GA_BETS)) : 0;
            acre_number_stored(&e->amount, col(g, v, GA_TOTAL));
        } else {
            acre_number_stored(&e->other, col(g, v, TA_LOTS));
        }
    }
}
