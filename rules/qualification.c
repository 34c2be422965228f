/* rules/qualification.c — when a customer qualifies (SPEC 5.2).
 *
 * The events are those of the plan the close kept them for (acre_cust.evplan: transactions of
 * its event types in its counted statuses, and activity), so p must be that plan.
 *
 * qualified_at is the first instant at which every threshold holds, seeing the customer's
 * counted transactions of the event types and its activity days (each at 23:59:59Z) up to the
 * end of the period being closed, inside the window when there is one. The KYC, country and
 * flag conditions are checked separately, on current data, by acre_conditions. */
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "close.h"
#include "datetime.h"
#include "iso.h"
#include "number.h"

extern const acre_rule_kind acre_rule_qualification;

/* The part of the qualification section only this file reads; event_types, the activity
 * thresholds and exclude_flags are in acre_plan.q, which the close reads too. */
typedef struct qcfg {
    acre_dec min_first, min_total;
    long window_days; /* -1: no window */
    acre_strlist kyc, countries, exclude_countries;
} qcfg;

static int is_country(const char *s, size_t n)
{
    return n == 2 && acre_iso_country(s);
}

static int nonempty(const char *s, size_t n)
{
    (void)s;
    return n > 0;
}

static void cfg_free(void *config)
{
    qcfg *q = config;
    acre_dec_clear(&q->min_first);
    acre_dec_clear(&q->min_total);
    acre_strlist_free(&q->kyc);
    acre_strlist_free(&q->countries);
    acre_strlist_free(&q->exclude_countries);
    free(q);
}

/* Every plan gets a config, with the defaults when it has no qualification section. */
static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    static const char *const keys[] = {"event_types", "min_first_amount", "min_total_amount",
                                       "min_wagered", "min_bets_count", "min_lots",
                                       "window_days", "kyc_status", "countries",
                                       "exclude_countries", "exclude_flags", NULL};
    const json_t *q = json_object_get(doc, "qualification"), *v;
    qcfg *c = acre_calloc(1, sizeof *c);
    int rc;
    size_t i;

    if (!c)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    acre_dec_init(&c->min_first);
    acre_dec_init(&c->min_total);
    c->window_days = -1;
    *config = c;
    if (!q)
        return 0;
    if ((rc = acre_plan_keys(q, "qualification", keys, err)))
        return rc;
    if ((v = json_object_get(q, "event_types")) &&
        (rc = acre_plan_types(&p->q.event_types, v, 0, "qualification.event_types", err)))
        return rc;
    if ((v = json_object_get(q, "min_first_amount")) &&
        (rc = acre_plan_money(&c->min_first, v, t, "qualification.min_first_amount", err)))
        return rc;
    if ((v = json_object_get(q, "min_total_amount")) &&
        (rc = acre_plan_money(&c->min_total, v, t, "qualification.min_total_amount", err)))
        return rc;
    if ((v = json_object_get(q, "min_wagered")) &&
        (rc = acre_plan_money(&p->q.min_wagered, v, t, "qualification.min_wagered", err)))
        return rc;
    if ((v = json_object_get(q, "min_lots")) &&
        (rc = acre_plan_money(&p->q.min_lots, v, t, "qualification.min_lots", err)))
        return rc;
    if ((v = json_object_get(q, "min_bets_count")) &&
        (rc = acre_plan_int(&p->q.min_bets, v, 0, "qualification.min_bets_count", err)))
        return rc;
    if ((v = json_object_get(q, "window_days")) &&
        (rc = acre_plan_int(&c->window_days, v, 0, "qualification.window_days", err)))
        return rc;
    if (acre_dec_sgn(&c->min_first) < 0 || acre_dec_sgn(&c->min_total) < 0 ||
        acre_dec_sgn(&p->q.min_wagered) < 0 || acre_dec_sgn(&p->q.min_lots) < 0)
        return acre_error_set(err, ACRE_EINVALID, "qualification", "range",
                              "qualification: thresholds must not be negative");
    if ((v = json_object_get(q, "kyc_status")) &&
        (rc = acre_plan_strlist(&c->kyc, v, nonempty, "qualification.kyc_status", err)))
        return rc;
    if ((v = json_object_get(q, "countries")) &&
        (rc = acre_plan_strlist(&c->countries, v, is_country, "qualification.countries", err)))
        return rc;
    if ((v = json_object_get(q, "exclude_countries")) &&
        (rc = acre_plan_strlist(&c->exclude_countries, v, is_country,
                                "qualification.exclude_countries", err)))
        return rc;
    if ((v = json_object_get(q, "exclude_flags"))) {
        const json_t *x;
        if (!json_is_array(v))
            return acre_error_set(err, ACRE_EINVALID, "qualification.exclude_flags", "type",
                                  "qualification.exclude_flags: must be an array of flags");
        p->q.exclude_flags = 0;
        json_array_foreach((json_t *)v, i, x) {
            int f = -1;
            for (int k = 0; k < 4 && json_is_string(x); k++)
                if (strcmp(acre_flag_names[k], json_string_value(x)) == 0)
                    f = k;
            if (f < 0)
                return acre_error_set(err, ACRE_EINVALID, "qualification.exclude_flags", "enum",
                                      "qualification.exclude_flags[%zu]: must be one of fraud, "
                                      "bonus_abuse, multi_account, self_excluded", i);
            p->q.exclude_flags |= 1u << f;
        }
    }
    return 0;
}

/* The close's transaction IDs (acre_close.ids), for by_time: set by acre_qualify around its
 * sort, per thread (the rules run on two). */
static _Thread_local const char *sort_ids;

static int by_time(const void *x, const void *y)
{
    const acre_qev *a = x, *b = y;
    if (a->sec != b->sec)
        return a->sec < b->sec ? -1 : 1;
    if (a->nsec != b->nsec)
        return a->nsec < b->nsec ? -1 : 1;
    if (a->activity != b->activity)
        return a->activity - b->activity;
    /* transactions at one instant in ID order; activity rows (no ID) apply together */
    if (a->activity || a->txn_id == b->txn_id)
        return 0;
    return strcmp(sort_ids + a->txn_id, sort_ids + b->txn_id) < 0 ? -1 : 1;
}

/* Whether the events are in by_time order already: they usually arrive so (transaction IDs
 * that grow with time), and then the sort is skipped. */
static int in_order(const acre_qev *ev, int n)
{
    for (int i = 1; i < n; i++)
        if (by_time(&ev[i - 1], &ev[i]) > 0)
            return 0;
    return 1;
}

int acre_qualify(acre_close *c, acre_cust *cu, const acre_plan *p, char qat[31], int64_t *qsec,
                 int32_t *qnsec, const char **ftd_id, acre_dec *ftd_amount)
{
    const qcfg *q = acre_plan_config(p, &acre_rule_qualification);
    int need_first = acre_dec_sgn(&q->min_first) > 0 || p->needs_ftd_amount;
    int need_total = acre_dec_sgn(&q->min_total) > 0;
    int need_wager = acre_dec_sgn(&p->q.min_wagered) > 0;
    int64_t wend = cu->signup_sec + (int64_t)q->window_days * 86400;
    acre_dec total, wagered, lots, x;
    long bets = 0;
    int found = 0, have_ftd = 0, first_ok = 0;

    if (p != cu->evplan)
        return 0; /* no events were kept for this plan */
    sort_ids = c->ids.p;
    if (cu->nev > 1 && !in_order(cu->ev, cu->nev))
        qsort(cu->ev, (size_t)cu->nev, sizeof *cu->ev, by_time);
    sort_ids = NULL;
    acre_dec_init(&total);
    acre_dec_init(&wagered);
    acre_dec_init(&lots);
    acre_dec_init(&x);
    for (int i = 0; i < cu->nev && !found;) {
        int j = i;
        /* events at the same instant apply together */
        while (j < cu->nev && cu->ev[j].sec == cu->ev[i].sec && cu->ev[j].nsec == cu->ev[i].nsec)
            j++;
        if (q->window_days >= 0 &&
            (cu->ev[i].sec > wend || (cu->ev[i].sec == wend && cu->ev[i].nsec > cu->signup_nsec)))
            break;
        for (int k = i; k < j; k++) {
            const acre_qev *e = &cu->ev[k];
            char date[11];
            acre_date_of(date, e->sec);
            if (e->activity) {
                if (need_wager && e->amount.mant) {
                    acre_close_convert(c, &x, &e->amount, e->currency, NULL, date, p->currency);
                    acre_dec_add(&wagered, &wagered, &x);
                }
                bets += e->bets;
                if (e->other.mant) {
                    /* lots are not money: no conversion */
                    acre_number_to_dec(&x, &e->other);
                    acre_dec_add(&lots, &lots, &x);
                }
                continue;
            }
            if (!have_ftd) {
                have_ftd = 1;
                *ftd_id = c->ids.p + e->txn_id;
                if (need_first) {
                    acre_close_convert(c, ftd_amount, &e->amount, e->currency,
                                       e->has_usd ? &e->other : NULL, date, p->currency);
                    /* a 0 threshold is no condition (SPEC 4): a negative first event,
                     * read only for percent_of_first, still qualifies */
                    first_ok = acre_dec_sgn(&q->min_first) == 0 ||
                               acre_dec_cmp(ftd_amount, &q->min_first) >= 0;
                } else {
                    acre_dec_set_si(ftd_amount, 0);
                    first_ok = 1;
                }
            }
            if (need_total) {
                acre_close_convert(c, &x, &e->amount, e->currency,
                                   e->has_usd ? &e->other : NULL, date, p->currency);
                acre_dec_add(&total, &total, &x);
            }
        }
        if (have_ftd && first_ok && acre_dec_cmp(&total, &q->min_total) >= 0 &&
            acre_dec_cmp(&wagered, &p->q.min_wagered) >= 0 && bets >= p->q.min_bets &&
            acre_dec_cmp(&lots, &p->q.min_lots) >= 0) {
            found = 1;
            acre_datetime_format(qat, cu->ev[i].sec, cu->ev[i].nsec);
            *qsec = cu->ev[i].sec;
            *qnsec = cu->ev[i].nsec;
        }
        i = j;
    }
    acre_dec_clear(&total);
    acre_dec_clear(&wagered);
    acre_dec_clear(&lots);
    acre_dec_clear(&x);
    return found;
}

int acre_conditions(const acre_close *c, const acre_cust *cu, const acre_plan *p)
{
    const qcfg *q = acre_plan_config(p, &acre_rule_qualification);
    (void)c;
    if (q->kyc.n && !(cu->kyc && acre_strlist_has(&q->kyc, cu->kyc)))
        return 0;
    if (q->countries.n && !(cu->country[0] && acre_strlist_has(&q->countries, cu->country)))
        return 0;
    if (cu->country[0] && acre_strlist_has(&q->exclude_countries, cu->country))
        return 0;
    return (cu->flags & p->q.exclude_flags) == 0;
}

/* Marks the affiliate's unsettled customers who qualify at this close under its plan. Those
 * whose qualified_at is before the assignment's first period or the first closed period are
 * skipped, not settled (SPEC 9). */
static int run(acre_close *c, acre_aff *a, acre_error *err)
{
    int64_t floor_sec;
    (void)err;
    if (!a->plan)
        return 0;
    floor_sec = acre_month_start(a->assign_from > c->first_closed ? a->assign_from
                                                                   : c->first_closed);
    for (int i = 0; i < a->ncusts; i++) {
        acre_cust *cu = &c->custs[a->custs[i]];
        if (cu->settled)
            continue;
        /* the conditions first: a customer they exclude needs no rate for its events (SPEC 9
         * "Currency") */
        if (!acre_conditions(c, cu, a->plan))
            continue;
        if (!acre_qualify(c, cu, a->plan, cu->qualified_at, &cu->qsec, &cu->qnsec, &cu->ftd_id, &cu->ftd_amount))
            continue;
        if (cu->qsec < floor_sec)
            continue;
        cu->qualifies = 1;
        a->qualified_count++;
    }
    return 0;
}

const acre_rule_kind acre_rule_qualification = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "qualification",
    .phase = 1,
    .section = "qualification",
    .parse = parse,
    .free = cfg_free,
    .run = run,
};
