/* tests/test_decimal.c — exact money: parsing, arithmetic, rounding, formatting.
 * Every expected value below was worked out by hand; the comment on a row says how. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acre/decimal.h"
#include "number.h"

static void parse(acre_dec *d, const char *s)
{
    acre_error err;
    acre_error_clear(&err);
    assert_int_equal(acre_dec_parse(d, s, strlen(s), &err), 0);
}

static void assert_fmt(const acre_dec *d, const char *want)
{
    char *got = acre_dec_format(d);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Text in, shortest exact decimal out. */
static void test_parse_format(void **state)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"0.1", "0.1"},
        {"0.10", "0.1"},        /* trailing zeros carry no value */
        {"-0", "0"},            /* minus zero is zero */
        {"-0.0", "0"},
        {"1e2", "100"},
        {"1E+2", "100"},
        {"12.5e-3", "0.0125"},  /* 12.5 / 1000 */
        {"9413.60", "9413.6"},
        {"-12", "-12"},
        {"123456789012345", "123456789012345"},   /* 15 significant digits: the limit */
        {"0.000123456789012345", "0.000123456789012345"}, /* leading zeros do not count */
        {"100000000000000000", "100000000000000000"},     /* 1 significant digit, 1e17 */
        {"1.00000000000000000000", "1"},          /* trailing zeros do not count */
        {"499", "499"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        acre_dec d;
        acre_dec_init(&d);
        parse(&d, rows[i].in);
        assert_fmt(&d, rows[i].out);
        acre_dec_clear(&d);
    }
}

/* Text refused, with the rule that refuses it. */
static void test_parse_refused(void **state)
{
    static const struct {
        const char *in, *rule;
    } rows[] = {
        {"1234567890123456", "max_significant_digits"},    /* 16 digits */
        {"1234567890.123456", "max_significant_digits"},   /* 16 digits across the point */
        {"1.000000000000000005", "max_significant_digits"}, /* 19 digits; its double is 1.0 */
        {"0.1000000000000001", "max_significant_digits"},  /* 16 digits */
        {"1e999999", "range"},   /* one digit, but beyond 1e18 */
        {"1e-19", "range"},      /* finer than 18 decimals */
        {"1e18", "range"},       /* 19 integer digits */
        {"01", "number"},
        {"1.", "number"},
        {".5", "number"},
        {"+1", "number"},
        {"1e", "number"},
        {"--1", "number"},
        {"1 ", "number"},
        {"", "number"},
        {"0x10", "number"},
        {"NaN", "number"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        acre_dec d;
        acre_error err;
        acre_dec_init(&d);
        acre_error_clear(&err);
        assert_int_equal(acre_dec_parse(&d, rows[i].in, strlen(rows[i].in), &err),
                         ACRE_EINVALID);
        assert_string_equal(err.rule, rows[i].rule);
        acre_dec_clear(&d);
    }
}

/* The error message names the count and the value, as a person needs it. */
static void test_message(void **state)
{
    acre_dec d;
    acre_error err;
    (void)state;
    acre_dec_init(&d);
    acre_error_clear(&err);
    acre_dec_parse(&d, "1234567890.123456", 17, &err);
    assert_string_equal(err.message, "value: 16 significant digits (max 15): 1234567890.123456");
    acre_dec_clear(&d);
}

static void test_arithmetic(void **state)
{
    acre_dec a, b, r;
    (void)state;
    acre_dec_init(&a);
    acre_dec_init(&b);
    acre_dec_init(&r);

    parse(&a, "0.1");
    parse(&b, "0.2");
    acre_dec_add(&r, &a, &b);
    assert_fmt(&r, "0.3"); /* exactly: 1/10 + 2/10 = 3/10 */
    parse(&a, "0.3");
    assert_int_equal(acre_dec_cmp(&r, &a), 0);

    parse(&a, "100");
    parse(&b, "0.01");
    acre_dec_sub(&r, &a, &b);
    assert_fmt(&r, "99.99");

    parse(&a, "10.50");
    parse(&b, "0.45");
    acre_dec_mul(&r, &a, &b);
    assert_fmt(&r, "4.725"); /* 45% of 10.50 */

    parse(&a, "1");
    parse(&b, "3");
    assert_int_equal(acre_dec_div(&r, &a, &b), 0);
    assert_fmt(&r, "1/3"); /* no finite decimal form */
    parse(&b, "8");
    acre_dec_div(&r, &a, &b);
    assert_fmt(&r, "0.125");
    parse(&b, "0");
    assert_int_equal(acre_dec_div(&r, &a, &b), ACRE_EINVALID);
    assert_fmt(&r, "0.125"); /* unchanged */

    acre_dec_neg(&r, &r);
    assert_fmt(&r, "-0.125");
    assert_int_equal(acre_dec_sgn(&r), -1);

    acre_dec_clear(&a);
    acre_dec_clear(&b);
    acre_dec_clear(&r);
}

/* value, scale, expected for half_even, half_up, down. */
static void test_rounding(void **state)
{
    static const struct {
        const char *in;
        int scale;
        const char *even, *up, *down;
    } rows[] = {
        /* -0.005 is exactly halfway between -0.01 and 0.00: half_even takes the even 0.00,
         * half_up goes away from zero to -0.01, down goes toward zero to 0.00 */
        {"-0.005", 2, "0.00", "-0.01", "0.00"},
        {"0.005", 2, "0.00", "0.01", "0.00"},
        {"0.015", 2, "0.02", "0.02", "0.01"},   /* tie; 2 is the even neighbour */
        {"4.725", 2, "4.72", "4.73", "4.72"},   /* 45% of 10.50: the SPEC's textbook case */
        {"2.5", 0, "2", "3", "2"},
        {"3.5", 0, "4", "4", "3"},
        {"-2.5", 0, "-2", "-3", "-2"},
        {"1.0051", 2, "1.01", "1.01", "1.00"},  /* above the tie: both half modes go up */
        {"-1.0049", 2, "-1.00", "-1.00", "-1.00"},
        {"8750", 2, "8750.00", "8750.00", "8750.00"},
        {"0", 2, "0.00", "0.00", "0.00"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        acre_dec d;
        const char *want[3] = {rows[i].even, rows[i].up, rows[i].down};
        acre_round modes[3] = {ACRE_ROUND_HALF_EVEN, ACRE_ROUND_HALF_UP, ACRE_ROUND_DOWN};
        acre_dec_init(&d);
        parse(&d, rows[i].in);
        for (int m = 0; m < 3; m++) {
            char *got = acre_dec_format_fixed(&d, rows[i].scale, modes[m]);
            acre_dec r;
            char *again;
            assert_string_equal(got, want[m]);
            /* acre_dec_round gives the same value */
            acre_dec_init(&r);
            acre_dec_round(&r, &d, rows[i].scale, modes[m]);
            again = acre_dec_format_fixed(&r, rows[i].scale, ACRE_ROUND_DOWN);
            assert_string_equal(again, want[m]);
            free(got);
            free(again);
            acre_dec_clear(&r);
        }
        acre_dec_clear(&d);
    }
}

/* 1/3 rounded: 0.33 in every mode; 2/3: 0.67 half modes, 0.66 down. */
static void test_round_rational(void **state)
{
    acre_dec a, b, r;
    char *s;
    (void)state;
    acre_dec_init(&a);
    acre_dec_init(&b);
    acre_dec_init(&r);
    acre_dec_set_si(&a, 2);
    acre_dec_set_si(&b, 3);
    acre_dec_div(&r, &a, &b);
    s = acre_dec_format_fixed(&r, 2, ACRE_ROUND_HALF_EVEN);
    assert_string_equal(s, "0.67");
    free(s);
    s = acre_dec_format_fixed(&r, 2, ACRE_ROUND_DOWN);
    assert_string_equal(s, "0.66");
    free(s);
    acre_dec_clear(&a);
    acre_dec_clear(&b);
    acre_dec_clear(&r);
}

/* Stored values (SPEC 9 "Late data"): whatever acre_dec_format writes reads back to the same
 * value, beyond 15 digits and as p/q; anything else is refused with rule stored_value. */
static void test_parse_stored(void **state)
{
    static const char *const same[] = {
        "-3175/27",           /* -100 GBP at 1.27/1.08 EUR: -12700/108 in lowest terms */
        "1270/9",             /* 120 x 127/108 = 15240/108 = 1270/9 */
        "-1000000000.000001", /* 16 significant digits */
        "123456789012345678901234567890.123456789", "0", "-12", "0.5",
    };
    static const char *const refused[] = {
        "", "-", "abc", "1e3", "1/0", "0/5", "1/1", "-0", "1.", ".5", "01", "1.2.3", "1/-2",
        "-1/2/3", "1.5/2", " 1", "1 ", "+1",
    };
    acre_dec d;
    acre_error err;
    (void)state;
    acre_dec_init(&d);
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        acre_error_clear(&err);
        assert_int_equal(acre_dec_parse_stored(&d, same[i], &err), 0);
        assert_int_equal(acre_dec_stored_ok(same[i]), 1);
        assert_fmt(&d, same[i]);
    }
    {
        /* the check without GMP (acre_dec_stored_ok, what a close runs on every stored value it
         * loads) takes exactly what the parse takes: the lists above, and more edges */
        static const char *const edges[] = {
            "-12700/108", "2.50", "-0.0", "-0.01", "-0/2", "0/1", "10/10", "2/1", "1/10",
            "-1/2", "00/2", "1/02", "0.0", "-00", "7/", "/7", "-", "9", "-9.000", "1/11",
        };
        for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
            acre_error_clear(&err);
            assert_int_equal(acre_dec_stored_ok(edges[i]),
                             acre_dec_parse_stored(&d, edges[i], &err) == 0);
        }
        for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
            assert_int_equal(acre_dec_stored_ok(refused[i]), 0);
        assert_int_equal(acre_dec_stored_ok(NULL), 0);
    }
    /* not in lowest terms, or with trailing zeros: the same value */
    assert_int_equal(acre_dec_parse_stored(&d, "-12700/108", &err), 0);
    assert_fmt(&d, "-3175/27");
    assert_int_equal(acre_dec_parse_stored(&d, "2.50", &err), 0);
    assert_fmt(&d, "2.5");
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        acre_dec_set_si(&d, 7);
        acre_error_clear(&err);
        assert_int_equal(acre_dec_parse_stored(&d, refused[i], &err), ACRE_ERROR);
        assert_string_equal(err.rule, "stored_value");
        assert_fmt(&d, "0");
    }
    assert_int_equal(acre_dec_parse_stored(&d, NULL, &err), ACRE_ERROR);
    acre_dec_clear(&d);
}

static void test_round_parse(void **state)
{
    acre_round m;
    (void)state;
    assert_int_equal(acre_round_parse(&m, "half_up"), 0);
    assert_int_equal(m, ACRE_ROUND_HALF_UP);
    assert_int_equal(acre_round_parse(&m, "down"), 0);
    assert_int_equal(m, ACRE_ROUND_DOWN);
    assert_int_equal(acre_round_parse(&m, "half_even"), 0);
    assert_int_equal(m, ACRE_ROUND_HALF_EVEN);
    assert_int_equal(acre_round_parse(&m, "ceiling"), ACRE_EINVALID);
}

/* Money held as hundredths (engine/number.h): the canonical texts with at most two decimals
 * become integers and format back byte for byte; every other text stays text. */
static void test_cents(void **state)
{
    static const struct {
        const char *text;
        long long cents;
    } fits[] = {
        {"0", 0},
        {"5", 500},
        {"0.05", 5},
        {"0.5", 50},
        {"-0.05", -5},
        {"-3.5", -350},
        {"3107.91", 310791},
        {"76.1", 7610},
        {"100", 10000},
        {"-1", -100},
        /* 15 significant digits, the most a record's number has: 17 digits of hundredths */
        {"123456789012345", 12345678901234500LL},
        {"-1234567890123.45", -123456789012345LL},
        /* 1 significant digit, 10^16: 10^18 hundredths */
        {"10000000000000000", 1000000000000000000LL},
    };
    /* not canonical (ingest never writes them), finer than hundredths, too large, more than 15
     * significant digits (INT64_MAX hundredths has 19: only a changed store holds such a text,
     * and a read refuses the integer), or not a plain decimal (a stored fraction): kept as text */
    static const char *const text[] = {
        "92233720368547758.07",
        "-92233720368547758.07",
        "1234567890123456",
        "12345678901234.567",
        "1.234",
        "0.001",
        "1.50",
        "1.0",
        "00",
        "01",
        "-0",
        "",
        "-",
        ".5",
        "1.",
        "+1",
        "1e2",
        "1/3",
        "-1/3",
        "1 ",
        "0x10",
        "92233720368547758.08",
        "-92233720368547758.08",
        "100000000000000000000",
        "12.3a",
        "1..2",
    };
    char buf[24];
    long long v;
    (void)state;
    for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
        v = 1;
        if (!acre_cents_parse(fits[i].text, strlen(fits[i].text), &v))
            fail_msg("%s: refused", fits[i].text);
        assert_int_equal(v, fits[i].cents);
        assert_int_equal(acre_cents_format(v, buf), strlen(fits[i].text));
        assert_string_equal(buf, fits[i].text);
    }
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (acre_cents_parse(text[i], strlen(text[i]), &v))
            fail_msg("%s: taken as %lld hundredths", text[i], v);
    /* only the n bytes given are read */
    assert_int_equal(acre_cents_parse("12.34xyz", 5, &v), 1);
    assert_int_equal(v, 1234);
    /* INT64_MIN is never written (its text does not parse back), but a store can hold it */
    assert_int_equal(acre_cents_format(INT64_MIN, buf), 21);
    assert_string_equal(buf, "-92233720368547758.08");
    /* every value from -100000 to 100000 hundredths: formatting then parsing is the identity,
     * and the text is acre_number_format's (the form ingest stores) */
    for (long long c = -100000; c <= 100000; c++) {
        char canon[ACRE_NUMBER_TEXT_MAX];
        acre_number n;
        size_t len = acre_cents_format(c, buf);
        acre_error err;
        acre_error_clear(&err);
        assert_int_equal(acre_number_parse(&n, buf, len, "t", &err), 0);
        acre_number_format(&n, canon);
        if (strcmp(canon, buf) != 0 || !acre_cents_parse(buf, len, &v) || v != c)
            fail_msg("%lld: %s (canonical %s)", c, buf, canon);
        /* and the close's reading of the integer is the number the text parses to */
        {
            acre_number m;
            assert_true(acre_cents_ok(c));
            acre_number_cents(&m, c);
            if (m.neg != n.neg || m.mant != n.mant || m.exp != n.exp)
                fail_msg("%lld: read as %d %llu e%d, parsed as %d %llu e%d", c, m.neg,
                         (unsigned long long)m.mant, m.exp, n.neg, (unsigned long long)n.mant,
                         n.exp);
        }
    }
    /* 15 significant digits at most, as ingest allows: 123456789012345 (15 digits, 17 as
     * hundredths) is an amount; 1234567890123456 hundredths (16 digits) is not; trailing zeros
     * do not count */
    assert_true(acre_cents_ok(12345678901234500LL));
    assert_true(acre_cents_ok(-999999999999999LL));
    assert_true(acre_cents_ok(INT64_MAX / 10000000 * 10000000)); /* 922337203685 and 7 zeros */
    assert_false(acre_cents_ok(1234567890123456LL));
    assert_false(acre_cents_ok(-1234567890123456LL));
    assert_false(acre_cents_ok(INT64_MAX));
    assert_false(acre_cents_ok(INT64_MIN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format), cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_message),      cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_rounding),     cmocka_unit_test(test_round_rational),
        cmocka_unit_test(test_round_parse),  cmocka_unit_test(test_parse_stored),
        cmocka_unit_test(test_cents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
