/* rules/carryover.c — negative carryover: deficits kept in layers by the period they arose in
 * (SPEC 5.3, 9 "Basis and carryover").
 *
 * Layers that can no longer be used expire before anything else is computed. The kind's row
 * comes after revshare's, so that carryover_expired lines follow the revshare line in the
 * ledger (SPEC 6); revshare's run therefore expires them first for an affiliate whose plan has
 * revshare (acre_carry_expire), and this kind's run does it for every other affiliate.
 *
 * The layers are this kind's state between closes (include/acre/sys/rule.h "State"): its table
 * close_layer (declared here, layer_table), read into each affiliate's slot by load, written
 * back by save, and replayed from the ledgers by the audit hooks at the end of this file.
 * Revshare reaches them only through acre_carry_expire, acre_carry_apply and acre_carry_on
 * (engine/close.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "alloc.h"
#include "audit_util.h"
#include "close.h"
#include "store_int.h"
#include "verify_util.h"

extern const acre_rule_kind acre_rule_carryover, acre_rule_revshare;

/* revshare.negative_carryover; a plan without one has no config: mode none, no limit. */
typedef struct carrycfg {
    int carry;        /* mode carry */
    long max_periods; /* 0: no limit */
} carrycfg;

static void cfg_free(void *config)
{
    free(config);
}

static int parse(void **config, acre_plan *p, const json_t *doc, const acre_numtab *t,
                 acre_error *err)
{
    static const char *const keys[] = {"mode", "max_periods", NULL};
    const json_t *rs = json_object_get(doc, "revshare"), *nc, *v;
    carrycfg *c;
    int rc;
    (void)p;
    (void)t;
    if (!rs || !(nc = json_object_get(rs, "negative_carryover")))
        return 0;
    if ((rc = acre_plan_keys(nc, "revshare.negative_carryover", keys, err)))
        return rc;
    if (!(c = acre_calloc(1, sizeof *c)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    *config = c;
    if ((v = json_object_get(nc, "mode"))) {
        const char *m = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(m, "carry") == 0)
            c->carry = 1;
        else if (strcmp(m, "none") == 0)
            c->carry = 0;
        else
            return acre_error_set(err, ACRE_EINVALID, "revshare.negative_carryover.mode", "enum",
                                  "revshare.negative_carryover.mode: must be none or carry");
    }
    if ((v = json_object_get(nc, "max_periods")) &&
        (rc = acre_plan_int(&c->max_periods, v, 1, "revshare.negative_carryover.max_periods", err)))
        return rc;
    return 0;
}

/* ---- the layers, between closes ---- */

/* A deficit not yet absorbed or expired. */
typedef struct layer {
    int origin; /* period index (year*12+month-1) the deficit arose in */
    acre_dec amount;
} layer;

/* An affiliate's slot (acre_aff_state): its layers, oldest first, and the plan holding them. */
typedef struct held {
    char plan_id[256], label[300];
    layer *l;
    int n;
} held;

/* The affiliate's layers, or NULL when none were loaded or made for it at this close. */
static held *held_of(acre_aff *a)
{
    void **slot = acre_aff_state(a, &acre_rule_carryover);
    return slot ? *slot : NULL;
}

/* The affiliate's slot, made empty when it has none; NULL when out of memory. */
static held *hold(acre_aff *a)
{
    void **slot = acre_aff_state(a, &acre_rule_carryover);
    if (!slot)
        return NULL; /* not a row of acre_rule_kinds[]: cannot happen for this kind */
    if (!*slot)
        *slot = acre_calloc(1, sizeof(held));
    return *slot;
}

static void state_free(void *state)
{
    held *h = state;
    for (int k = 0; k < h->n; k++)
        acre_dec_clear(&h->l[k].amount);
    free(h->l);
    free(h);
}

/* The kind's table: the layers each close leaves, one row per affiliate and origin (the period
 * a deficit arose in), with the plan it arose under. Listed by this kind's row, so every backend
 * creates it and the core undoes, audits and compares it with the other state tables. */
static const acre_column layer_cols[] = {
    {"period", ACRE_COL_INT, 1, 1},   {"affiliate_id", ACRE_COL_TEXT, 1, 0},
    {"plan_id", ACRE_COL_TEXT, 1, 0}, {"plan", ACRE_COL_TEXT, 1, 0},
    {"origin", ACRE_COL_INT, 1, 1},   {"amount", ACRE_COL_TEXT, 1, 0}};
static const acre_table layer_table[] = {
    {.name = "close_layer",
     .cols = layer_cols,
     .ncols = (int)(sizeof layer_cols / sizeof layer_cols[0]),
     .key = {0, 1, 4},
     .nkey = 3,
     .close_period = "period"},
};

/* The layers one close left (its period the parameter), by affiliate and origin. */
static const acre_query q_layers = {ACRE_Q_SELECT,
                                    "close_layer",
                                    {"affiliate_id", "plan_id", "plan", "origin", "amount", NULL},
                                    {{"period", ACRE_EQ}},
                                    {"affiliate_id", "origin", NULL},
                                    0,
                                    0};
static const acre_query q_insert = {
    ACRE_Q_INSERT, "close_layer", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};

/* A text column, or NULL. */
static const char *col_text(const acre_value *row, int k)
{
    return row[k].type == ACRE_VAL_TEXT ? row[k].s : NULL;
}

#define TXT(k) col_text(row, (k))

/* One stored layer, appended to its affiliate's (rows come oldest first). */
static int add_layer(void *arg, const acre_value *row, int ncol, acre_error *err)
{
    acre_close *c = arg;
    long i;
    held *h;
    layer *n;
    (void)ncol;
    if (!acre_strset_get(&c->aff_index, TXT(0), strlen(TXT(0)), &i))
        return 0;
    if (!(h = hold(&c->affs[i])) || !(n = acre_realloc(h->l, (size_t)(h->n + 1) * sizeof *n)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    h->l = n;
    snprintf(h->plan_id, sizeof h->plan_id, "%s", TXT(1));
    snprintf(h->label, sizeof h->label, "%s", TXT(2));
    n[h->n].origin = (int)row[3].i;
    acre_dec_init(&n[h->n].amount);
    h->n++;
    return acre_close_stored(&n[h->n - 1].amount, TXT(4), err,
                             "close_layer.amount of affiliate %s, origin %d", TXT(0),
                             n[h->n - 1].origin);
}

/* The layers the previous close left, into each affiliate's slot. */
static int load(acre_close *c, acre_store *s, int last, long long watermark, acre_error *err)
{
    acre_value p = acre_val_int(last);
    (void)watermark;
    if (last < 0)
        return 0;
    return acre_store_query(s, &q_layers, &p, add_layer, c, "reading the store", err);
}

/* This close's layers: one row each. */
static int save(acre_close *c, acre_store *s, acre_error *err)
{
    acre_stmt *st = NULL;
    int rc = acre_store_stmt(s, &q_insert, &st, err);
    for (int i = 0; !rc && i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        held *h = held_of(a);
        for (int k = 0; h && !rc && k < h->n; k++) {
            char *amount = acre_dec_format(&h->l[k].amount);
            acre_value row[6];
            if (!amount) {
                rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                break;
            }
            row[0] = acre_val_int(c->period);
            row[1] = acre_val_text(a->id);
            row[2] = acre_val_text(h->plan_id);
            row[3] = acre_val_text(h->label);
            row[4] = acre_val_int(h->l[k].origin);
            row[5] = acre_val_text(amount);
            rc = acre_store_run(s, st, row, NULL, NULL, "storing carryover", err);
            free(amount);
        }
    }
    acre_store_done(s, st);
    return rc;
}

/* ---- the close ---- */

static void layers_json(acre_buf *b, const layer *l, int n)
{
    acre_buf_adds(b, "[");
    for (int i = 0; i < n; i++) {
        char per[8];
        char *s = acre_dec_format(&l[i].amount);
        acre_period_text(per, l[i].origin);
        if (!s)
            b->oom = 1; /* the line's detail is then refused as out of memory */
        else
            acre_buf_printf(b, "%s{\"period\":\"%s\",\"amount\":\"%s\"}", i ? "," : "", per, s);
        free(s);
    }
    acre_buf_adds(b, "]");
}

/* One carryover_expired line for layers [0, n) of a, under `label`; removes them. */
static int expire(acre_close *c, acre_aff *a, held *h, int n, const char *label, const char *reason,
                  acre_error *err)
{
    /* the line borrows its label: take the stored plan's, not h->label, which the revshare
     * rule overwrites when it keeps a new deficit */
    const acre_plan *lp = acre_close_plan(c, label);
    acre_line *l;
    if (!lp)
        return acre_error_set(err, ACRE_ENOTFOUND, "plan", "unknown_plan",
                              "the plan %s that holds %s's deficit is not stored", label, a->id);
    l = acre_close_line(a, acre_line_kind_index(&acre_rule_carryover, 0), lp->label, NULL);
    acre_dec zero, sum;
    acre_buf lb = {0};
    if (!l)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    acre_dec_init(&zero);
    acre_dec_init(&sum);
    for (int i = 0; i < n; i++)
        acre_dec_add(&sum, &sum, &h->l[i].amount);
    acre_line_set(l, &zero, lp->scale, lp->mode); /* the scale of the plan the line names */
    acre_detail_str(&l->detail, "reason", reason);
    acre_detail_dec(&l->detail, "expired", &sum);
    layers_json(&lb, h->l, n);
    acre_detail_buf(&l->detail, "layers", &lb);
    acre_buf_free(&lb);
    for (int i = 0; i < n; i++)
        acre_dec_clear(&h->l[i].amount);
    memmove(h->l, h->l + n, (size_t)(h->n - n) * sizeof *h->l);
    h->n -= n;
    acre_dec_clear(&zero);
    acre_dec_clear(&sum);
    return 0;
}

int acre_carry_expire(acre_close *c, acre_aff *a, acre_error *err)
{
    const acre_plan *p = a->plan;
    const carrycfg *cfg = p ? acre_plan_config(p, &acre_rule_carryover) : NULL;
    held *h = held_of(a);
    int n = 0;
    if (!h || !h->n)
        return 0;
    if (!p || !p->valuer) /* no revenue basis: no revshare */
        return expire(c, a, h, h->n, h->label, "no_revshare_plan", err);
    if (strcmp(p->plan_id, h->plan_id) != 0)
        return expire(c, a, h, h->n, h->label, "plan_changed", err);
    if (!cfg || !cfg->carry)
        return expire(c, a, h, h->n, h->label, "mode_none", err);
    if (cfg->max_periods > 0) {
        /* layers are kept oldest first */
        while (n < h->n && c->period > h->l[n].origin + cfg->max_periods)
            n++;
        if (n)
            return expire(c, a, h, n, p->label, "max_periods", err);
    }
    return 0;
}

int acre_carry_on(const acre_plan *p)
{
    const carrycfg *cfg = acre_plan_config(p, &acre_rule_carryover);
    return cfg && cfg->carry;
}

/* An affiliate without a revshare plan can no longer use its deficit; revshare's run expires
 * the others' before it values them. */
static int run(acre_close *c, acre_aff *a, acre_error *err)
{
    if (a->plan && a->plan->valuer)
        return 0;
    return acre_carry_expire(c, a, err);
}

int acre_carry_apply(acre_close *c, acre_aff *a, const acre_dec *basis, acre_dec *carried_in,
                     acre_dec *adjusted, acre_dec *carried_out)
{
    held *h = held_of(a);
    acre_dec rest;
    acre_dec_set_si(carried_in, 0);
    for (int i = 0; h && i < h->n; i++)
        acre_dec_add(carried_in, carried_in, &h->l[i].amount);
    if (!acre_carry_on(a->plan)) {
        acre_dec_set(adjusted, basis);
        acre_dec_set_si(carried_out, 0);
        return 0;
    }
    acre_dec_add(adjusted, basis, carried_in);
    if (acre_dec_sgn(basis) < 0) {
        layer *nl;
        if (!(h = hold(a)) || !(nl = acre_realloc(h->l, (size_t)(h->n + 1) * sizeof *nl)))
            return ACRE_ENOMEM;
        h->l = nl;
        nl[h->n].origin = c->period;
        acre_dec_init(&nl[h->n].amount);
        acre_dec_set(&nl[h->n].amount, basis);
        h->n++;
    } else if (acre_dec_sgn(basis) > 0 && h) {
        /* positive revenue absorbs the oldest layers first */
        int used = 0;
        acre_dec_init(&rest);
        acre_dec_set(&rest, basis);
        while (used < h->n && acre_dec_sgn(&rest) > 0) {
            acre_dec_add(&h->l[used].amount, &h->l[used].amount, &rest);
            if (acre_dec_sgn(&h->l[used].amount) >= 0) {
                acre_dec_set(&rest, &h->l[used].amount);
                acre_dec_clear(&h->l[used].amount);
                used++;
            } else {
                acre_dec_set_si(&rest, 0);
            }
        }
        if (used) /* h->l is NULL when there were none */
            memmove(h->l, h->l + used, (size_t)(h->n - used) * sizeof *h->l);
        h->n -= used;
        acre_dec_clear(&rest);
    }
    acre_dec_set_si(carried_out, 0);
    if (!h) /* no layers, and none made: nothing is held, under no plan */
        return 0;
    for (int i = 0; i < h->n; i++)
        acre_dec_add(carried_out, carried_out, &h->l[i].amount);
    snprintf(h->plan_id, sizeof h->plan_id, "%s", a->plan->plan_id);
    snprintf(h->label, sizeof h->label, "%s", a->plan->label);
    return 0;
}

/* ---- verify (engine/verify.c calls it through the table) ---- */

/* A carryover_expired line: it pays nothing; `expired` is the sum of its layers. */
static void verify(acre_vc *v, const json_t *line, const json_t *d, const char *currency,
                   const acre_dec *exact)
{
    static const char *const reasons[] = {"max_periods", "plan_changed", "mode_none",
                                          "no_revshare_plan", NULL};
    const json_t *layers = json_object_get(d, "layers"), *l;
    acre_dec x, sum, zero;
    size_t i;
    int ok = 1;
    (void)line;
    (void)currency;
    acre_dec_init(&x);
    acre_dec_init(&sum);
    acre_dec_init(&zero);
    if (!acre_vc_one_of(acre_vc_str(d, "reason"), reasons))
        acre_vc_bad(v, "detail.reason is missing or unknown");
    acre_vc_same(v, "exact", exact, &zero, "an expired deficit (it pays nothing)");
    if (!json_is_array(layers))
        acre_vc_bad(v, "detail.layers must be an array");
    json_array_foreach(layers, i, l)
    {
        if (acre_vc_num(v, l, "amount", &x))
            ok = 0;
        else
            acre_dec_add(&sum, &sum, &x);
    }
    if (ok && !acre_vc_num(v, d, "expired", &x))
        acre_vc_same(v, "detail.expired", &x, &sum, "the sum of detail.layers[].amount");
    acre_dec_clear(&x);
    acre_dec_clear(&sum);
    acre_dec_clear(&zero);
}

/* ---- the audit's replay (engine/audit_state.c calls it through the table) ---- */

/* One affiliate as the ledgers so far leave its layers. */
typedef struct replayed {
    char *id; /* NULL: no ledger gave it a layer or an expiry yet */
    layer *l; /* oldest first */
    int n;
    char *label; /* the plan the layers are held under, or NULL */
    int pos;     /* layers matched with this period's rows */
} replayed;

/* The audit's state: by the audit's number of the affiliate. */
typedef struct replay {
    replayed *a;
    int n;
} replay;

/* Affiliate number aff's entry, made when it has none; NULL when out of memory (marked). */
static replayed *entry(acre_audit *au, void **state, int aff, const char *id)
{
    replay *r = *state;
    if (!r && !(r = *state = acre_calloc(1, sizeof *r))) {
        acre_audit_ran_out(au);
        return NULL;
    }
    if (aff >= r->n) {
        replayed *n = acre_realloc(r->a, (size_t)(aff + 1) * sizeof *n);
        if (!n) {
            acre_audit_ran_out(au);
            return NULL;
        }
        memset(n + r->n, 0, (size_t)(aff + 1 - r->n) * sizeof *n);
        r->a = n;
        r->n = aff + 1;
    }
    if (!r->a[aff].id && !(r->a[aff].id = acre_strdup(id))) {
        acre_audit_ran_out(au);
        return NULL;
    }
    return &r->a[aff];
}

static void drop_layers(replayed *e, int n)
{
    if (n <= 0)
        return; /* no layers: e->l may be NULL, which memmove may not take */
    for (int i = 0; i < n; i++)
        acre_dec_clear(&e->l[i].amount);
    memmove(e->l, e->l + n, (size_t)(e->n - n) * sizeof *e->l);
    e->n -= n;
}

/* A carryover_expired line: its layers are the oldest the previous close left. */
static void expired(acre_audit *au, const char *per, replayed *e, const json_t *line)
{
    const json_t *ls = json_object_get(json_object_get(line, "detail"), "layers"), *x;
    size_t i, n = json_array_size(ls);
    acre_dec v;
    acre_dec_init(&v);
    if (n > (size_t)e->n) {
        acre_audit_bad(au, per,
                       "affiliate %s: carryover_expired expires %zu layers; the ledgers before it "
                       "leave %d",
                       e->id, n, e->n);
        n = (size_t)e->n;
    }
    json_array_foreach(ls, i, x)
    {
        char lp[8];
        const char *xp = acre_vc_str(x, "period"), *xa = acre_vc_str(x, "amount");
        if (i >= n)
            break;
        acre_period_text(lp, e->l[i].origin);
        if (!xp || strcmp(xp, lp) != 0 || acre_audit_num(au, &v, xa) ||
            acre_dec_cmp(&v, &e->l[i].amount) != 0) {
            char *want = acre_audit_canon(au, &e->l[i].amount);
            acre_audit_bad(au, per,
                           "affiliate %s: carryover_expired layer %zu is %s %s; the ledgers "
                           "before it leave %s %s",
                           e->id, i + 1, xp ? xp : "?", xa ? xa : "?", lp, want ? want : "?");
            free(want);
        }
    }
    drop_layers(e, (int)n);
    acre_dec_clear(&v);
}

/* A revshare line in mode carry: its basis adds a layer or absorbs the oldest ones. */
static void carry(acre_audit *au, const char *per, int period, replayed *e, const json_t *line)
{
    const json_t *d = json_object_get(line, "detail");
    const char *in = acre_vc_str(d, "carried_in"), *plan = acre_vc_str(line, "plan");
    acre_dec basis, sum, out;
    acre_dec_init(&basis);
    acre_dec_init(&sum);
    acre_dec_init(&out);
    for (int i = 0; i < e->n; i++)
        acre_dec_add(&sum, &sum, &e->l[i].amount);
    if (acre_audit_num(au, &basis, acre_vc_str(d, "basis")) || acre_audit_num(au, &out, in) ||
        acre_dec_cmp(&out, &sum) != 0) {
        char *want = acre_audit_canon(au, &sum);
        acre_audit_bad(au, per,
                       "affiliate %s: revshare carried_in is %s; the layers the ledgers before "
                       "it leave sum to %s",
                       e->id, in ? in : "?", want ? want : "?");
        free(want);
    }
    if (acre_dec_sgn(&basis) < 0) {
        layer *n = acre_realloc(e->l, (size_t)(e->n + 1) * sizeof *n);
        if (!n) {
            acre_audit_ran_out(au);
        } else {
            e->l = n;
            n[e->n].origin = period;
            acre_dec_init(&n[e->n].amount);
            acre_dec_set(&n[e->n].amount, &basis);
            e->n++;
        }
    } else if (acre_dec_sgn(&basis) > 0) {
        int used = 0;
        while (used < e->n && acre_dec_sgn(&basis) > 0) {
            acre_dec_add(&e->l[used].amount, &e->l[used].amount, &basis);
            if (acre_dec_sgn(&e->l[used].amount) >= 0) {
                acre_dec_set(&basis, &e->l[used].amount);
                used++;
            } else {
                acre_dec_set_si(&basis, 0);
            }
        }
        drop_layers(e, used);
    }
    free(e->label);
    if (!(e->label = plan ? acre_strdup(plan) : NULL) && plan)
        acre_audit_ran_out(au);
    acre_dec_clear(&basis);
    acre_dec_clear(&sum);
    acre_dec_clear(&out);
}

/* One listed affiliate: its expiries (the oldest layers go), then its revshare line in mode
 * carry (the revshare rule runs after the expiry). */
static void audit_lines(acre_audit *au, void **state, const char *per, int p, int aff,
                        const char *id, const acre_vline *lines, size_t n)
{
    int exp = acre_line_kind_index(&acre_rule_carryover, 0),
        rs = acre_line_kind_index(&acre_rule_revshare, 0);
    replayed *e;
    acre_dec v;
    acre_dec_init(&v);
    for (size_t i = 0; i < n; i++) /* a line whose amount does not read is verify's to name */
        if (lines[i].kind == exp && !acre_audit_num(au, &v, acre_vc_str(lines[i].line, "amount")) &&
            (e = entry(au, state, aff, id)))
            expired(au, per, e, lines[i].line);
    for (size_t i = 0; i < n; i++) {
        const char *mode = acre_vc_str(json_object_get(lines[i].line, "detail"), "carryover");
        if (lines[i].kind == rs && mode && strcmp(mode, "carry") == 0 &&
            (e = entry(au, state, aff, id)))
            carry(au, per, p, e, lines[i].line);
    }
    acre_dec_clear(&v);
}

#define COL(k) col_text(row, (k))
#define INT(k) (row[(k)].i)

/* The close_layer rows of period p against the layers the ledgers leave. */
static int audit_rows(acre_audit *au, void **state, acre_store *s, const char *per, int p,
                      acre_error *err)
{
    replay *r = *state;
    acre_value pv = acre_val_int(p);
    acre_rows rows;
    int rc, na = r ? r->n : 0;
    for (int i = 0; i < na; i++)
        r->a[i].pos = 0;
    if ((rc = acre_store_rows(s, &q_layers, &pv, &rows, "reading close_layer", err)))
        return rc;
    for (long k = 0; k < rows.n; k++) {
        const acre_value *row = acre_row(&rows, k);
        int i = COL(0) ? acre_audit_affiliate(au, COL(0)) : -1;
        replayed *e = i >= 0 && i < na ? &r->a[i] : NULL;
        layer *l;
        char lp[8];
        acre_period_text(lp, (int)INT(3));
        if (!e || e->pos >= e->n) {
            acre_audit_bad(au, per,
                           "close_layer has a layer of %s for affiliate %s (amount %s) that the "
                           "ledgers do not leave",
                           lp, COL(0) ? COL(0) : "null", COL(4) ? COL(4) : "null");
            continue;
        }
        l = &e->l[e->pos++];
        if (l->origin != INT(3) || !acre_audit_same(au, COL(4), &l->amount)) {
            char want[8], *amount = acre_audit_canon(au, &l->amount);
            acre_period_text(want, l->origin);
            acre_audit_bad(au, per,
                           "close_layer %s: layer %d is %s amount %s; the ledgers give %s "
                           "amount %s",
                           e->id, e->pos, lp, COL(4) ? COL(4) : "null", want,
                           amount ? amount : "?");
            free(amount);
        }
        if (e->label) {
            const char *at = strrchr(e->label, '@');
            size_t idlen = at ? (size_t)(at - e->label) : strlen(e->label);
            if (!COL(2) || strcmp(COL(2), e->label) != 0 || !COL(1) || strlen(COL(1)) != idlen ||
                strncmp(COL(1), e->label, idlen) != 0)
                acre_audit_bad(au, per, "close_layer %s: plan is %s (%s); the ledgers give %s",
                               e->id, COL(2) ? COL(2) : "null", COL(1) ? COL(1) : "null", e->label);
        }
    }
    acre_rows_free(&rows);
    for (int i = 0; i < na; i++) {
        replayed *e = &r->a[i];
        if (e->pos < e->n) {
            char *amount = acre_audit_canon(au, &e->l[e->pos].amount);
            acre_audit_bad(au, per,
                           "close_layer has %d layer%s of affiliate %s fewer than the ledgers "
                           "leave (the first missing: amount %s)",
                           e->n - e->pos, e->n - e->pos == 1 ? "" : "s", e->id,
                           amount ? amount : "?");
            free(amount);
        }
    }
    return 0;
}

static void audit_free(void *state)
{
    replay *r = state;
    for (int i = 0; i < r->n; i++) {
        drop_layers(&r->a[i], r->a[i].n);
        free(r->a[i].l);
        free(r->a[i].id);
        free(r->a[i].label);
    }
    free(r->a);
    free(r);
}

static const acre_line_kind lines[] = {
    {"carryover_expired", "carryover_expired", "Carryover-Expired", 0, verify},
};

const acre_rule_kind acre_rule_carryover = {
    .version = ACRE_RULE_KIND_VERSION,
    .name = "carryover",
    .phase = 1,
    .section = NULL, /* it reads revshare.negative_carryover */
    .lines = lines,
    .nlines = 1,
    .parse = parse,
    .free = cfg_free,
    .run = run,
    .load = load,
    .save = save,
    .state_free = state_free,
    .audit_lines = audit_lines,
    .audit_rows = audit_rows,
    .audit_free = audit_free,
    .tables = layer_table,
    .ntables = 1,
};
