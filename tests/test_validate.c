/* tests/test_validate.c — every field rule of SPEC 3, a good and a bad record each.
 * A row names the kind, the record, and the (field, rule) of its first error, or NULL when the
 * record is valid. Reference rules need a store: see test_ingest.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

typedef struct row {
    const char *kind, *json, *field, *rule;
} row;

#define AFF "affiliates"
#define ASG "assignments"
#define IGC "igaming/customers"
#define PTC "prop-trading/customers"
#define IGT "igaming/transactions"
#define PTT "prop-trading/transactions"
#define GA "igaming/gaming-activity"
#define TA "prop-trading/trading-activity"
#define BE "bonus-events"
#define FL "flags"
#define FX "fx-rates"

#define IGC_OK "\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05T10:00:00Z\",\"affiliate_id\":\"a1\",\"tracking_data\":{\"sub\":\"x\"}"
#define IGT_OK "\"transaction_id\":\"t1\",\"customer_id\":\"c1\",\"transaction_type\":\"deposit\",\"currency\":\"EUR\",\"transaction_date\":\"2026-01-05T10:00:00Z\",\"status\":\"approved\""
#define BE_OK "\"amount\":10,\"bonus_id\":\"b1\",\"currency\":\"EUR\",\"exchange_rate\":1.1,\"origin\":\"site\",\"product\":\"Casino\",\"timestamp\":\"2026-01-05T10:00:00Z\",\"type\":\"WelcomeBonus\",\"user_bonus_id\":\"ub1\",\"user_id\":\"c1\""

static const row rows[] = {
    /* affiliates */
    {AFF, "{\"affiliate_id\":\"a1\"}", NULL, NULL},
    {AFF, "{\"affiliate_id\":\"a1\",\"name\":\"A\",\"parent_affiliate_id\":\"p\",\"currency\":\"EUR\",\"min_payout\":\"50.00\"}", NULL, NULL},
    {AFF, "{}", "affiliate_id", "required"},
    {AFF, "{\"affiliate_id\":null}", "affiliate_id", "required"},
    {AFF, "{\"affiliate_id\":\"\"}", "affiliate_id", "non_empty"},
    {AFF, "{\"affiliate_id\":7}", "affiliate_id", "type"},
    {AFF, "{\"affiliate_id\":\"a1\",\"colour\":\"red\"}", "colour", "unknown_field"},
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"EURO\"}", "currency", "iso4217"},
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"eur\"}", "currency", "iso4217"},
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"HRK\"}", "currency", "iso4217"}, /* withdrawn 2023 */
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"XAU\"}", NULL, NULL},  /* metal */
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"XTS\"}", NULL, NULL},  /* test code */
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"XDR\"}", NULL, NULL},
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"XXX\"}", NULL, NULL},
    {AFF, "{\"affiliate_id\":\"a1\",\"currency\":\"CHE\"}", NULL, NULL},  /* fund */
    {AFF, "{\"affiliate_id\":\"a1\",\"min_payout\":-1}", "min_payout", "min"},
    {AFF, "{\"affiliate_id\":\"a1\",\"min_payout\":\"abc\"}", "min_payout", "number"},
    {AFF, "{\"affiliate_id\":\"a1\",\"min_payout\":true}", "min_payout", "type"},
    /* assignments */
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-01\"}", NULL, NULL},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-01\",\"effective_to\":\"2026-01\",\"plan_version\":2}", NULL, NULL},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\"}", "effective_from", "required"},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-13\"}", "effective_from", "month"},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-01-01\"}", "effective_from", "month"},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-03\",\"effective_to\":\"2026-02\"}", "effective_to", "before_effective_from"},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-01\",\"plan_version\":5.0}", "plan_version", "integer"},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-01\",\"plan_version\":0}", "plan_version", "min"},
    {ASG, "{\"affiliate_id\":\"a1\",\"plan_id\":\"p\",\"effective_from\":\"2026-01\",\"plan_version\":\"2\"}", "plan_version", "integer"},
    /* igaming customers */
    {IGC, "{" IGC_OK "}", NULL, NULL},
    {IGC, "{" IGC_OK ",\"lang_id\":\"de\",\"country_code\":\"DE\",\"last_modified_date\":\"2026-01-06T10:00:00.123+02:00\"}", NULL, NULL},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05T10:00:00Z\",\"affiliate_id\":\"a1\",\"tracking_data\":\"src=x\"}", NULL, NULL},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05T10:00:00Z\",\"affiliate_id\":\"a1\"}", "tracking_data", "required"},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05T10:00:00Z\",\"affiliate_id\":\"a1\",\"tracking_data\":[1]}", "tracking_data", "type"},
    {IGC, "{" IGC_OK ",\"lang_id\":\"EN\"}", "lang_id", "iso639"},
    {IGC, "{" IGC_OK ",\"lang_id\":\"xx\"}", "lang_id", "iso639"},
    {IGC, "{" IGC_OK ",\"country_code\":\"de\"}", "country_code", "iso3166"},
    {IGC, "{" IGC_OK ",\"country_code\":\"UK\"}", "country_code", "iso3166"}, /* GB is the code */
    {IGC, "{" IGC_OK ",\"challenge_type\":\"standard\"}", "challenge_type", "unknown_field"},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05\",\"affiliate_id\":\"a1\",\"tracking_data\":{}}", "signup_date", "datetime"},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05T10:00:00\",\"affiliate_id\":\"a1\",\"tracking_data\":{}}", "signup_date", "datetime"},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-02-30T10:00:00Z\",\"affiliate_id\":\"a1\",\"tracking_data\":{}}", "signup_date", "datetime"},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05T24:00:00Z\",\"affiliate_id\":\"a1\",\"tracking_data\":{}}", "signup_date", "datetime"},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-05T10:00Z\",\"affiliate_id\":\"a1\",\"tracking_data\":{}}", NULL, NULL},
    {IGC, "{\"customer_id\":\"c1\",\"signup_date\":\"2024-02-29T23:30:00-01:00\",\"affiliate_id\":\"a1\",\"tracking_data\":{}}", NULL, NULL},
    /* prop-trading customers: tracking_data optional, challenge fields allowed */
    {PTC, "{\"customer_id\":\"p1\",\"signup_date\":\"2026-03-08T16:00:00Z\",\"affiliate_id\":\"a1\",\"challenge_type\":\"standard\",\"phase\":\"phase_2\",\"account_size\":100000}", NULL, NULL},
    {PTC, "{\"customer_id\":\"p1\",\"signup_date\":\"2026-03-08T16:00:00Z\",\"affiliate_id\":\"a1\",\"account_size\":-5}", "account_size", "min"},
    {PTC, "{\"customer_id\":\"p1\",\"signup_date\":\"2026-03-08T16:00:00Z\",\"affiliate_id\":\"a1\",\"tracking_data\":{\"a\":1}}", NULL, NULL},
    /* igaming transactions */
    {IGT, "{" IGT_OK ",\"amount_currency\":100.5}", NULL, NULL},
    {IGT, "{" IGT_OK ",\"amount_currency\":\"100.50\",\"amount_usd\":110}", NULL, NULL},
    {IGT, "{" IGT_OK "}", "amount_currency", "required"},
    {IGT, "{" IGT_OK ",\"amount_currency\":1234567890.123456}", "amount_currency", "max_significant_digits"},
    {IGT, "{" IGT_OK ",\"amount_currency\":1.000000000000000005}", "amount_currency", "max_significant_digits"},
    {IGT, "{" IGT_OK ",\"amount_currency\":123456789012345}", NULL, NULL},
    {IGT, "{" IGT_OK ",\"amount_currency\":1234567890123456}", "amount_currency", "max_significant_digits"},
    {IGT, "{" IGT_OK ",\"amount_currency\":\"1,5\"}", "amount_currency", "number"},
    {IGT, "{" IGT_OK ",\"amount_currency\":\"1e999999\"}", "amount_currency", "range"},
    {IGT, "{\"transaction_id\":\"t1\",\"customer_id\":\"c1\",\"transaction_type\":\"challenge_fee\",\"amount_currency\":1,\"currency\":\"EUR\",\"transaction_date\":\"2026-01-05T10:00:00Z\",\"status\":\"approved\"}", "transaction_type", "enum"},
    {IGT, "{" IGT_OK ",\"amount_currency\":1,\"note\":\"" /* 501 characters */
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
     "note", "max_length"},
    {IGT, "{" IGT_OK ",\"amount_currency\":1,\"note\":\"" /* 500 two-byte characters: allowed */
          "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
          "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
          "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
          "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
          "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"}",
     NULL, NULL},
    /* prop-trading transactions */
    {PTT, "{\"transaction_id\":\"txn_prop_220015\",\"customer_id\":\"prop_78120\",\"transaction_type\":\"challenge_fee\",\"transaction_subtype\":\"phase_1_fee\",\"amount_currency\":499,\"amount_usd\":499,\"currency\":\"USD\",\"transaction_date\":\"2026-03-08T16:05:00Z\",\"status\":\"approved\",\"note\":\"100k standard challenge purchase\"}", NULL, NULL},
    {PTT, "{\"transaction_id\":\"t1\",\"customer_id\":\"c1\",\"transaction_type\":\"deposit\",\"amount_currency\":1,\"currency\":\"USD\",\"transaction_date\":\"2026-03-08T16:05:00Z\",\"status\":\"approved\"}", "transaction_type", "enum"},
    /* gaming activity */
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"ggr\":-12.5}", NULL, NULL},
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"total_bets\":100,\"wins\":80,\"bets_count\":12}", NULL, NULL},
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"total_bets\":100}", "ggr", "required"},
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"ggr\":1,\"bets_count\":5.0}", "bets_count", "integer"},
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"ggr\":1,\"bets_count\":-1}", "bets_count", "min"},
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"total_bets\":-1,\"wins\":0}", "total_bets", "min"},
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"total_bets\":1,\"wins\":-1}", "wins", "min"},
    {GA, "{\"date\":\"2026-02-29\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"ggr\":1}", "date", "date"},
    {GA, "{\"date\":\"2026-1-5\",\"customer_id\":\"c1\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"ggr\":1}", "date", "date"},
    {GA, "{\"date\":\"2026-01-05\",\"customer_id\":\"c1\",\"currency\":\"EUR\",\"ggr\":1}", "game_type", "required"},
    /* trading activity */
    {TA, "{\"date\":\"2026-03-15\",\"customer_id\":\"prop_78120\",\"instrument\":\"NAS100\",\"lots_traded\":5,\"pnl\":1240,\"drawdown\":1.8,\"max_drawdown\":3.2,\"currency\":\"USD\"}", NULL, NULL},
    {TA, "{\"date\":\"2026-03-15\",\"customer_id\":\"p\",\"instrument\":\"NAS100\",\"pnl\":1,\"currency\":\"USD\"}", "lots_traded", "required"},
    {TA, "{\"date\":\"2026-03-15\",\"customer_id\":\"p\",\"instrument\":\"NAS100\",\"lots_traded\":1,\"pnl\":1,\"drawdown\":-0.1,\"currency\":\"USD\"}", "drawdown", "min"},
    /* bonus events */
    {BE, "{" BE_OK ",\"status\":\"Created\"}", NULL, NULL},
    {BE, "{" BE_OK "}", "status", "required"},
    {BE, "{" BE_OK ",\"status\":\"Completed\",\"bonus_turned_real\":\"25.5\",\"meta\":{\"k\":[1,2.50]},\"fasttrack_references\":{}}", NULL, NULL},
    {BE, "{" BE_OK ",\"status\":\"Done\"}", "status", "enum"},
    {BE, "{\"amount\":10,\"bonus_id\":\"b1\",\"currency\":\"EUR\",\"exchange_rate\":1.1,\"origin\":\"site\",\"product\":\"Bingo\",\"status\":\"Created\",\"timestamp\":\"2026-01-05T10:00:00Z\",\"type\":\"WelcomeBonus\",\"user_bonus_id\":\"ub1\",\"user_id\":\"c1\"}", "product", "enum"},
    {BE, "{\"amount\":10,\"bonus_id\":\"b1\",\"currency\":\"EUR\",\"exchange_rate\":1.1,\"origin\":\"site\",\"product\":\"Casino\",\"status\":\"Created\",\"timestamp\":\"2026-01-05T10:00:00Z\",\"type\":\"Mystery\",\"user_bonus_id\":\"ub1\",\"user_id\":\"c1\"}", "type", "enum"},
    {BE, "{" BE_OK ",\"status\":\"Created\",\"meta\":\"text\"}", "meta", "type"},
    /* flags */
    {FL, "{\"customer_id\":\"c1\",\"flag\":\"fraud\",\"flagged_at\":\"2026-01-05T10:00:00Z\"}", NULL, NULL},
    {FL, "{\"customer_id\":\"c1\",\"flag\":\"cheating\",\"flagged_at\":\"2026-01-05T10:00:00Z\"}", "flag", "enum"},
    {FL, "{\"customer_id\":\"c1\",\"flag\":\"fraud\",\"flagged_at\":\"2026-01-05T10:00:00Z\",\"cleared_at\":\"yesterday\"}", "cleared_at", "datetime"},
    /* fx rates */
    {FX, "{\"date\":\"2026-01-31\",\"currency\":\"EUR\",\"usd_rate\":\"1.0842\"}", NULL, NULL},
    {FX, "{\"date\":\"2026-01-31\",\"currency\":\"USD\",\"usd_rate\":1}", "currency", "not_usd"},
    {FX, "{\"date\":\"2026-01-31\",\"currency\":\"EUR\",\"usd_rate\":0}", "usd_rate", "positive"},
    {FX, "{\"date\":\"2026-01-31\",\"currency\":\"EUR\",\"usd_rate\":-1.1}", "usd_rate", "positive"},
    /* not an object at all */
    {FX, "[1,2]", "", "not_object"},
    {FX, "\"text\"", "", "not_object"},
};

static void validate_json(acre_rec *r, const char *kind, const char *json, int *rc)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    acre_numtab t = {0};
    if (!v)
        fail_msg("test row is not JSON: %s (%s)", json, je.text);
    assert_int_equal(acre_numtab_build(&t, v, json, strlen(json)), 0);
    *rc = acre_rec_validate(r, acre_kind_find(kind), v, &t);
    acre_numtab_free(&t);
    json_decref(v);
}

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        acre_rec r;
        int rc;
        acre_rec_init(&r);
        assert_non_null(acre_kind_find(rows[i].kind));
        validate_json(&r, rows[i].kind, rows[i].json, &rc);
        if (!rows[i].field) {
            if (rc != 0)
                fail_msg("row %zu (%s) should be valid, got %s/%s: %s", i, rows[i].kind,
                         r.errors[0].field, r.errors[0].rule, r.errors[0].message);
        } else {
            if (rc != ACRE_EINVALID)
                fail_msg("row %zu (%s) should fail %s/%s", i, rows[i].kind, rows[i].field,
                         rows[i].rule);
            if (strcmp(r.errors[0].field, rows[i].field) || strcmp(r.errors[0].rule, rows[i].rule))
                fail_msg("row %zu (%s): want %s/%s, got %s/%s: %s", i, rows[i].kind,
                         rows[i].field, rows[i].rule, r.errors[0].field, r.errors[0].rule,
                         r.errors[0].message);
        }
        acre_rec_free(&r);
    }
}

/* A record with several bad fields reports each of them (SPEC 9). */
static void test_all_errors(void **state)
{
    acre_rec r;
    int rc;
    (void)state;
    acre_rec_init(&r);
    validate_json(&r, IGT,
                  "{\"transaction_id\":\"\",\"customer_id\":\"c1\",\"transaction_type\":\"x\","
                  "\"amount_currency\":1234567890.123456,\"currency\":\"usd\","
                  "\"transaction_date\":\"2026-01-05\",\"status\":\"approved\",\"bogus\":1}",
                  &rc);
    assert_int_equal(rc, ACRE_EINVALID);
    assert_int_equal(r.nerrors, 6); /* bogus, transaction_id, type, amount, currency, date */
    assert_string_equal(r.errors[0].rule, "unknown_field");
    assert_string_equal(r.errors[3].message,
                        "amount_currency: 16 significant digits (max 15): 1234567890.123456");
    acre_rec_free(&r);
}

static const char *cell(const acre_rec *r, const char *name)
{
    int c = acre_kind_col(r->kind, name);
    assert_true(c >= 0);
    assert_int_equal(r->cells[c].t, CELL_TEXT);
    return r->cells[c].s;
}

/* Canonical values: what equality of two versions compares. */
static void test_canonical(void **state)
{
    acre_rec r;
    int rc;
    (void)state;
    acre_rec_init(&r);
    validate_json(&r, IGC,
                  "{\"customer_id\":\"c1\",\"signup_date\":\"2026-01-01T01:30:00+02:00\","
                  "\"affiliate_id\":\"a1\",\"tracking_data\":{\"b\":1.50,\"a\":\"x\"},"
                  "\"last_modified_date\":\"2026-01-05T10:00:00.5Z\"}",
                  &rc);
    assert_int_equal(rc, 0);
    /* 01:30 at +02:00 is 23:30 UTC the day before, across a year boundary */
    assert_string_equal(cell(&r, "signup_date"), "2025-12-31T23:30:00.000000000Z");
    assert_string_equal(cell(&r, "last_modified_date"), "2026-01-05T10:00:00.500000000Z");
    /* objects with sorted keys, numbers exactly as written */
    assert_string_equal(cell(&r, "tracking_data"), "{\"a\":\"x\",\"b\":1.50}");
    assert_string_equal(cell(&r, "vertical"), "igaming");
    acre_rec_free(&r);

    acre_rec_init(&r);
    validate_json(&r, AFF, "{\"affiliate_id\":\"a1\"}", &rc);
    assert_string_equal(cell(&r, "currency"), "USD"); /* the default */
    assert_string_equal(cell(&r, "min_payout"), "0");
    acre_rec_free(&r);

    acre_rec_init(&r);
    validate_json(&r, FX, "{\"date\":\"2026-01-31\",\"currency\":\"EUR\",\"usd_rate\":\"1.08420\"}",
                  &rc);
    assert_string_equal(cell(&r, "usd_rate"), "1.0842");
    acre_rec_free(&r);

    /* 15 significant digits as a JSON number come back exactly as written: the nearest double
     * to 1234567890.12345 is 1234567890.1234500408..., and 0.1's is 0.1000000000000000055... */
    acre_rec_init(&r);
    validate_json(&r, IGT,
                  "{" IGT_OK ",\"amount_currency\":1234567890.12345,\"amount_usd\":0.1}", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(cell(&r, "amount_currency"), "1234567890.12345");
    assert_string_equal(cell(&r, "amount_usd"), "0.1");
    acre_rec_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_all_errors),
        cmocka_unit_test(test_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
