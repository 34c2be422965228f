/* tests/test_rules.c — each rule kind alone, on a close built by hand (no store).
 *
 * A fake close holds one or two affiliates, their customers and plans parsed from JSON text;
 * the test runs one rule kind's `run` and checks the lines it added. Every expected number is
 * worked out in the comment beside it. Instants are given in the store's form (nanoseconds
 * written out), as the close reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acre/sys/rule.h"
#include "close.h"
#include "close_int.h"
#include "datetime.h"
#include "store_int.h"

#define JAN2026 (2026 * 12 + 0)

static const acre_rule_kind *kind(const char *name)
{
    for (int i = 0; acre_rule_kinds[i]; i++)
        if (strcmp(acre_rule_kinds[i]->name, name) == 0)
            return acre_rule_kinds[i];
    fail_msg("no rule kind %s", name);
    return NULL;
}

/* The number of the line kind `name` (its place in the ledger's order). */
static int line_kind(const char *name)
{
    int k = acre_line_kind_find(name);
    if (k < 0)
        fail_msg("no line kind %s", name);
    return k;
}

/* A fake close for `period` with `naffs` affiliates and room for 8 customers. */
static acre_close *fake(int period, int naffs)
{
    acre_close *c = calloc(1, sizeof *c);
    c->period = period;
    c->first_closed = period;
    c->last_closed = -1;
    acre_period_text(c->period_text, period);
    c->affs = calloc((size_t)naffs, sizeof *c->affs);
    c->naffs = naffs;
    for (int i = 0; i < naffs; i++) {
        acre_aff *a = &c->affs[i];
        a->id = malloc(16);
        snprintf(a->id, 16, "aff_%d", i + 1);
        assert_int_equal(acre_strset_put(&c->aff_index, a->id, strlen(a->id), i), 0);
        snprintf(a->currency, sizeof a->currency, "EUR");
        a->parent_idx = -1;
        a->assign_from = period;
        a->scale = 2;
        acre_dec_init(&a->min_payout);
        acre_dec_init(&a->brought_forward);
        acre_dec_init(&a->earned);
        acre_dec_init(&a->payable);
        acre_dec_init(&a->carried_forward);
    }
    c->custs = calloc(8, sizeof *c->custs);
    return c;
}

/* Parses a plan, registers it in the close and gives it to affiliate aff (if aff >= 0). */
static acre_plan *plan(acre_close *c, int aff, const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    acre_numtab t = {0};
    acre_plan *p = NULL;
    acre_error err;
    acre_error_clear(&err);
    assert_non_null(doc);
    assert_int_equal(acre_numtab_build(&t, doc, text, strlen(text)), 0);
    if (acre_plan_parse(&p, doc, &t, &err))
        fail_msg("plan refused: %s", err.message);
    json_decref(doc);
    acre_numtab_free(&t);
    c->plans = realloc(c->plans, (size_t)(c->nplans + 1) * sizeof *c->plans);
    c->plans[c->nplans] = p;
    assert_int_equal(acre_strset_put(&c->plan_index, p->label, strlen(p->label), c->nplans++), 0);
    if (aff >= 0) {
        c->affs[aff].plan = p;
        c->affs[aff].scale = p->scale;
        c->affs[aff].mode = p->mode;
    }
    return p;
}

/* Adds a customer of affiliate aff who signed up at `signup` (stored form). */
static acre_cust *customer(acre_close *c, int aff, const char *id, const char *signup)
{
    acre_cust *cu = &c->custs[c->ncusts];
    acre_aff *a = &c->affs[aff];
    cu->id = strdup(id);
    cu->aff = aff;
    acre_datetime_split(signup, &cu->signup_sec, &cu->signup_nsec);
    acre_dec_init(&cu->ftd_amount);
    a->custs = realloc(a->custs, (size_t)(a->ncusts + 1) * sizeof *a->custs);
    a->custs[a->ncusts++] = c->ncusts++;
    cu->evplan = a->plan;
    cu->need_events = 1;
    cu->counts = a->plan && a->plan->valuer;
    return cu;
}

/* A qualifying deposit (the plan's event type, counted status) of `amount` EUR at `when`. */
static void deposit(acre_close *c, acre_cust *cu, const char *id, const char *when,
                    const char *amount)
{
    acre_qev *e;
    cu->ev = realloc(cu->ev, (size_t)(cu->nev + 1) * sizeof *cu->ev);
    e = &cu->ev[cu->nev++];
    memset(e, 0, sizeof *e);
    acre_datetime_split(when, &e->sec, &e->nsec);
    memcpy(e->currency, "EUR", 3);
    e->txn_id = (uint32_t)c->ids.len;
    acre_buf_add(&c->ids, id, strlen(id) + 1);
    assert_int_equal(acre_number_parse(&e->amount, amount, strlen(amount), "amount", NULL), 0);
}

/* Adds `ggr` to the customer's GGR for this close. */
static void ggr(acre_cust *cu, const char *v)
{
    acre_number n;
    assert_int_equal(acre_number_parse(&n, v, strlen(v), "ggr", NULL), 0);
    assert_int_equal(acre_acc_add_number(&cu->ggr, &n), 0);
    cu->has_rev = 1;
}

static void assert_line(const acre_line *l, int kind, const char *amount)
{
    char *s = acre_dec_format_fixed(&l->amount, l->scale, l->mode);
    assert_int_equal(l->kind, kind);
    assert_string_equal(s, amount);
    free(s);
}

static void destroy(acre_close *c)
{
    for (int i = 0; i < c->naffs; i++) {
        acre_aff *a = &c->affs[i];
        free(a->id);
        free(a->custs);
        free(a->children);
        free(a->paid);
        acre_dec_clear(&a->min_payout);
        acre_dec_clear(&a->brought_forward);
        acre_dec_clear(&a->earned);
        acre_dec_clear(&a->payable);
        acre_dec_clear(&a->carried_forward);
        for (int k = 0; acre_rule_kinds[k]; k++) /* what the kinds keep (carryover's layers) */
            if (a->state[k] && acre_rule_kinds[k]->state_free)
                acre_rule_kinds[k]->state_free(a->state[k]);
        for (int k = 0; k < a->nlines; k++) {
            acre_dec_clear(&a->lines[k].exact);
            acre_dec_clear(&a->lines[k].amount);
            acre_buf_free(&a->lines[k].detail);
        }
        free(a->lines);
    }
    for (int i = 0; i < c->ncusts; i++) {
        acre_cust *cu = &c->custs[i];
        free(cu->id);
        free(cu->ev);
        free(cu->paid_now);
        acre_acc_free(&cu->ggr);
        acre_acc_free(&cu->ded);
        acre_acc_free(&cu->ngr);
        acre_acc_free(&cu->nr);
        acre_dec_clear(&cu->ftd_amount);
    }
    for (int i = 0; i < c->nplans; i++)
        acre_plan_free(c->plans[i]);
    free(c->plans);
    acre_strset_free(&c->plan_index);
    acre_strset_free(&c->aff_index);
    acre_strset_free(&c->missing_set);
    acre_buf_free(&c->ids);
    free(c->affs);
    free(c->custs);
    free(c);
}

/* qualification: the FTD is the first qualifying deposit; min_first_amount is judged on it
 * alone, min_total_amount on the running sum, and qualified_at is the instant both hold. */
/* qualified_at is written from seconds and nanoseconds: the input as written, converted to UTC,
 * the fraction's trailing zeros dropped and no fraction at all when it is zero. */
static void test_datetime_format(void **state)
{
    static const char *const cases[][2] = {
        {"2026-03-04T10:00Z", "2026-03-04T10:00:00Z"},
        {"2026-03-04T10:00:07.5Z", "2026-03-04T10:00:07.5Z"},
        {"2026-03-04T10:00:07.123456789Z", "2026-03-04T10:00:07.123456789Z"},
        {"2026-03-04T10:00:07.000000010Z", "2026-03-04T10:00:07.00000001Z"},
        {"2026-03-01T00:30:00+01:00", "2026-02-28T23:30:00Z"}, /* one hour back over a month */
        {"2024-02-29T23:59:59-00:30", "2024-03-01T00:29:59Z"}, /* a leap day, 30 minutes on */
        {"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
        {"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char stored[ACRE_DATETIME_LEN + 1], out[31];
        const char *why = NULL;
        int64_t sec;
        int32_t nsec;
        assert_int_equal(acre_datetime_canon(stored, cases[i][0], strlen(cases[i][0]), &why), 0);
        assert_int_equal(acre_datetime_split(stored, &sec, &nsec), 0);
        acre_datetime_format(out, sec, nsec);
        assert_string_equal(out, cases[i][1]);
    }
}

static void test_qualification_thresholds(void **state)
{
    acre_close *c = fake(JAN2026, 1);
    acre_error err;
    acre_cust *small, *total;
    (void)state;
    acre_error_clear(&err);
    plan(c, 0,
         "{\"plan_id\":\"q\",\"version\":1,\"currency\":\"EUR\",\"qualification\":"
         "{\"min_first_amount\":\"20\",\"min_total_amount\":\"50\"},\"cpa\":{\"amount\":\"10\"}}");
    /* small: FTD 10 < 20, then 100: the FTD never meets min_first, so never qualifies */
    small = customer(c, 0, "c_small", "2026-01-01T00:00:00.000000000Z");
    deposit(c, small, "t_1", "2026-01-05T10:00:00.000000000Z", "10");
    deposit(c, small, "t_2", "2026-01-06T10:00:00.000000000Z", "100");
    /* total: FTD 30 >= 20 on 01-05, sum 30 < 50; 25 more on 01-07: sum 55 >= 50 then */
    total = customer(c, 0, "c_total", "2026-01-01T00:00:00.000000000Z");
    deposit(c, total, "t_4", "2026-01-07T10:00:00.000000000Z", "25");
    deposit(c, total, "t_3", "2026-01-05T10:00:00.000000000Z", "30");
    assert_int_equal(kind("qualification")->run(c, &c->affs[0], &err), 0);
    assert_false(small->qualifies);
    assert_true(total->qualifies);
    assert_string_equal(total->qualified_at, "2026-01-07T10:00:00Z");
    assert_string_equal(total->ftd_id, "t_3"); /* the earliest, not the first listed */
    assert_int_equal(c->affs[0].qualified_count, 1);
    destroy(c);
}

/* qualification: a fraud flag (excluded by default) or a country outside `countries` keeps a
 * customer who meets every threshold from qualifying. */
static void test_qualification_conditions(void **state)
{
    acre_close *c = fake(JAN2026, 1);
    acre_error err;
    acre_cust *ok, *flagged, *abroad;
    (void)state;
    acre_error_clear(&err);
    plan(c, 0,
         "{\"plan_id\":\"q\",\"version\":1,\"currency\":\"EUR\",\"qualification\":"
         "{\"countries\":[\"DE\"]},\"cpa\":{\"amount\":\"10\"}}");
    ok = customer(c, 0, "c_ok", "2026-01-01T00:00:00.000000000Z");
    flagged = customer(c, 0, "c_flagged", "2026-01-01T00:00:00.000000000Z");
    abroad = customer(c, 0, "c_abroad", "2026-01-01T00:00:00.000000000Z");
    memcpy(ok->country, "DE", 3);
    memcpy(flagged->country, "DE", 3);
    memcpy(abroad->country, "FR", 3);
    flagged->flags = 1u; /* fraud */
    deposit(c, ok, "t_1", "2026-01-05T10:00:00.000000000Z", "10");
    deposit(c, flagged, "t_2", "2026-01-05T10:00:00.000000000Z", "10");
    deposit(c, abroad, "t_3", "2026-01-05T10:00:00.000000000Z", "10");
    assert_int_equal(kind("qualification")->run(c, &c->affs[0], &err), 0);
    assert_true(ok->qualifies);
    assert_false(flagged->qualifies);
    assert_false(abroad->qualifies);
    destroy(c);
}

/* cpa: progressive tiers pay the k-th customer (by qualified_at) at the band containing k;
 * beyond the cap a cpa_over_cap line of 0. Bands from 1: 100, from 3: 150; cap 3; four
 * qualify: 100, 100, 150, then over the cap. */
static void test_cpa_progressive_cap(void **state)
{
    acre_close *c = fake(JAN2026, 1);
    acre_error err;
    static const char *const when[] = {
        "2026-01-08T00:00:00.000000000Z", "2026-01-05T00:00:00.000000000Z",
        "2026-01-07T00:00:00.000000000Z", "2026-01-06T00:00:00.000000000Z"};
    (void)state;
    acre_error_clear(&err);
    plan(c, 0,
         "{\"plan_id\":\"t\",\"version\":1,\"currency\":\"EUR\",\"cpa\":{\"tiers\":{\"mode\":"
         "\"progressive\",\"bands\":[{\"from\":1,\"amount\":\"100\"},{\"from\":3,\"amount\":"
         "\"150\"}]},\"cap\":3}}");
    for (int i = 0; i < 4; i++) {
        char id[8];
        acre_cust *cu;
        snprintf(id, sizeof id, "c_%d", i);
        cu = customer(c, 0, id, "2026-01-01T00:00:00.000000000Z");
        cu->qualifies = 1;
        snprintf(cu->qualified_at, sizeof cu->qualified_at, "%s", when[i]);
        acre_datetime_split(when[i], &cu->qsec, &cu->qnsec);
    }
    assert_int_equal(kind("cpa")->run(c, &c->affs[0], &err), 0);
    assert_int_equal(c->affs[0].nlines, 4);
    /* in order of qualified_at: c_1 (01-05), c_3 (01-06), c_2 (01-07), c_0 (01-08) */
    assert_string_equal(c->affs[0].lines[0].customer_id, "c_1");
    assert_line(&c->affs[0].lines[0], line_kind("cpa"), "100.00");
    assert_string_equal(c->affs[0].lines[1].customer_id, "c_3");
    assert_line(&c->affs[0].lines[1], line_kind("cpa"), "100.00");
    assert_string_equal(c->affs[0].lines[2].customer_id, "c_2");
    assert_line(&c->affs[0].lines[2], line_kind("cpa"), "150.00");
    assert_string_equal(c->affs[0].lines[3].customer_id, "c_0");
    assert_line(&c->affs[0].lines[3], line_kind("cpa_over_cap"), "0.00");
    destroy(c);
}

/* revshare: the textbook tiers 0/5,000/20,000/50,000/100,000 at 25/30/35/40/50% on 25,000:
 * flat pays the whole 25,000 at 35% = 8,750; progressive pays 5,000 x 25% + 15,000 x 30% +
 * 5,000 x 35% = 1,250 + 4,500 + 1,750 = 7,500. */
static void revshare_tiers(const char *mode, const char *want)
{
    acre_close *c = fake(JAN2026, 1);
    acre_error err;
    char text[512];
    acre_error_clear(&err);
    snprintf(text, sizeof text,
             "{\"plan_id\":\"r\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"tiers\":"
             "{\"mode\":\"%s\",\"bands\":[{\"from\":\"0\",\"rate\":\"25%%\"},{\"from\":\"5000\","
             "\"rate\":\"30%%\"},{\"from\":\"20000\",\"rate\":\"35%%\"},{\"from\":\"50000\","
             "\"rate\":\"40%%\"},{\"from\":\"100000\",\"rate\":\"50%%\"}]}}}",
             mode);
    plan(c, 0, text);
    ggr(customer(c, 0, "c_1", "2026-01-01T00:00:00.000000000Z"), "20000");
    ggr(customer(c, 0, "c_2", "2026-01-01T00:00:00.000000000Z"), "5000");
    assert_int_equal(kind("revshare")->run(c, &c->affs[0], &err), 0);
    assert_int_equal(c->affs[0].nlines, 1);
    assert_line(&c->affs[0].lines[0], line_kind("revshare"), want);
    destroy(c);
}

static void test_revshare_flat_tiers(void **state)
{
    (void)state;
    revshare_tiers("flat", "8750.00");
}

static void test_revshare_progressive_tiers(void **state)
{
    (void)state;
    revshare_tiers("progressive", "7500.00");
}

/* carryover's state lives in its table (close_layer) between closes: a store in memory holds
 * the layers the previous close left, `n` rows "AFFILIATE PLAN_ID PLAN ORIGIN AMOUNT", and
 * carryover's load hook reads them into the fake close c. */
static acre_store *load_layers(acre_close *c, const char *const (*rows)[5], int n)
{
    static const acre_query ins = {ACRE_Q_INSERT, "close_layer", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
    acre_store *s;
    acre_error err;
    acre_error_clear(&err);
    assert_int_equal(acre_store_open(&s, ":memory:", &err), 0);
    assert_int_equal(acre_store_begin(s, &err), 0);
    for (int i = 0; i < n; i++) {
        acre_value v[6] = {acre_val_int(c->period - 1),    acre_val_text(rows[i][0]),
                           acre_val_text(rows[i][1]),      acre_val_text(rows[i][2]),
                           acre_val_int(atoi(rows[i][3])), acre_val_text(rows[i][4])};
        assert_int_equal(acre_store_query(s, &ins, v, NULL, NULL, "test", &err), 0);
    }
    assert_int_equal(acre_store_commit(s, &err), 0);
    assert_int_equal(kind("carryover")->load(c, s, c->period - 1, 0, &err), 0);
    return s;
}

static int layer_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    char *out = ctx;
    size_t len = strlen(out);
    (void)n, (void)err;
    snprintf(out + len, 512 - len, "%s %lld %s %s;", row[0].s, row[1].i, row[2].s, row[3].s);
    return 0;
}

/* What carryover's save hook stores for c (in a transaction rolled back), then frees s:
 * "AFFILIATE ORIGIN AMOUNT PLAN;" per layer. */
static void saved_layers(acre_close *c, acre_store *s, char out[512])
{
    static const acre_query q = {ACRE_Q_SELECT,
                                 "close_layer",
                                 {"affiliate_id", "origin", "amount", "plan", NULL},
                                 {{"period", ACRE_EQ}},
                                 {"affiliate_id", "origin", NULL},
                                 0,
                                 0};
    acre_value p = acre_val_int(c->period);
    acre_error err;
    acre_error_clear(&err);
    out[0] = '\0';
    assert_int_equal(acre_store_begin(s, &err), 0);
    assert_int_equal(kind("carryover")->save(c, s, &err), 0);
    assert_int_equal(acre_store_query(s, &q, &p, layer_row, out, "test", &err), 0);
    acre_store_rollback(s);
    acre_store_free(s);
}

/* acre_close_id_key (engine/close_int.h): the close's customer scan compares IDs by the number
 * their first 16 bytes make, so for every pair the sign of the keys' comparison must be
 * strcmp's whenever the keys differ, and equal keys must mean equal first 16 bytes. The pairs
 * are the edges by hand: a prefix ("c_1" < "c_10"), the empty ID, 15/16/17 bytes, a difference
 * only after byte 16 (equal keys), and bytes >= 0x80 (UTF-8 "é", which strcmp orders as
 * unsigned above ASCII "z"). */
static void test_id_key_orders_as_strcmp(void **state)
{
    static const char *const ids[] = {"", "c_1", "c_10", "c_2", "z", "\xc3\xa9",
                                      "aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaa",
                                      "aaaaaaaaaaaaaaaab", "aaaaaaaaaaaaaaaaz", "c_0000001"};
    size_t n = sizeof ids / sizeof *ids;
    (void)state;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            unsigned __int128 a = acre_close_id_key(ids[i]), b = acre_close_id_key(ids[j]);
            int d = strcmp(ids[i], ids[j]), k = a < b ? -1 : a > b;
            if (a != b)
                assert_int_equal(k, d < 0 ? -1 : d > 0);
            else
                assert_int_equal(strncmp(ids[i], ids[j], 16), 0);
        }
    /* past 16 bytes only strcmp tells: the keys of these two are equal */
    assert_true(acre_close_id_key("aaaaaaaaaaaaaaaab") == acre_close_id_key("aaaaaaaaaaaaaaaaz"));
    assert_true(acre_close_id_key("") == 0);
}

/* carryover + revshare: a -1,000 deficit from December carried into January at 30%: NGR 15,000
 * is reduced to 14,000, 30% = 4,200.00, and nothing is left (the textbook 30% case in one
 * close). */
static void test_carry_absorbs_deficit(void **state)
{
    acre_close *c = fake(JAN2026, 1);
    acre_aff *a = &c->affs[0];
    acre_error err;
    static const char *const rows[][5] = {{"aff_1", "r", "r@1", "24311", "-1000"}};
    acre_store *s;
    char saved[512];
    (void)state;
    acre_error_clear(&err);
    plan(c, 0,
         "{\"plan_id\":\"r\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":\"30%\","
         "\"negative_carryover\":{\"mode\":\"carry\"}}}");
    s = load_layers(c, rows, 1); /* 24311: 2025-12 */
    ggr(customer(c, 0, "c_1", "2026-01-01T00:00:00.000000000Z"), "15000");
    assert_int_equal(kind("carryover")->run(c, a, &err), 0);
    assert_int_equal(a->nlines, 0); /* same plan_id, carry: nothing expires */
    assert_int_equal(kind("revshare")->run(c, a, &err), 0);
    assert_line(&a->lines[0], line_kind("revshare"), "4200.00");
    saved_layers(c, s, saved);
    assert_string_equal(saved, ""); /* nothing is left to carry */
    destroy(c);
}

/* carryover: with max_periods 2, a layer from 2025-11 can offset revenue at the closes of
 * 2025-12 and 2026-01 and expires at 2026-02's: one carryover_expired line of 0.00 under the
 * current plan, and the 2026-01 layer stays. The plan has revshare, so carryover's own run
 * leaves the layers to revshare's, which expires them first (acre_carry_expire). */
static void test_carry_max_periods(void **state)
{
    acre_close *c = fake(JAN2026 + 1, 1);
    acre_aff *a = &c->affs[0];
    acre_error err;
    static const char *const rows[][5] = {{"aff_1", "r", "r@1", "24310", "-700"},
                                          {"aff_1", "r", "r@1", "24312", "-300"}};
    acre_store *s;
    char saved[512];
    (void)state;
    acre_error_clear(&err);
    plan(c, 0,
         "{\"plan_id\":\"r\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":\"30%\","
         "\"negative_carryover\":{\"mode\":\"carry\",\"max_periods\":2}}}");
    s = load_layers(c, rows, 2);
    assert_int_equal(kind("carryover")->run(c, a, &err), 0);
    assert_int_equal(a->nlines, 0);
    assert_int_equal(acre_carry_expire(c, a, &err), 0);
    assert_int_equal(a->nlines, 1);
    assert_line(&a->lines[0], line_kind("carryover_expired"), "0.00");
    assert_string_equal(a->lines[0].plan, "r@1");
    assert_non_null(strstr(a->lines[0].detail.p, "\"expired\":\"-700\""));
    saved_layers(c, s, saved);
    assert_string_equal(saved, "aff_1 24312 -300 r@1;"); /* 24312: 2026-01 */
    destroy(c);
}

/* carryover: an affiliate whose plan has no revshare can no longer use its deficit: carryover's
 * own run expires all of it (reason no_revshare_plan) under the label of the plan that held it,
 * and revshare's run adds nothing. */
static void test_carry_no_revshare(void **state)
{
    acre_close *c = fake(JAN2026, 1);
    acre_aff *a = &c->affs[0];
    acre_error err;
    static const char *const rows[][5] = {{"aff_1", "r", "r@1", "24311", "-250"}};
    acre_store *s;
    char saved[512];
    (void)state;
    acre_error_clear(&err);
    plan(c, -1,
         "{\"plan_id\":\"r\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":\"30%\","
         "\"negative_carryover\":{\"mode\":\"carry\"}}}");
    plan(c, 0,
         "{\"plan_id\":\"c\",\"version\":1,\"currency\":\"EUR\",\"cpa\":{\"amount\":\"10\"}}");
    s = load_layers(c, rows, 1);
    assert_int_equal(kind("revshare")->run(c, a, &err), 0);
    assert_int_equal(a->nlines, 0);
    assert_int_equal(kind("carryover")->run(c, a, &err), 0);
    assert_int_equal(a->nlines, 1);
    assert_line(&a->lines[0], line_kind("carryover_expired"), "0.00");
    assert_string_equal(a->lines[0].plan, "r@1");
    assert_non_null(strstr(a->lines[0].detail.p, "\"reason\":\"no_revshare_plan\""));
    saved_layers(c, s, saved);
    assert_string_equal(saved, "");
    destroy(c);
}

/* sub_affiliate: the parent (levels [5%]) earns 5% of its child's own revshare line: the child
 * earns 20% x 10,000 = 2,000.00, the parent 5% x 2,000 = 100.00 (same currency: no rate). */
static void test_sub_affiliate_level(void **state)
{
    acre_close *c = fake(JAN2026, 2);
    acre_aff *parent = &c->affs[0], *child = &c->affs[1];
    acre_error err;
    (void)state;
    acre_error_clear(&err);
    plan(c, 0,
         "{\"plan_id\":\"p\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":"
         "\"10%\"},\"sub_affiliate\":{\"levels\":[\"5%\"]}}");
    plan(c, 1,
         "{\"plan_id\":\"c\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":"
         "\"20%\"}}");
    child->parent_idx = 0;
    parent->children = malloc(sizeof *parent->children);
    parent->children[0] = 1;
    parent->nchildren = 1;
    ggr(customer(c, 1, "c_1", "2026-01-01T00:00:00.000000000Z"), "10000");
    assert_int_equal(kind("revshare")->run(c, child, &err), 0);
    assert_line(&child->lines[0], line_kind("revshare"), "2000.00");
    assert_int_equal(kind("sub_affiliate")->run(c, parent, &err), 0);
    assert_int_equal(parent->nlines, 1);
    assert_line(&parent->lines[0], line_kind("sub_affiliate"), "100.00");
    assert_string_equal(parent->lines[0].descendant_id, "aff_2");
    assert_int_equal(parent->lines[0].depth, 1);
    destroy(c);
}

/* The message a plan is refused with (fails when it is accepted). */
static void refused(const char *text, const char *message, const char *rule)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    acre_numtab t = {0};
    acre_plan *p = NULL;
    acre_error err;
    acre_error_clear(&err);
    assert_non_null(doc);
    assert_int_equal(acre_numtab_build(&t, doc, text, strlen(text)), 0);
    if (acre_plan_parse(&p, doc, &t, &err) == 0)
        fail_msg("plan accepted: %s", text);
    assert_null(p);
    assert_int_equal(err.code, ACRE_EINVALID);
    assert_string_equal(err.message, message);
    assert_string_equal(err.rule, rule);
    json_decref(doc);
    acre_numtab_free(&t);
}

#define VB_PLAN(vb)                                                                                \
    "{\"plan_id\":\"v\",\"version\":1,\"currency\":\"EUR\",\"cpa\":{\"amount\":\"10\"},"           \
    "\"volume_bonus\":" vb "}"

/* volume_bonus is parsed strictly: its keys, bands from 1 and strictly increasing, amounts of
 * money at least 0; each error names the key. It is no payment on its own: a plan still needs
 * cpa or revshare. */
static void test_volume_bonus_plan_errors(void **state)
{
    (void)state;
    refused(VB_PLAN("{\"bands\":[{\"from\":1,\"amount\":\"5\"}],\"cap\":1}"),
            "volume_bonus.cap: unknown key", "unknown_key");
    refused(VB_PLAN("[]"), "volume_bonus: must be an object", "type");
    refused(VB_PLAN("{}"), "volume_bonus.bands: must be a non-empty array of bands", "required");
    refused(VB_PLAN("{\"bands\":[]}"), "volume_bonus.bands: must be a non-empty array of bands",
            "required");
    refused(VB_PLAN("{\"bands\":[{\"from\":1,\"amount\":\"5\",\"rate\":\"5%\"}]}"),
            "volume_bonus.bands[0].rate: unknown key", "unknown_key");
    refused(VB_PLAN("{\"bands\":[{\"amount\":\"5\"}]}"), "volume_bonus.bands[0].from: is required",
            "required");
    refused(VB_PLAN("{\"bands\":[{\"from\":0,\"amount\":\"5\"}]}"),
            "volume_bonus.bands[0].from: must be an integer from 1", "range");
    refused(VB_PLAN("{\"bands\":[{\"from\":2.0,\"amount\":\"5\"}]}"),
            "volume_bonus.bands[0].from: must be a JSON integer", "integer");
    refused(VB_PLAN("{\"bands\":[{\"from\":10,\"amount\":\"5\"},{\"from\":10,\"amount\":\"6\"}]}"),
            "volume_bonus.bands[1].from: from values must strictly increase", "increasing");
    refused(VB_PLAN("{\"bands\":[{\"from\":10,\"amount\":\"5\"},{\"from\":4,\"amount\":\"6\"}]}"),
            "volume_bonus.bands[1].from: from values must strictly increase", "increasing");
    refused(VB_PLAN("{\"bands\":[{\"from\":1}]}"), "volume_bonus.bands[0].amount: is required",
            "required");
    refused(VB_PLAN("{\"bands\":[{\"from\":1,\"amount\":\"-5\"}]}"),
            "volume_bonus.bands[0].amount: must not be negative", "range");
    refused(VB_PLAN("{\"bands\":[{\"from\":1,\"amount\":\"5%\"}]}"),
            "volume_bonus.bands[0].amount: value: not a decimal number in the JSON number "
            "grammar: \"5%\"",
            "number");
    refused("{\"plan_id\":\"v\",\"version\":1,\"currency\":\"EUR\",\"volume_bonus\":{\"bands\":"
            "[{\"from\":1,\"amount\":\"5\"}]}}",
            "cpa: a plan needs cpa, revshare or both", "required");
}

/* volume_bonus: bands from 10: 500 and from 25: 1500.125 (scale 2, half_even). 12 qualified pay
 * the first band, 500.00; 30 the second, 1500.125 rounded once: 1500.12 (the tie goes to the
 * even 2); 9 reach no band and get no line. The count is qualification's (SPEC 5.2), read
 * after it ran for the affiliate. */
static void volume_bonus_for(int qualified, const char *want)
{
    acre_close *c = fake(JAN2026, 1);
    acre_aff *a = &c->affs[0];
    acre_error err;
    acre_error_clear(&err);
    plan(c, 0,
         VB_PLAN("{\"bands\":[{\"from\":10,\"amount\":\"500\"},{\"from\":25,\"amount\":"
                 "\"1500.125\"}]}"));
    a->qualified_count = qualified;
    assert_int_equal(kind("volume_bonus")->run(c, a, &err), 0);
    if (!want) {
        assert_int_equal(a->nlines, 0);
    } else {
        char detail[128];
        assert_int_equal(a->nlines, 1);
        assert_line(&a->lines[0], line_kind("volume_bonus"), want);
        assert_null(a->lines[0].customer_id);
        snprintf(detail, sizeof detail, "\"qualified_count\":%d,\"from\":%s,\"amount\":\"%s\"",
                 qualified, qualified >= 25 ? "25" : "10", qualified >= 25 ? "1500.125" : "500");
        assert_string_equal(a->lines[0].detail.p, detail);
    }
    destroy(c);
}

static void test_volume_bonus_bands(void **state)
{
    (void)state;
    volume_bonus_for(9, NULL);
    volume_bonus_for(10, "500.00");
    volume_bonus_for(12, "500.00");
    volume_bonus_for(25, "1500.12");
    volume_bonus_for(30, "1500.12");
}

/* sub_affiliate counts a descendant's volume_bonus line as its own commission, like cpa and
 * revshare lines: the child earns 1 CPA of 10.00 and a volume bonus of 500.00 (from 1), the
 * parent 5% x 510 = 25.50. */
static void test_sub_affiliate_counts_volume_bonus(void **state)
{
    acre_close *c = fake(JAN2026, 2);
    acre_aff *parent = &c->affs[0], *child = &c->affs[1];
    acre_error err;
    acre_cust *cu;
    (void)state;
    acre_error_clear(&err);
    plan(c, 0,
         "{\"plan_id\":\"p\",\"version\":1,\"currency\":\"EUR\",\"cpa\":{\"amount\":\"10\"},"
         "\"sub_affiliate\":{\"levels\":[\"5%\"]}}");
    plan(c, 1, VB_PLAN("{\"bands\":[{\"from\":1,\"amount\":\"500\"}]}"));
    child->parent_idx = 0;
    parent->children = malloc(sizeof *parent->children);
    parent->children[0] = 1;
    parent->nchildren = 1;
    cu = customer(c, 1, "c_1", "2026-01-01T00:00:00.000000000Z");
    deposit(c, cu, "t_1", "2026-01-05T10:00:00.000000000Z", "20");
    for (int k = 0; acre_rule_kinds[k]; k++)
        if (acre_rule_kinds[k]->phase == 1)
            assert_int_equal(acre_rule_kinds[k]->run(c, child, &err), 0);
    assert_int_equal(child->nlines, 2);
    assert_line(&child->lines[0], line_kind("cpa"), "10.00");
    assert_line(&child->lines[1], line_kind("volume_bonus"), "500.00");
    assert_int_equal(kind("sub_affiliate")->run(c, parent, &err), 0);
    assert_int_equal(parent->nlines, 1);
    assert_line(&parent->lines[0], line_kind("sub_affiliate"), "25.50");
    destroy(c);
}

/* The exact sum in acc, as acre_dec_format writes it. */
static void assert_sum(const acre_acc *acc, const char *want)
{
    acre_dec d;
    char *s;
    acre_dec_init(&d);
    acre_acc_get(&d, acc);
    assert_string_equal(s = acre_dec_format(&d), want);
    free(s);
    acre_dec_clear(&d);
}

/* Nothing was added to acc. */
static void assert_no_sum(const acre_acc *acc)
{
    acre_dec d;
    acre_dec_init(&d);
    acre_acc_get(&d, acc);
    assert_int_equal(acre_dec_sgn(&d), 0);
    acre_dec_clear(&d);
}

/* revshare's value hook on record views, no stream: computed NGR takes GGR (or bets - wins)
 * and the deducted bonuses; net revenue adds challenge fees and subtracts refunds; a game type
 * outside game_types, a status not counted and a record after customer_months add nothing; a
 * missing reported NGR is refused. Everything is in EUR, the plan's currency (no rates). */
static acre_rec_view rec(int table, const char *date)
{
    acre_rec_view r = {.table = table, .customer_id = "c_1", .currency = "EUR"};
    acre_datetime_split("2026-01-01T00:00:00.000000000Z", &r.signup_sec, &(int32_t){0});
    memcpy(r.date, date, 10);
    r.activity_date = date;
    return r;
}

static void test_revshare_value(void **state)
{
    acre_close *c = fake(JAN2026, 1);
    const acre_plan *p;
    acre_acc a = {0}, b = {0};
    acre_rec_view r;
    acre_error err;
    (void)state;
    acre_error_clear(&err);
    p = plan(c, -1,
             "{\"plan_id\":\"v\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":\"30%\","
             "\"customer_months\":1,\"ngr\":{\"game_types\":[\"slots\"],\"deduct\":[\"bonus\","
             "\"bonus_turned_real\"]}}}");
    assert_ptr_equal(p->valuer, kind("revshare"));
    r = rec(ACRE_REC_GAMING, "2026-01-05");
    r.game_type = "slots";
    r.total_bets = "100.50";
    r.total_wins = "40";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0); /* 60.50 */
    r.ggr = "7";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0); /* 67.50 */
    r.game_type = "poker";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0);
    r = rec(ACRE_REC_GAMING, "2026-02-01"); /* a month after signup: outside customer_months */
    r.game_type = "slots";
    r.ggr = "1000";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0);
    r = rec(ACRE_REC_TRANSACTION, "2026-01-06");
    r.type = "bonus";
    r.status = "approved";
    r.amount = "5";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0); /* 72.50 */
    r.status = "Pending";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0);
    r = rec(ACRE_REC_BONUS, "2026-01-07");
    r.status = "Completed";
    r.btr = "2.5";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0); /* 75 */
    assert_sum(&a, "75");
    assert_no_sum(&b);
    acre_acc_free(&a);
    acre_acc_free(&b);

    p = plan(c, -1,
             "{\"plan_id\":\"n\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":\"30%\","
             "\"basis\":\"net_revenue\"}}");
    r = rec(ACRE_REC_TRANSACTION, "2026-01-06");
    r.type = "challenge_fee";
    r.status = "approved";
    r.amount = "99";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0);
    r.type = "refund";
    r.amount = "30";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0);
    r = rec(ACRE_REC_GAMING, "2026-01-05");
    r.ggr = "1000"; /* activity is not net revenue */
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0);
    assert_sum(&b, "69");
    assert_no_sum(&a);
    acre_acc_free(&a);
    acre_acc_free(&b);

    p = plan(c, -1,
             "{\"plan_id\":\"r\",\"version\":1,\"currency\":\"EUR\",\"revshare\":{\"rate\":\"30%\","
             "\"ngr\":{\"source\":\"reported\"}}}");
    r = rec(ACRE_REC_GAMING, "2026-01-05");
    r.game_type = "slots";
    r.ngr = "12.25";
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), 0);
    assert_sum(&b, "12.25");
    r.ngr = NULL;
    assert_int_equal(p->valuer->value(c, p->valuer_config, p, &r, &a, &b, &err), ACRE_EREFUSED);
    assert_string_equal(err.message, "plan r@1 reads reported NGR, but gaming activity "
                                     "2026-01-05/c_1/slots/EUR has no ngr");
    acre_acc_free(&a);
    acre_acc_free(&b);

    p = plan(c, -1,
             "{\"plan_id\":\"q\",\"version\":1,\"currency\":\"EUR\",\"cpa\":{\"amount\":\"10\"}}");
    assert_null(p->valuer); /* no revshare: the close values nothing */
    destroy(c);
}

/* The table is checked before it is used: acre's own passes; a row written for another
 * interface version, one without run, and two line kinds of one name are refused, naming the
 * row. */
static int no_run(acre_close *c, acre_aff *a, acre_error *err)
{
    (void)c;
    (void)a;
    (void)err;
    return 0;
}

static int no_value(acre_close *c, const void *config, const acre_plan *p, const acre_rec_view *r,
                    acre_acc *a, acre_acc *b, acre_error *err)
{
    (void)c, (void)config, (void)p, (void)r, (void)a, (void)b, (void)err;
    return 0;
}

static int no_save(acre_close *c, acre_store *s, acre_error *err)
{
    (void)c, (void)s, (void)err;
    return 0;
}

static void test_rule_table_check(void **state)
{
    static const acre_line_kind twice[] = {{"cpa", "cpa", "Cpa", 0, NULL}};
    acre_rule_kind old = {
        .version = ACRE_RULE_KIND_VERSION + 1, .name = "old", .phase = 1, .run = no_run};
    acre_rule_kind norun = {.version = ACRE_RULE_KIND_VERSION, .name = "norun", .phase = 1};
    acre_rule_kind dup = {.version = ACRE_RULE_KIND_VERSION,
                          .name = "dup",
                          .phase = 1,
                          .lines = twice,
                          .nlines = 1,
                          .run = no_run};
    const acre_rule_kind *t1[] = {kind("qualification"), &old, NULL};
    const acre_rule_kind *t2[] = {&norun, NULL};
    acre_rule_kind valuer = {.version = ACRE_RULE_KIND_VERSION,
                             .name = "valuer",
                             .phase = 1,
                             .run = no_run,
                             .value = no_value};
    const acre_rule_kind *t3[] = {kind("cpa"), &dup, NULL};
    const acre_rule_kind *t4[] = {kind("revshare"), &valuer, NULL};
    /* state without its free; a second line kind documenting paid settlements; one that
     * documents a settlement without a customer */
    static const acre_line_kind paid2[] = {
        {"paid2", "paid2", "Paid2", ACRE_LINE_CUSTOMER | ACRE_LINE_SETTLES_PAID, NULL}};
    static const acre_line_kind nocust[] = {
        {"nocust", "nocust", "Nocust", ACRE_LINE_SETTLES_OVER_CAP, NULL}};
    acre_rule_kind keeper = {.version = ACRE_RULE_KIND_VERSION,
                             .name = "keeper",
                             .phase = 1,
                             .run = no_run,
                             .save = no_save};
    acre_rule_kind payer = {.version = ACRE_RULE_KIND_VERSION,
                            .name = "payer",
                            .phase = 1,
                            .run = no_run,
                            .lines = paid2,
                            .nlines = 1};
    acre_rule_kind lonely = {.version = ACRE_RULE_KIND_VERSION,
                             .name = "lonely",
                             .phase = 1,
                             .run = no_run,
                             .lines = nocust,
                             .nlines = 1};
    const acre_rule_kind *t5[] = {&keeper, NULL}, *t6[] = {kind("cpa"), &payer, NULL},
                         *t7[] = {&lonely, NULL}, *t8[] = {&payer, NULL};
    acre_error err;
    (void)state;
    assert_int_equal(acre_rule_kinds_ready(&err), 0);
    assert_int_equal(acre_rule_table_check(acre_rule_kinds, &err), 0);
    assert_int_equal(acre_rule_table_check(t1, &err), ACRE_ERROR);
    assert_non_null(strstr(err.message, "rule kind old implements interface version"));
    assert_int_equal(acre_rule_table_check(t2, &err), ACRE_ERROR);
    assert_non_null(strstr(err.message, "rule kind norun needs a name, a run"));
    assert_int_equal(acre_rule_table_check(t3, &err), ACRE_ERROR);
    assert_string_equal(err.message, "two line kinds are called cpa");
    assert_int_equal(acre_rule_table_check(t4, &err), ACRE_ERROR);
    assert_string_equal(err.message, "rule kinds revshare and valuer both value records");
    assert_int_equal(acre_rule_table_check(t5, &err), ACRE_ERROR);
    assert_non_null(strstr(err.message, "rule kind keeper keeps state: it needs state_free"));
    assert_int_equal(acre_rule_table_check(t6, &err), ACRE_ERROR);
    assert_string_equal(err.message,
                        "two line kinds document the same settlement (the second: paid2)");
    assert_int_equal(acre_rule_table_check(t7, &err), ACRE_ERROR);
    assert_non_null(strstr(err.message, "line kind nocust documents one settlement at most"));
    assert_int_equal(acre_rule_table_check(t8, &err), 0);
    /* the line kinds in ledger order (SPEC 6), each kind's after those of the rows before */
    assert_int_equal(line_kind("cpa"), 0);
    assert_int_equal(line_kind("cpa_over_cap"), 1);
    assert_int_equal(line_kind("cpa_clawback"), 2);
    assert_int_equal(line_kind("revshare"), 3);
    assert_int_equal(line_kind("carryover_expired"), 4);
    assert_int_equal(line_kind("volume_bonus"), 5);
    assert_int_equal(line_kind("sub_affiliate"), acre_line_kind_count() - 1);
    assert_int_equal(acre_line_kind_index(kind("cpa"), 2), 2);
    assert_int_equal(acre_line_kind_index(kind("cpa"), 3), -1);
    assert_null(acre_line_kind_at(acre_line_kind_count()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table_check),
        cmocka_unit_test(test_datetime_format),
        cmocka_unit_test(test_qualification_thresholds),
        cmocka_unit_test(test_qualification_conditions),
        cmocka_unit_test(test_cpa_progressive_cap),
        cmocka_unit_test(test_revshare_flat_tiers),
        cmocka_unit_test(test_revshare_progressive_tiers),
        cmocka_unit_test(test_id_key_orders_as_strcmp),
        cmocka_unit_test(test_carry_absorbs_deficit),
        cmocka_unit_test(test_carry_max_periods),
        cmocka_unit_test(test_carry_no_revshare),
        cmocka_unit_test(test_sub_affiliate_level),
        cmocka_unit_test(test_volume_bonus_plan_errors),
        cmocka_unit_test(test_volume_bonus_bands),
        cmocka_unit_test(test_revshare_value),
        cmocka_unit_test(test_sub_affiliate_counts_volume_bonus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
