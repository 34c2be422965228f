/* tests/test_verify.c FIXTURES — acre_verify on every fixture's expected ledgers, and on each of
 * them with one cent changed.
 *
 * Two kinds of edit: left as is, the digest no longer matches (any byte changed fails); resealed
 * with a digest recomputed for the edited bytes, the arithmetic must still catch each money
 * value the document can re-derive (docs/close.md "Verifying a ledger file" lists the values it
 * cannot: a late record's own difference, a flat tier's metric, min_payout, an amount before FX).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"
#include "acre/verify.h"
#include "digest.h"
#include "util.h"

static const char *fixtures;

/* Keys whose value the arithmetic of verify covers, wherever they are outside customers[].late. */
static const char *const money[] = {"amount",      "exact",
                                    "earned",      "brought_forward",
                                    "payable",     "carried_forward",
                                    "ggr",         "deductions",
                                    "fees",        "basis",
                                    "carried_in",  "adjusted",
                                    "carried_out", "base",
                                    "commission",  "paid_amount",
                                    "converted",   "expired",
                                    "ftd_amount",  "ngr",
                                    "net_revenue", NULL};

/* Runs acre_verify; returns the number of problems, the report in *report (new). */
static int verify(const char *doc, size_t len, char **report)
{
    size_t rlen;
    FILE *out = open_memstream(report, &rlen);
    int nbad = -1;
    acre_error err;
    assert_int_equal(acre_verify(doc, len, "L", out, &nbad, &err), 0);
    fclose(out);
    return nbad;
}

/* The document as acre writes it: compact, then ,\n"digest":"sha256:<sha256 of the rest>"}.
 * New string. */
static char *seal(json_t *doc)
{
    char *body, *out, hex[65];
    size_t n;
    json_object_del(doc, "digest");
    body = json_dumps(doc, JSON_COMPACT);
    assert_non_null(body);
    n = strlen(body);
    acre_sha256_hex(hex, body, n);
    out = malloc(n + 100);
    memcpy(out, body, n - 1);
    sprintf(out + n - 1, ",\n\"digest\":\"sha256:%s\"}\n", hex);
    free(body);
    return out;
}

/* s + 0.01, or NULL when s is not a plain decimal (a p/q exact value). New string. */
static char *plus_cent(const char *s)
{
    acre_dec d, cent, hundred;
    char *out = NULL;
    if (strchr(s, '/'))
        return NULL;
    acre_dec_init(&d);
    acre_dec_init(&cent);
    acre_dec_init(&hundred);
    if (acre_dec_parse(&d, s, strlen(s), NULL) == 0) {
        acre_dec_set_si(&cent, 1);
        acre_dec_set_si(&hundred, 100);
        acre_dec_div(&cent, &cent, &hundred);
        acre_dec_add(&d, &d, &cent);
        out = acre_dec_format(&d);
    }
    acre_dec_clear(&d);
    acre_dec_clear(&cent);
    acre_dec_clear(&hundred);
    return out;
}

typedef struct target {
    json_t *parent;
    const char *key;
    const char *affiliate; /* the affiliate the value belongs to, or NULL */
} target;

/* Collects the money values outside customers[].late. */
static void collect(json_t *v, const char *aff, target *t, size_t *n, size_t cap)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        if (json_string_value(json_object_get(v, "affiliate_id")))
            aff = json_string_value(json_object_get(v, "affiliate_id"));
        json_object_foreach(v, k, x)
        {
            int m = 0;
            if (strcmp(k, "late") == 0)
                continue;
            for (int j = 0; money[j]; j++)
                m |= strcmp(k, money[j]) == 0;
            if (m && json_is_string(x) && *n < cap)
                t[(*n)++] = (target){v, k, aff};
            else
                collect(x, aff, t, n, cap);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) collect(x, aff, t, n, cap);
    }
}

static void for_each_ledger(void (*fn)(const char *path))
{
    char pat[4096];
    glob_t g;
    snprintf(pat, sizeof pat, "%s/*/expected/*.json", fixtures);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 30);
    for (size_t i = 0; i < g.gl_pathc; i++)
        fn(g.gl_pathv[i]);
    globfree(&g);
}

static void expect_ok(const char *path)
{
    size_t len;
    char *doc = test_slurp(path, &len), *report;
    int nbad = verify(doc, len, &report);
    if (nbad)
        fprintf(stderr, "%s:\n%s", path, report);
    assert_int_equal(nbad, 0);
    assert_non_null(strstr(report, ": ok, "));
    free(report);
    free(doc);
}

static void every_fixture_ledger_verifies(void **state)
{
    (void)state;
    for_each_ledger(expect_ok);
}

static int edits_digest, edits_resealed;

static void expect_cent_caught(const char *path)
{
    size_t len, n = 0;
    char *doc = test_slurp(path, &len), *report, *sealed;
    json_t *root = json_loadb(doc, len, 0, NULL);
    target t[4096];
    char digest[80];

    /* resealing the unedited document gives a document that verifies: so a failure below is
     * the edit's */
    assert_non_null(root);
    snprintf(digest, sizeof digest, "%s", json_string_value(json_object_get(root, "digest")));
    sealed = seal(root); /* removes the digest member */
    assert_int_equal(verify(sealed, strlen(sealed), &report), 0);
    free(report);
    free(sealed);

    collect(root, NULL, t, &n, sizeof t / sizeof t[0]);
    for (size_t i = 0; i < n; i++) {
        const char *was = json_string_value(json_object_get(t[i].parent, t[i].key));
        char *orig = strdup(was), *edited = plus_cent(orig);
        if (!edited) {
            free(orig);
            continue;
        }
        /* 1. the edit in place, digest untouched */
        json_object_set_new(t[i].parent, t[i].key, json_string(edited));
        {
            char *plain = json_dumps(root, JSON_COMPACT), *bytes = malloc(strlen(plain) + 100);
            size_t blen = (size_t)sprintf(bytes, "%.*s,\n\"digest\":\"%s\"}\n",
                                          (int)strlen(plain) - 1, plain, digest);
            if (verify(bytes, blen, &report) == 0)
                fail_msg("%s: %s %s -> %s passed verify with the old digest", path, t[i].key, orig,
                         edited);
            assert_non_null(strstr(report, "does not hash to its digest"));
            free(report);
            free(bytes);
            free(plain);
            edits_digest++;
        }
        /* 2. resealed: the arithmetic must catch it, and name the affiliate */
        sealed = seal(root);
        if (verify(sealed, strlen(sealed), &report) == 0)
            fail_msg("%s: %s %s -> %s passed verify resealed", path, t[i].key, orig, edited);
        if (t[i].affiliate && !strstr(report, t[i].affiliate))
            fail_msg("%s: %s %s -> %s: the report does not name affiliate %s:\n%s", path, t[i].key,
                     orig, edited, t[i].affiliate, report);
        free(report);
        free(sealed);
        edits_resealed++;
        json_object_set_new(t[i].parent, t[i].key, json_string(orig));
        free(orig);
        free(edited);
    }
    json_decref(root);
    free(doc);
}

static void one_cent_anywhere_is_caught(void **state)
{
    (void)state;
    for_each_ledger(expect_cent_caught);
    /* the fixtures hold a few hundred money values: the edits did happen */
    assert_true(edits_resealed >= 500);
    assert_int_equal(edits_digest, edits_resealed);
    printf("%d one-cent edits caught, each with the old digest and resealed\n", edits_resealed);
}

/* tiers-textbook, progressive: 25,000 over bands from 0/5,000/20,000/50,000/100,000 has the
 * slices 5,000, 15,000, 5,000, 0, 0. A base of 5,000.01 in the first band is named with the
 * slice worked out by hand. */
static void a_band_slice_is_named(void **state)
{
    char path[4096], *doc, *sealed, *report;
    size_t len;
    json_t *root, *band;
    (void)state;
    snprintf(path, sizeof path, "%s/tiers-textbook/expected/2026-01.json", fixtures);
    doc = test_slurp(path, &len);
    root = json_loadb(doc, len, 0, NULL);
    band = json_array_get(
        json_object_get(
            json_object_get(
                json_array_get(json_object_get(
                                   json_array_get(json_object_get(root, "affiliates"), 1), "lines"),
                               0),
                "detail"),
            "bands"),
        0);
    assert_string_equal(json_string_value(json_object_get(band, "base")), "5000");
    json_object_set_new(band, "base", json_string("5000.01"));
    sealed = seal(root);
    assert_true(verify(sealed, strlen(sealed), &report) > 0);
    assert_non_null(strstr(report, "L: affiliate aff_prog, line 1 (revshare tiers-prog@1): base "
                                   "is 5000.01; the slice of the adjusted basis in this band "
                                   "gives 5000\n"));
    free(report);
    free(sealed);
    json_decref(root);
    free(doc);
}

/* volume-bonus-bands, January: aff_big's volume_bonus line (line 7) pays the band from 5,
 * 250.125, rounded to 250.12. A cent more on its amount is caught by the rounding; a bonus raised
 * to 300 with its amount to match is caught against the band's amount in its detail; a second
 * bonus line is caught too. */
static void a_volume_bonus_amount_is_named(void **state)
{
    char path[4096], *doc, *sealed, *report;
    size_t len;
    json_t *root, *line;
    (void)state;
    snprintf(path, sizeof path, "%s/volume-bonus-bands/expected/2026-01.json", fixtures);
    doc = test_slurp(path, &len);
    root = json_loadb(doc, len, 0, NULL);
    line = json_array_get(
        json_object_get(json_array_get(json_object_get(root, "affiliates"), 0), "lines"), 6);
    assert_string_equal(json_string_value(json_object_get(line, "kind")), "volume_bonus");
    assert_string_equal(json_string_value(json_object_get(line, "amount")), "250.12");
    json_object_set_new(line, "amount", json_string("250.13"));
    sealed = seal(root);
    assert_int_equal(verify(sealed, strlen(sealed), &report), 1);
    assert_non_null(strstr(report,
                           "L: affiliate aff_big, line 7 (volume_bonus volume@1): amount is "
                           "\"250.13\"; exact rounded half_even to 2 decimals gives "
                           "250.12\n"));
    free(report);
    free(sealed);
    json_object_set_new(line, "amount", json_string("300.00"));
    json_object_set_new(line, "exact", json_string("300"));
    json_object_set_new(json_array_get(json_object_get(root, "affiliates"), 0), "earned",
                        json_string("550.00"));
    json_object_set_new(json_array_get(json_object_get(root, "affiliates"), 0), "payable",
                        json_string("550.00"));
    sealed = seal(root);
    assert_int_equal(verify(sealed, strlen(sealed), &report), 1);
    assert_non_null(strstr(report, "L: affiliate aff_big, line 7 (volume_bonus volume@1): exact is "
                                   "300; detail.amount (the band's) gives 250.125\n"));
    free(report);
    free(sealed);
    /* and one bonus a period: the line twice is named */
    json_object_set_new(line, "amount", json_string("250.12"));
    json_object_set_new(line, "exact", json_string("250.125"));
    json_array_append(
        json_object_get(json_array_get(json_object_get(root, "affiliates"), 0), "lines"), line);
    json_object_set_new(json_array_get(json_object_get(root, "affiliates"), 0), "earned",
                        json_string("750.24"));
    json_object_set_new(json_array_get(json_object_get(root, "affiliates"), 0), "payable",
                        json_string("750.24"));
    sealed = seal(root);
    assert_int_equal(verify(sealed, strlen(sealed), &report), 1);
    assert_non_null(strstr(report, "L: affiliate aff_big, line 8 (volume_bonus volume@1): a second "
                                   "volume_bonus line (the first is line 7): an affiliate has at "
                                   "most one a period\n"));
    free(report);
    free(sealed);
    json_decref(root);
    free(doc);
}

static void not_a_ledger(void **state)
{
    char *report;
    (void)state;
    assert_int_equal(verify("hello", 5, &report), 1);
    assert_non_null(strstr(report, "L: not a JSON document"));
    free(report);
    assert_int_equal(verify("{\"format\":\"x\"}", 14, &report), 1);
    assert_non_null(strstr(report, "not an acre ledger"));
    free(report);
    assert_int_equal(verify("{\"a\":1,\"a\":2}", 13, &report), 1);
    free(report);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_fixture_ledger_verifies),
        cmocka_unit_test(one_cent_anywhere_is_caught),
        cmocka_unit_test(a_band_slice_is_named),
        cmocka_unit_test(a_volume_bonus_amount_is_named),
        cmocka_unit_test(not_a_ledger),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: test_verify FIXTURES\n");
        return 2;
    }
    fixtures = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
