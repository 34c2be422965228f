/* engine/close_value.c — what one streamed record version is worth to a close.
 *
 * The revenue a record adds under a plan (acre_close_value: revshare's valuation, GGR, reported
 * NGR or deductions, net revenue, converted into the plan currency at the record's date), the
 * qualification events kept for its customer, and the date and customer of a record in each
 * table's column layout. */
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

static int parse_num(acre_number *n, const char *s)
{
    if (!s) {
        n->neg = 0;
        n->mant = 0;
        n->exp = 0;
        return 0;
    }
    return acre_number_parse(n, s, strlen(s), "value", NULL);
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

/* Adds amount n (in `cur`, dated `date`; usd its amount_usd or NULL) to acc in currency `to`:
 * as written when the currencies match, else converted (SPEC 5.1). A zero needs no rate. */
static void add_amount(acre_close *c, acre_acc *acc, const acre_number *n, const char *cur,
                       const acre_number *usd, const char *date, const char *to)
{
    acre_dec d;
    if (strcmp(cur, to) == 0) {
        if (acre_acc_add_number(acc, n))
            acre_close_ran_out(c);
        return;
    }
    if (!n->mant)
        return;
    acre_dec_init(&d);
    acre_close_convert(c, &d, n, cur, usd, date, to);
    if (acre_acc_add_dec(acc, &d))
        acre_close_ran_out(c);
    acre_dec_clear(&d);
}

int acre_close_value(ctx *x, int tb, const grp *g, const ver *v, const acre_plan *p,
                     int64_t signup_sec, acre_acc *a, acre_acc *b)
{
    acre_close *c = &x->c;
    char date[11];
    acre_number n;
    const char *cur;
    if (!p || !p->has_rs)
        return 0;
    acre_close_record_date(tb, g, v, date);
    if (p->rs.customer_months > 0) {
        char cut[11];
        if (acre_add_months_date(cut, signup_sec, p->rs.customer_months) == 0 &&
            strcmp(date, cut) >= 0)
            return 0;
    }
    switch (tb) {
    case TB_GAMING: {
        int reported = p->rs.basis == BASIS_NGR && p->rs.reported;
        if (p->rs.basis != BASIS_NGR)
            return 0;
        if (p->rs.game_types.n && !acre_strlist_has(&p->rs.game_types, col(g, v, GA_GAME)))
            return 0;
        cur = col(g, v, GA_CUR);
        if (reported) {
            if (!col(g, v, GA_NGR)) {
                /* x->err is the error of the query being read (engine/close_read.h) */
                return acre_error_set(x->err, ACRE_EREFUSED, "ngr", "reported_ngr_missing",
                                      "plan %s reads reported NGR, but gaming activity "
                                      "%s/%s/%s/%s has no ngr",
                                      p->label, col(g, v, GA_DATE), col(g, v, GA_CUST),
                                      col(g, v, GA_GAME), cur);
            }
            parse_num(&n, col(g, v, GA_NGR));
            add_amount(c, b, &n, cur, NULL, date, p->currency);
            return 0;
        }
        if (col(g, v, GA_GGR)) {
            parse_num(&n, col(g, v, GA_GGR));
            add_amount(c, a, &n, cur, NULL, date, p->currency);
        } else {
            acre_number w;
            parse_num(&n, col(g, v, GA_TOTAL));
            parse_num(&w, col(g, v, GA_WINS));
            w.neg = w.mant ? !w.neg : 0;
            if (strcmp(cur, p->currency) == 0) {
                if (acre_acc_add_number(a, &n) || acre_acc_add_number(a, &w))
                    acre_close_ran_out(c);
            } else if (n.mant || w.mant) {
                acre_dec d, e;
                acre_dec_init(&d);
                acre_dec_init(&e);
                acre_number_to_dec(&d, &n);
                acre_number_to_dec(&e, &w);
                acre_dec_add(&d, &d, &e);
                if (acre_dec_sgn(&d)) {
                    acre_close_convert_dec(c, &e, &d, cur, date, p->currency);
                    if (acre_acc_add_dec(a, &e))
                        acre_close_ran_out(c);
                }
                acre_dec_clear(&d);
                acre_dec_clear(&e);
            }
        }
        return 0;
    }
    case TB_TXN: {
        int type = acre_txn_type(col(g, v, TX_TYPE), strlen(col(g, v, TX_TYPE)));
        acre_acc *to = NULL;
        acre_number usd;
        int neg = 0;
        if (type < 0 || !acre_strlist_has(&p->counted_statuses, col(g, v, TX_STATUS)))
            return 0;
        if (p->rs.basis == BASIS_NGR && !p->rs.reported && (p->rs.deduct & (1u << type)))
            to = a;
        else if (p->rs.basis == BASIS_NET_REVENUE && (p->rs.nr_add & (1u << type)))
            to = b;
        else if (p->rs.basis == BASIS_NET_REVENUE && (p->rs.nr_sub & (1u << type)))
            to = b, neg = 1;
        if (!to)
            return 0;
        parse_num(&n, col(g, v, TX_AMOUNT));
        if (neg)
            n.neg = n.mant ? !n.neg : 0;
        if (col(g, v, TX_USD)) {
            parse_num(&usd, col(g, v, TX_USD));
            if (neg)
                usd.neg = usd.mant ? !usd.neg : 0;
        }
        add_amount(c, to, &n, col(g, v, TX_CUR), col(g, v, TX_USD) ? &usd : NULL, date,
                   p->currency);
        return 0;
    }
    case TB_BONUS:
        if (p->rs.basis != BASIS_NGR || p->rs.reported || !(p->rs.deduct & (1u << TT_BTR)) ||
            strcmp(col(g, v, BE_STATUS), "Completed") != 0 || !col(g, v, BE_BTR))
            return 0;
        parse_num(&n, col(g, v, BE_BTR));
        add_amount(c, a, &n, col(g, v, BE_CUR), NULL, date, p->currency);
        return 0;
    default:
        return 0; /* trading activity carries no revenue */
    }
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
        parse_num(&e->amount, col(g, v, TX_AMOUNT));
        if (col(g, v, TX_USD)) {
            e->has_usd = 1;
            parse_num(&e->other, col(g, v, TX_USD));
        }
    } else {
        e->activity = 1;
        acre_date_sec(col(g, v, 0), &e->sec);
        e->sec += 86399; /* activity counts at the end of its day */
        memcpy(e->currency, col(g, v, tb == TB_GAMING ? GA_CUR : TA_CUR), 3);
        if (tb == TB_GAMING) {
            e->bets = col(g, v, GA_BETS) ? atol(col(g, v, GA_BETS)) : 0;
            parse_num(&e->amount, col(g, v, GA_TOTAL));
        } else {
            parse_num(&e->other, col(g, v, TA_LOTS));
        }
    }
}
