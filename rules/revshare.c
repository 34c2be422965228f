/* rules/revshare.c — the revenue basis and the share of it paid (SPEC 5.3).
 *
 * While the close streams the records, value() says what each record version adds to its
 * customer's GGR, deductions, reported NGR or net revenue in the plan currency; the close sums
 * them per counted customer (on-time and late differences). run() adds them up per affiliate,
 * applies fees and carryover, and the rate or tier bands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "close.h"
#include "datetime.h"
#include "verify_util.h"

extern const acre_rule_kind acre_rule_revshare;

static int nonempty(const char *s, size_t n)
{
    (void)s;
    return n > 0;
}

/* The section: which records make the basis and how (basis, ngr source, deduct, game types,
 * net_revenue types, read by value() while the close streams), and the valuation of the basis.
 * customer_months is in acre_plan.rs (the close reads it to count active customers);
 * negative_carryover is carryover's. */
typedef struct rscfg {
    int basis;
    int reported;            /* ngr.source == reported */
    unsigned deduct;         /* bits, TT_BTR included */
    acre_strlist game_types; /* n == 0: all */
    unsigned nr_add, nr_sub;
    acre_dec admin_fee, tax;
    char *admin_fee_text, *tax_text;
    int has_rate;
    acre_dec rate;
    char *rate_text;
    acre_tiers tiers;
} rscfg;

static void cfg_free(void *config)
{
    rscfg *c = config;
    acre_dec_clear(&c->admin_fee);
    acre_dec_clear(&c->tax);
    free(c->admin_fee_text);
    free(c->tax_text);
    acre_dec_clear(&c->rate);
    free(c->rate_text);
    acre_plan_tiers_free(&c->tiers);
    acre_strlist_free(&c->game_types);
    free(c);
}

static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    static const char *const keys[] = {
        "basis", "ngr", "net_revenue", "rate", "tiers", "customer_months", "negative_carryover",
        NULL};
    static const char *const ngr_keys[] = {"source", "deduct",     "admin_fee",
                                           "tax",    "game_types", NULL};
    static const char *const nr_keys[] = {"add", "subtract", NULL};
    const json_t *s = json_object_get(doc, "revshare"), *v, *x;
    rscfg *c;
    int rc;

    if (!s)
        return 0;
    if (!(c = acre_calloc(1, sizeof *c)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    acre_dec_init(&c->admin_fee);
    acre_dec_init(&c->tax);
    acre_dec_init(&c->rate);
    /* the defaults of SPEC 4 */
    c->basis = BASIS_NGR;
    c->deduct = 1u << TT_BONUS;
    c->nr_add = (1u << TT_CHALLENGE_FEE) | (1u << TT_RESET_FEE);
    c->nr_sub = 1u << TT_REFUND;
    *config = c;
    if ((rc = acre_plan_keys(s, "revshare", keys, err)))
        return rc;
    if ((v = json_object_get(s, "basis"))) {
        const char *b = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(b, "ngr") == 0)
            c->basis = BASIS_NGR;
        else if (strcmp(b, "net_revenue") == 0)
            c->basis = BASIS_NET_REVENUE;
        else
            return acre_error_set(err, ACRE_EINVALID, "revshare.basis", "enum",
                                  "revshare.basis: must be ngr or net_revenue");
    }
    if ((v = json_object_get(s, "ngr"))) {
        if ((rc = acre_plan_keys(v, "revshare.ngr", ngr_keys, err)))
            return rc;
        if ((x = json_object_get(v, "source"))) {
            const char *b = json_is_string(x) ? json_string_value(x) : "";
            if (strcmp(b, "computed") == 0)
                c->reported = 0;
            else if (strcmp(b, "reported") == 0)
                c->reported = 1;
            else
                return acre_error_set(err, ACRE_EINVALID, "revshare.ngr.source", "enum",
                                      "revshare.ngr.source: must be computed or reported");
        }
        if ((x = json_object_get(v, "deduct")) &&
            (rc = acre_plan_types(&c->deduct, x, 1, "revshare.ngr.deduct", err)))
            return rc;
        if ((x = json_object_get(v, "admin_fee")) &&
            (rc = acre_plan_rate(&c->admin_fee, &c->admin_fee_text, x, t, "revshare.ngr.admin_fee",
                                 err)))
            return rc;
        if ((x = json_object_get(v, "tax")) &&
            (rc = acre_plan_rate(&c->tax, &c->tax_text, x, t, "revshare.ngr.tax", err)))
            return rc;
        if ((x = json_object_get(v, "game_types")) &&
            (rc =
                 acre_plan_strlist(&c->game_types, x, nonempty, "revshare.ngr.game_types", err)))
            return rc;
    }
    if ((v = json_object_get(s, "net_revenue"))) {
        if ((rc = acre_plan_keys(v, "revshare.net_revenue", nr_keys, err)))
            return rc;
        if ((x = json_object_get(v, "add")) &&
            (rc = acre_plan_types(&c->nr_add, x, 0, "revshare.net_revenue.add", err)))
            return rc;
        if ((x = json_object_get(v, "subtract")) &&
            (rc = acre_plan_types(&c->nr_sub, x, 0, "revshare.net_revenue.subtract", err)))
            return rc;
    }
    if (!!json_object_get(s, "rate") + !!json_object_get(s, "tiers") != 1)
        return acre_error_set(err, ACRE_EINVALID, "revshare", "one_of",
                              "revshare: needs exactly one of rate and tiers");
    if ((v = json_object_get(s, "rate"))) {
        c->has_rate = 1;
        if ((rc = acre_plan_rate(&c->rate, &c->rate_text, v, t, "revshare.rate", err)))
            return rc;
    }
    if ((v = json_object_get(s, "tiers")) &&
        (rc = acre_plan_tiers(&c->tiers, v, t, 0, "revshare.tiers", err)))
        return rc;
    if ((v = json_object_get(s, "customer_months")) &&
        (rc = acre_plan_int(&p->customer_months, v, 1, "revshare.customer_months", err)))
        return rc;
    return 0;
}

/* ---- value: what one streamed record adds to its customer's basis (the close calls it) ---- */

/* Adds amount n (in `cur`, dated `date`; usd its amount_usd or NULL) to acc in currency `to`:
 * as written when the currencies match, else converted (SPEC 5.1). A zero needs no rate.
 * Returns 0, or -1 when the sum could not grow. */
static int add_amount(acre_close *c, acre_acc *acc, const acre_number *n, const char *cur,
                      const acre_number *usd, const char *date, const char *to)
{
    acre_dec d;
    int rc;
    if (strcmp(cur, to) == 0)
        return acre_acc_add_number(acc, n);
    if (!n->mant)
        return 0;
    acre_dec_init(&d);
    acre_close_convert(c, &d, n, cur, usd, date, to);
    rc = acre_acc_add_dec(acc, &d);
    acre_dec_clear(&d);
    return rc;
}

/* The record's GGR: its ggr when reported, else total_bets - total_wins. */
static int add_ggr(acre_close *c, acre_acc *a, const acre_rec_view *r, const char *to)
{
    acre_number n, w;
    int rc = 0;
    if (r->ggr) {
        acre_number_stored(&n, r->ggr);
        return add_amount(c, a, &n, r->currency, NULL, r->date, to);
    }
    acre_number_stored(&n, r->total_bets);
    acre_number_stored(&w, r->total_wins);
    w.neg = w.mant ? !w.neg : 0;
    if (strcmp(r->currency, to) == 0)
        return acre_acc_add_number(a, &n) || acre_acc_add_number(a, &w) ? -1 : 0;
    if (n.mant || w.mant) {
        acre_dec d, e;
        acre_dec_init(&d);
        acre_dec_init(&e);
        acre_number_to_dec(&d, &n);
        acre_number_to_dec(&e, &w);
        acre_dec_add(&d, &d, &e);
        if (acre_dec_sgn(&d)) {
            acre_close_convert_dec(c, &e, &d, r->currency, r->date, to);
            rc = acre_acc_add_dec(a, &e);
        }
        acre_dec_clear(&d);
        acre_dec_clear(&e);
    }
    return rc;
}

/* SPEC 5.3: GGR and deductions (computed NGR), reported NGR, or net revenue (its add and
 * subtract types), within customer_months of signup, in the plan currency at the record's
 * date. Reads only r, p and the config (rule.h "Values"). */
static int value(acre_close *c, const void *config, const acre_plan *p, const acre_rec_view *r,
                 acre_acc *a, acre_acc *b, acre_error *err)
{
    const rscfg *cfg = config;
    acre_number n, usd;
    if (p->customer_months > 0) {
        char cut[11];
        if (acre_add_months_date(cut, r->signup_sec, p->customer_months) == 0 &&
            strcmp(r->date, cut) >= 0)
            return 0;
    }
    switch (r->table) {
    case ACRE_REC_GAMING:
        if (cfg->basis != BASIS_NGR)
            return 0;
        if (cfg->game_types.n && !acre_strlist_has(&cfg->game_types, r->game_type))
            return 0;
        if (!cfg->reported)
            return add_ggr(c, a, r, p->currency) ? ACRE_ENOMEM : 0;
        if (!r->ngr)
            return acre_error_set(err, ACRE_EREFUSED, "ngr", "reported_ngr_missing",
                                  "plan %s reads reported NGR, but gaming activity "
                                  "%s/%s/%s/%s has no ngr",
                                  p->label, r->activity_date, r->customer_id, r->game_type,
                                  r->currency);
        acre_number_stored(&n, r->ngr);
        return add_amount(c, b, &n, r->currency, NULL, r->date, p->currency) ? ACRE_ENOMEM : 0;
    case ACRE_REC_TRANSACTION: {
        int type = acre_txn_type(r->type, strlen(r->type)), neg = 0;
        acre_acc *to = NULL;
        if (type < 0 || !acre_strlist_has(&p->counted_statuses, r->status))
            return 0;
        if (cfg->basis == BASIS_NGR && !cfg->reported && (cfg->deduct & (1u << type)))
            to = a;
        else if (cfg->basis == BASIS_NET_REVENUE && (cfg->nr_add & (1u << type)))
            to = b;
        else if (cfg->basis == BASIS_NET_REVENUE && (cfg->nr_sub & (1u << type)))
            to = b, neg = 1;
        if (!to)
            return 0;
        acre_number_stored(&n, r->amount);
        if (neg)
            n.neg = n.mant ? !n.neg : 0;
        if (r->amount_usd) {
            acre_number_stored(&usd, r->amount_usd);
            if (neg)
                usd.neg = usd.mant ? !usd.neg : 0;
        }
        return add_amount(c, to, &n, r->currency, r->amount_usd ? &usd : NULL, r->date,
                          p->currency)
                   ? ACRE_ENOMEM
                   : 0;
    }
    case ACRE_REC_BONUS:
        if (cfg->basis != BASIS_NGR || cfg->reported || !(cfg->deduct & (1u << TT_BTR)) ||
            strcmp(r->status, "Completed") != 0 || !r->btr)
            return 0;
        acre_number_stored(&n, r->btr);
        return add_amount(c, a, &n, r->currency, NULL, r->date, p->currency) ? ACRE_ENOMEM : 0;
    default:
        return 0; /* trading activity carries no revenue */
    }
}

/* ---- run: the line ---- */

static void band_json(acre_buf *b, int first, const acre_dec *from, const char *rate,
                      const acre_dec *base, const acre_dec *commission)
{
    char *f = acre_dec_format(from), *ba = acre_dec_format(base), *co = acre_dec_format(commission);
    if (!f || !ba || !co)
        b->oom = 1; /* the line's detail is then refused as out of memory */
    else
        acre_buf_printf(b, "%s{\"from\":\"%s\",\"rate\":\"%s\",\"base\":\"%s\",\"commission\":\"%s\"}",
                    first ? "" : ",", f, rate, ba, co);
    free(f);
    free(ba);
    free(co);
}

/* Commission on adjusted basis A > 0; writes the bands. */
static void commission(acre_dec *out, acre_buf *bands, const rscfg *p, const acre_dec *A,
                       const acre_dec *metric)
{
    const acre_tiers *t = &p->tiers;
    acre_dec x, zero;
    acre_dec_init(&x);
    acre_dec_init(&zero);
    acre_dec_set_si(out, 0);
    acre_buf_adds(bands, "[");
    if (acre_dec_sgn(A) <= 0) {
        /* nothing to pay */
    } else if (p->has_rate) {
        acre_dec_mul(out, A, &p->rate);
        band_json(bands, 1, &zero, p->rate_text, A, out);
    } else if (t->mode == TIERS_FLAT) {
        const acre_band *b = &t->bands[0];
        for (int i = 1; i < t->n; i++)
            if (acre_dec_cmp(&t->bands[i].from, metric) <= 0)
                b = &t->bands[i];
        acre_dec_mul(out, A, &b->value);
        band_json(bands, 1, &b->from, b->text, A, out);
    } else {
        acre_dec base, c;
        acre_dec_init(&base);
        acre_dec_init(&c);
        for (int i = 0; i < t->n; i++) {
            /* the slice of A between this band's from and the next one's */
            if (i + 1 < t->n && acre_dec_cmp(A, &t->bands[i + 1].from) < 0)
                acre_dec_set(&base, A);
            else if (i + 1 < t->n)
                acre_dec_set(&base, &t->bands[i + 1].from);
            else
                acre_dec_set(&base, A);
            acre_dec_sub(&base, &base, &t->bands[i].from);
            if (acre_dec_sgn(&base) < 0)
                acre_dec_set_si(&base, 0);
            acre_dec_mul(&c, &base, &t->bands[i].value);
            acre_dec_add(out, out, &c);
            band_json(bands, i == 0, &t->bands[i].from, t->bands[i].text, &base, &c);
        }
        acre_dec_clear(&base);
        acre_dec_clear(&c);
    }
    acre_buf_adds(bands, "]");
    acre_dec_clear(&x);
    acre_dec_clear(&zero);
}

static void late_json(acre_buf *b, const acre_cust *cu, int basis)
{
    acre_buf_adds(b, "[");
    for (int i = 0; i < cu->nlate; i++) {
        const acre_late *l = &cu->late[i];
        /* the key is already JSON: a string, or an array for composite keys */
        acre_buf_printf(b, "%s{\"record\":\"%s\",\"key\":%s", i ? "," : "", l->kind, l->key);
        acre_buf_printf(b, ",\"date\":\"%s\"", l->date);
        if (basis == 0) {
            acre_detail_dec(b, "ggr", &l->ggr);
            acre_detail_dec(b, "deductions", &l->ded);
        } else if (basis == 1) {
            acre_detail_dec(b, "ngr", &l->ngr);
        } else {
            acre_detail_dec(b, "net_revenue", &l->nr);
        }
        acre_buf_adds(b, "}");
    }
    acre_buf_adds(b, "]");
}

static int run(acre_close *c, acre_aff *a, acre_error *err)
{
    const acre_plan *p = a->plan;
    const rscfg *cfg = p ? acre_plan_config(p, &acre_rule_revshare) : NULL;
    acre_dec ggr, ded, x, fees, B, C, A, out, metric, com;
    acre_dec *all[] = {&ggr, &ded, &x, &fees, &B, &C, &A, &out, &metric, &com};
    acre_buf custs = {0}, bands = {0};
    acre_line *l;
    int first = 1, rc;
    const char *basis_kind;

    if (!cfg)
        return 0;
    /* deficits that can no longer be used expire before anything else (carryover's own run
     * does this for affiliates without revshare) */
    if ((rc = acre_carry_expire(c, a, err)))
        return rc;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        acre_dec_init(all[i]);
    basis_kind = cfg->basis == BASIS_NET_REVENUE ? "net_revenue"
                 : cfg->reported                 ? "ngr_reported"
                                                  : "ngr_computed";
    acre_buf_adds(&custs, "[");
    for (int i = 0; i < a->ncusts; i++) {
        acre_cust *cu = &c->custs[a->custs[i]];
        if (!cu->counts || !cu->has_rev)
            continue;
        acre_buf_adds(&custs, first ? "{" : ",{");
        first = 0;
        acre_detail_str(&custs, "customer_id", cu->id);
        if (cfg->basis == BASIS_NET_REVENUE) {
            acre_acc_get(&x, &cu->nr);
            acre_dec_add(&B, &B, &x);
            acre_detail_acc(&custs, "net_revenue", &cu->nr);
        } else if (cfg->reported) {
            acre_acc_get(&x, &cu->ngr);
            acre_dec_add(&B, &B, &x);
            acre_detail_acc(&custs, "ngr", &cu->ngr);
        } else {
            acre_acc_get(&x, &cu->ggr);
            acre_dec_add(&ggr, &ggr, &x);
            acre_detail_acc(&custs, "ggr", &cu->ggr);
            acre_acc_get(&x, &cu->ded);
            acre_dec_add(&ded, &ded, &x);
            acre_detail_acc(&custs, "deductions", &cu->ded);
        }
        acre_buf_adds(&custs, ",\"late\":");
        late_json(&custs, cu, cfg->basis == BASIS_NET_REVENUE ? 2 : cfg->reported ? 1 : 0);
        acre_buf_adds(&custs, "}");
    }
    acre_buf_adds(&custs, "]");
    if (cfg->basis == BASIS_NGR && !cfg->reported) {
        /* fees on the affiliate's total GGR, late differences included */
        if (acre_dec_sgn(&ggr) > 0) {
            acre_dec_add(&x, &cfg->admin_fee, &cfg->tax);
            acre_dec_mul(&fees, &x, &ggr);
        }
        acre_dec_sub(&B, &ggr, &ded);
        acre_dec_sub(&B, &B, &fees);
    }
    if (acre_carry_apply(c, a, &B, &C, &A, &out)) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto done;
    }
    if (cfg->tiers.present && cfg->tiers.metric == METRIC_QUALIFIED)
        acre_dec_set_si(&metric, a->qualified_count);
    else if (cfg->tiers.present && cfg->tiers.metric == METRIC_ACTIVE)
        acre_dec_set_si(&metric, a->active_customers);
    else
        acre_dec_set(&metric, &A);
    commission(&com, &bands, cfg, &A, &metric);
    if (!(l = acre_close_line(a, acre_line_kind_index(&acre_rule_revshare, 0), p->label, NULL))) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto done;
    }
    acre_line_set(l, &com, p->scale, p->mode);
    acre_detail_str(&l->detail, "basis_kind", basis_kind);
    /* how the numbers below were made, so `acre verify` can redo them from the line alone */
    acre_detail_str(&l->detail, "method",
                    cfg->has_rate                   ? "rate"
                    : cfg->tiers.mode == TIERS_FLAT ? "tiers_flat"
                                                    : "tiers_progressive");
    acre_detail_str(&l->detail, "carryover", acre_carry_on(p) ? "carry" : "none");
    if (cfg->basis == BASIS_NGR && !cfg->reported) {
        acre_detail_dec(&l->detail, "ggr", &ggr);
        acre_detail_dec(&l->detail, "deductions", &ded);
        acre_detail_str(&l->detail, "admin_fee", cfg->admin_fee_text ? cfg->admin_fee_text : "0%");
        acre_detail_str(&l->detail, "tax", cfg->tax_text ? cfg->tax_text : "0%");
        acre_detail_dec(&l->detail, "fees", &fees);
    }
    acre_detail_dec(&l->detail, "basis", &B);
    acre_detail_dec(&l->detail, "carried_in", &C);
    acre_detail_dec(&l->detail, "adjusted", &A);
    acre_detail_dec(&l->detail, "carried_out", &out);
    acre_detail_dec(&l->detail, "metric", &metric);
    acre_detail_buf(&l->detail, "bands", &bands);
    acre_detail_buf(&l->detail, "customers", &custs);
    rc = 0;
done: /* every path (the label is not `out`: a decimal has that name) */
    acre_buf_free(&custs);
    acre_buf_free(&bands);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        acre_dec_clear(all[i]);
    return rc;
}

/* ---- verify (engine/verify.c calls it through the table) ---- */

/* A revshare line: basis, fees, carryover, bands, as run() and acre_carry_apply made them. */
static void verify(acre_vc *v, const json_t *l, const json_t *d, const char *currency,
                   const acre_dec *exact)
{
    static const char *const basis_kinds[] = {"ngr_computed", "ngr_reported", "net_revenue", NULL};
    static const char *const methods[] = {"rate", "tiers_flat", "tiers_progressive", NULL};
    static const char *const modes[] = {"carry", "none", NULL};
    const char *bk = acre_vc_str(d, "basis_kind"), *method = acre_vc_str(d, "method"),
               *cm = acre_vc_str(d, "carryover");
    const json_t *custs = json_object_get(d, "customers"), *bands = json_object_get(d, "bands");
    acre_dec ggr, ded, af, tax, fees, B, C, A, out, metric, x, y, sum, sum2, zero;
    acre_dec *all[] = {&ggr, &ded,    &af, &tax, &fees, &B,    &C,   &A,
                       &out, &metric, &x,  &y,   &sum,  &sum2, &zero};
    size_t i, nall = sizeof all / sizeof all[0];
    const json_t *c, *b;
    int computed, ok = 1;

    (void)l;
    (void)currency;
    for (i = 0; i < nall; i++)
        acre_dec_init(all[i]);
    if (!acre_vc_one_of(bk, basis_kinds) || !acre_vc_one_of(method, methods) ||
        !acre_vc_one_of(cm, modes)) {
        acre_vc_bad(v, "detail.basis_kind, method or carryover is missing or unknown");
        goto out;
    }
    if (!json_is_array(custs) || !json_is_array(bands)) {
        acre_vc_bad(v, "detail.customers and detail.bands must be arrays");
        goto out;
    }
    computed = strcmp(bk, "ngr_computed") == 0;
    if (acre_vc_num(v, d, "basis", &B) | acre_vc_num(v, d, "carried_in", &C) |
        acre_vc_num(v, d, "adjusted", &A) | acre_vc_num(v, d, "carried_out", &out) |
        acre_vc_num(v, d, "metric", &metric))
        goto out;

    /* the basis: the customers' sums, then fees on the affiliate's total GGR */
    json_array_foreach(custs, i, c)
    {
        const char *f1 = computed ? "ggr" : strcmp(bk, "ngr_reported") == 0 ? "ngr" : "net_revenue";
        size_t at = strlen(v->where);
        snprintf(v->where + at, sizeof v->where - at, ", detail.customers[%zu]", i);
        if (acre_vc_num(v, c, f1, &x) || (computed && acre_vc_num(v, c, "deductions", &y))) {
            ok = 0;
        } else {
            acre_dec_add(&sum, &sum, &x);
            if (computed)
                acre_dec_add(&sum2, &sum2, &y);
        }
        v->where[at] = '\0';
    }
    if (computed) {
        if (acre_vc_num(v, d, "ggr", &ggr) | acre_vc_num(v, d, "deductions", &ded) |
            acre_vc_rate(v, d, "admin_fee", &af) | acre_vc_rate(v, d, "tax", &tax) |
            acre_vc_num(v, d, "fees", &fees))
            goto out;
        if (ok) {
            acre_vc_same(v, "detail.ggr", &ggr, &sum, "the sum of customers[].ggr");
            acre_vc_same(v, "detail.deductions", &ded, &sum2, "the sum of customers[].deductions");
        }
        acre_dec_set_si(&x, 0);
        if (acre_dec_sgn(&ggr) > 0) {
            acre_dec_add(&x, &af, &tax);
            acre_dec_mul(&x, &x, &ggr);
        }
        acre_vc_same(v, "detail.fees", &fees, &x, "(admin_fee + tax) × max(ggr, 0)");
        acre_dec_sub(&x, &ggr, &ded);
        acre_dec_sub(&x, &x, &fees);
        acre_vc_same(v, "detail.basis", &B, &x, "ggr − deductions − fees");
    } else if (ok) {
        acre_vc_same(v, "detail.basis", &B, &sum,
                     strcmp(bk, "ngr_reported") == 0 ? "the sum of customers[].ngr"
                                                     : "the sum of customers[].net_revenue");
    }

    /* carryover (SPEC 5.3): A = B + C; a deficit is carried only in mode carry */
    if (acre_dec_sgn(&C) > 0 || (strcmp(cm, "none") == 0 && acre_dec_sgn(&C) != 0))
        acre_vc_bad(v, "detail.carried_in must be 0 or below, and 0 in mode none");
    acre_dec_add(&x, &B, &C);
    acre_vc_same(v, "detail.adjusted", &A, &x, "basis + carried_in");
    acre_dec_set_si(&x, 0);
    if (acre_dec_sgn(&A) <= 0 && strcmp(cm, "carry") == 0)
        acre_dec_set(&x, &A);
    acre_vc_same(v, "detail.carried_out", &out, &x, "min(adjusted, 0) in mode carry, else 0,");
    if (strcmp(method, "tiers_flat") != 0)
        acre_vc_same(v, "detail.metric", &metric, &A, "the adjusted basis");

    /* the bands: nothing on A <= 0; a rate or a flat band on the whole of A; progressive
     * slices between consecutive froms */
    acre_dec_set_si(&sum, 0);
    if (acre_dec_sgn(&A) <= 0) {
        if (json_array_size(bands) != 0)
            acre_vc_bad(v, "detail.bands must be empty when the adjusted basis is not above 0");
    } else if (strcmp(method, "tiers_progressive") != 0 && json_array_size(bands) != 1) {
        acre_vc_bad(v, "detail.bands must hold one band for method %s", method);
    } else if (json_array_size(bands) == 0) {
        acre_vc_bad(v, "detail.bands is empty");
    }
    json_array_foreach(bands, i, b)
    {
        acre_dec from, r, base, com;
        char what[64];
        acre_dec_init(&from);
        acre_dec_init(&r);
        acre_dec_init(&base);
        acre_dec_init(&com);
        snprintf(what, sizeof what, "detail.bands[%zu]", i);
        if (acre_vc_num(v, b, "from", &from) | acre_vc_rate(v, b, "rate", &r) |
            acre_vc_num(v, b, "base", &base) | acre_vc_num(v, b, "commission", &com)) {
            ok = 0;
        } else {
            if (strcmp(method, "tiers_progressive") == 0) {
                /* the slice of A between this band's from and the next one's */
                const json_t *next = json_array_get(bands, i + 1);
                if (next &&
                    acre_vc_parse_q(&y, acre_vc_str(next, "from") ? acre_vc_str(next, "from")
                                                                  : "") == 0 &&
                    acre_dec_cmp(&A, &y) >= 0)
                    acre_dec_set(&x, &y);
                else
                    acre_dec_set(&x, &A);
                if (next &&
                    acre_vc_parse_q(&y, acre_vc_str(next, "from") ? acre_vc_str(next, "from")
                                                                  : "") == 0 &&
                    acre_dec_cmp(&y, &from) <= 0)
                    acre_vc_bad(v, "%s: the next band's from must be above this one's", what);
                acre_dec_sub(&x, &x, &from);
                if (acre_dec_sgn(&x) < 0)
                    acre_dec_set_si(&x, 0);
                acre_vc_same(v, "base", &base, &x, "the slice of the adjusted basis in this band");
            } else {
                if (strcmp(method, "rate") == 0)
                    acre_vc_same(v, "from", &from, &zero, "a plain rate");
                acre_vc_same(v, "base", &base, &A, "the adjusted basis");
            }
            acre_dec_mul(&x, &r, &base);
            acre_vc_same(v, "commission", &com, &x, "rate × base");
            acre_dec_add(&sum, &sum, &com);
        }
        acre_dec_clear(&from);
        acre_dec_clear(&r);
        acre_dec_clear(&base);
        acre_dec_clear(&com);
    }
    if (ok)
        acre_vc_same(v, "exact", exact, &sum, "the sum of the bands' commissions");
out:
    for (i = 0; i < nall; i++)
        acre_dec_clear(all[i]);
}

static const acre_line_kind lines[] = {
    {"revshare", "revshare", "Revshare", ACRE_LINE_OWN, verify},
};

const acre_rule_kind acre_rule_revshare = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "revshare",
    .phase = 1,
    .section = "revshare",
    .lines = lines,
    .nlines = 1,
    .parse = parse,
    .free = cfg_free,
    .run = run,
    .value = value,
};
