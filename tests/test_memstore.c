/* tests/test_memstore.c FIXTURES — the storage seam is real: a second backend (tests/memstore.c,
 * written only against include/acre/sys/store.h) replays every fixture to its expected ledgers
 * byte for byte, and answers query shapes as the SQLite backend does; and a rule kind's state
 * (carryover's layers) goes through it from one close to the next by the kind's own hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre.h"
#include "memstore.h"
#include "replay.h"
#include "store_int.h"

static const char *fixtures;
static int opened;

static int counting_open(acre_store **out, const char *path, acre_error *err)
{
    opened++;
    return memstore_open(out, path, err);
}

static void every_fixture_replays_in_memory(void **state)
{
    char pat[4096];
    glob_t g;
    (void)state;
    snprintf(pat, sizeof pat, "%s/*/case.json", fixtures);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    acre_replay_open = counting_open;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char dir[4096];
        int before = opened;
        snprintf(dir, sizeof dir, "%s", g.gl_pathv[i]);
        *strrchr(dir, '/') = '\0';
        if (acre_replay(dir, 0, 0, NULL, 0, 1) != 0)
            fail_msg("%s does not replay on the memory backend", dir);
        assert_int_equal(opened, before + 1); /* it ran on memstore, not SQLite */
    }
    acre_replay_open = acre_store_open;
    assert_true(g.gl_pathc >= 30); /* docs/PERFORMANCE.md and SPEC 7 count thirty */
    globfree(&g);
}

/* ---- the same query shapes on both backends ---- */

typedef struct collect {
    char text[4096];
} collect;

static int add_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    collect *c = ctx;
    size_t len = strlen(c->text);
    (void)err;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(c->text + len, sizeof c->text - len, "%s",
                                row[i].type == ACRE_VAL_NULL  ? "null"
                                : row[i].type == ACRE_VAL_INT ? "i:"
                                                              : "t:");
    for (int i = 0; i < n; i++) {
        if (row[i].type == ACRE_VAL_INT)
            len += (size_t)snprintf(c->text + len, sizeof c->text - len, " %lld", row[i].i);
        else if (row[i].type == ACRE_VAL_TEXT)
            len += (size_t)snprintf(c->text + len, sizeof c->text - len, " %s", row[i].s);
    }
    snprintf(c->text + len, sizeof c->text - len, ";");
    return 0;
}

/* close_layer rows (key period, affiliate_id, origin) put in out of order, then read back
 * with every condition, both orders and a limit: both backends must give the same rows in the
 * same order, worked out below by hand for the first. */
static void shapes_agree(void **state)
{
    static const acre_query ins = {ACRE_Q_INSERT, "close_layer", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
    static const acre_query queries[] = {
        {ACRE_Q_SELECT, "close_layer", {"affiliate_id", "origin", NULL}, {{NULL, 0}}, {NULL}, 0,
         0},
        {ACRE_Q_SELECT, "close_layer", {"amount", NULL}, {{"period", ACRE_EQ}},
         {"affiliate_id", "origin", NULL}, 1, 2},
        {ACRE_Q_SELECT, "close_layer", {"origin", NULL},
         {{"period", ACRE_GE}, {"affiliate_id", ACRE_NE}, {"origin", ACRE_LT}}, {NULL}, 0, 0},
        {ACRE_Q_SELECT, "close_layer", {"affiliate_id", "amount", NULL},
         {{"amount", ACRE_GT}, {"origin", ACRE_LE}}, {"amount", NULL}, 0, 0},
    };
    static const acre_value params[][3] = {
        {{0}},
        {{ACRE_VAL_INT, 24315, NULL, 0}},
        {{ACRE_VAL_INT, 24316, NULL, 0}, {ACRE_VAL_TEXT, 0, "b", 1}, {ACRE_VAL_INT, 24313, NULL, 0}},
        {{ACRE_VAL_TEXT, 0, "-5", 2}, {ACRE_VAL_INT, 24314, NULL, 0}},
    };
    const char *rows[][4] = {
        {"aff_b", "p@1", "-10", "24313"}, {"aff_a", "p@1", "-7.5", "24314"},
        {"aff_a", "p@1", "-2", "24312"},  {"aff_c", "q@2", "-1/3", "24312"},
    };
    acre_store *s[2];
    acre_error err;
    (void)state;
    assert_int_equal(acre_store_open(&s[0], ":memory:", &err), 0);
    assert_int_equal(memstore_open(&s[1], NULL, &err), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(acre_store_begin(s[k], &err), 0);
        for (int r = 0; r < 4; r++) {
            acre_value v[6] = {acre_val_int(r < 2 ? 24315 : 24316),
                               acre_val_text(rows[r][0]),
                               acre_val_text(rows[r][1]),
                               acre_val_text(rows[r][1]),
                               acre_val_int(atoi(rows[r][3])),
                               acre_val_text(rows[r][2])};
            if (acre_store_query(s[k], &ins, v, NULL, NULL, "test", &err))
                fail_msg("backend %d: %s", k, err.message);
        }
        assert_int_equal(acre_store_commit(s[k], &err), 0);
    }
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        collect c[2];
        for (int k = 0; k < 2; k++) {
            memset(&c[k], 0, sizeof c[k]);
            assert_int_equal(
                acre_store_query(s[k], &queries[q], params[q], add_row, &c[k], "test", &err), 0);
        }
        assert_string_equal(c[0].text, c[1].text);
        /* in key order: period 24315 (aff_a 24314, aff_b 24313), then 24316 (aff_a, aff_c) */
        if (q == 0)
            assert_string_equal(c[0].text, "t:i: aff_a 24314;t:i: aff_b 24313;t:i: aff_a 24312;"
                                           "t:i: aff_c 24312;");
    }
    /* a duplicate key is refused by both, and the rollback leaves the rows as they were */
    for (int k = 0; k < 2; k++) {
        acre_value v[6] = {acre_val_int(24315), acre_val_text("aff_b"), acre_val_text("p"),
                           acre_val_text("p@1"), acre_val_int(24313), acre_val_text("1")};
        acre_value w[6] = {acre_val_int(24317), acre_val_text("aff_d"), acre_val_text("p"),
                           acre_val_text("p@1"), acre_val_int(24313), acre_val_text("1")};
        collect c;
        assert_int_equal(acre_store_begin(s[k], &err), 0);
        assert_int_equal(acre_store_query(s[k], &ins, w, NULL, NULL, "test", &err), 0);
        assert_int_not_equal(acre_store_query(s[k], &ins, v, NULL, NULL, "test", &err), 0);
        acre_store_rollback(s[k]);
        memset(&c, 0, sizeof c);
        assert_int_equal(acre_store_query(s[k], &queries[0], NULL, add_row, &c, "test", &err), 0);
        assert_string_equal(c.text, "t:i: aff_a 24314;t:i: aff_b 24313;t:i: aff_a 24312;"
                                    "t:i: aff_c 24312;");
    }
    acre_store_free(s[0]);
    acre_store_free(s[1]);
}

/* ---- a rule kind's state between closes ---- */

static void ingest(acre_store *s, const char *kind, const char *ndjson)
{
    acre_ingest_summary sum = {0}; /* added to */
    acre_error err;
    if (acre_ingest_buffer(s, kind, ndjson, strlen(ndjson), NULL, &sum, &err))
        fail_msg("ingest %s: %s", kind, err.message);
    assert_int_equal(sum.rejected, 0);
}

/* Closes (or previews) `period`; returns the ledger (the caller frees it). */
static char *close_month(acre_store *s, const char *period, int store)
{
    char *ledger = NULL;
    acre_error err;
    if (acre_close_period(s, period, store, &ledger, &err))
        fail_msg("close %s: %s", period, err.message);
    return ledger;
}

/* The close_layer rows of period p, "AFFILIATE ORIGIN AMOUNT PLAN;" each. */
static void layers_of(acre_store *s, int p, char out[4096])
{
    static const acre_query q = {ACRE_Q_SELECT,
                                 "close_layer",
                                 {"affiliate_id", "origin", "amount", "plan", NULL},
                                 {{"period", ACRE_EQ}},
                                 {"affiliate_id", "origin", NULL},
                                 0,
                                 0};
    acre_value v = acre_val_int(p);
    collect c;
    acre_error err;
    memset(&c, 0, sizeof c);
    assert_int_equal(acre_store_query(s, &q, &v, add_row, &c, "test", &err), 0);
    snprintf(out, 4096, "%s", c.text);
}

/* One affiliate on 30% of NGR with mode carry, one customer whose GGR (its NGR: no deductions)
 * is -1,000 in January, +400 in February and +1,000 in March. Carryover's load hook reads the
 * layers each close left, its save hook stores the next (a preview stores none), on memstore:
 *   2026-01: basis -1,000: one layer (2026-01, -1000); commission 0.00.
 *   2026-02: basis 400, carried_in -1,000, adjusted -600: the January layer absorbs the 400 and
 *            stays, -600 (still of 2026-01, the oldest first); commission 0.00.
 *   2026-03: basis 1,000, carried_in -600, adjusted 400: 30% = 120.00; no layer left.
 * And the audit replays the same layers from the three ledgers (its carryover hooks) and finds
 * the rows agree. Periods are year*12 + month-1: 2026-01 is 24312. */
static void carryover_state_survives_closes(void **state)
{
    acre_store *s;
    acre_error err;
    char rows[4096], *ledger;
    FILE *plan;
    int added, unchanged, nbad = -1;
    static const char plan_text[] =
        "{\"plan_id\": \"rs30-carry\", \"version\": 1, \"currency\": \"EUR\", \"revshare\": "
        "{\"rate\": \"30%\", \"negative_carryover\": {\"mode\": \"carry\"}}}";
    (void)state;
    assert_int_equal(memstore_open(&s, NULL, &err), 0);
    ingest(s, "affiliates",
           "{\"affiliate_id\": \"aff_c\", \"name\": \"C\", \"currency\": \"EUR\"}\n");
    assert_non_null(plan = fmemopen((void *)plan_text, sizeof plan_text - 1, "r"));
    if (acre_plan_add(s, plan, "carry.json", &added, &unchanged, &err))
        fail_msg("plan: %s", err.message);
    fclose(plan);
    ingest(s, "assignments",
           "{\"affiliate_id\": \"aff_c\", \"plan_id\": \"rs30-carry\", \"effective_from\": "
           "\"2026-01\"}\n");
    ingest(s, "igaming/customers",
           "{\"customer_id\": \"c_1\", \"signup_date\": \"2025-12-01T10:00:00Z\", "
           "\"affiliate_id\": \"aff_c\", \"tracking_data\": {}}\n");
    ingest(s, "igaming/gaming-activity",
           "{\"date\": \"2026-01-15\", \"customer_id\": \"c_1\", \"game_type\": \"slots\", "
           "\"currency\": \"EUR\", \"ggr\": \"-1000\"}\n"
           "{\"date\": \"2026-02-15\", \"customer_id\": \"c_1\", \"game_type\": \"slots\", "
           "\"currency\": \"EUR\", \"ggr\": \"400\"}\n"
           "{\"date\": \"2026-03-15\", \"customer_id\": \"c_1\", \"game_type\": \"slots\", "
           "\"currency\": \"EUR\", \"ggr\": \"1000\"}\n");

    free(close_month(s, "2026-01", 1));
    layers_of(s, 24312, rows);
    assert_string_equal(rows, "t:i:t:t: aff_c 24312 -1000 rs30-carry@1;");

    ledger = close_month(s, "2026-02", 0); /* a preview loads the layers and stores nothing */
    assert_non_null(strstr(ledger, "\"carried_in\":\"-1000\",\"adjusted\":\"-600\""));
    free(ledger);
    layers_of(s, 24313, rows);
    assert_string_equal(rows, "");

    ledger = close_month(s, "2026-02", 1);
    assert_non_null(strstr(ledger, "\"carried_in\":\"-1000\",\"adjusted\":\"-600\""));
    free(ledger);
    layers_of(s, 24313, rows);
    assert_string_equal(rows, "t:i:t:t: aff_c 24312 -600 rs30-carry@1;");

    ledger = close_month(s, "2026-03", 1);
    assert_non_null(strstr(ledger, "\"kind\":\"revshare\",\"plan\":\"rs30-carry@1\","
                                   "\"amount\":\"120.00\""));
    assert_non_null(strstr(ledger, "\"carried_in\":\"-600\",\"adjusted\":\"400\""));
    free(ledger);
    layers_of(s, 24314, rows);
    assert_string_equal(rows, "");

    {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        assert_int_equal(acre_audit(s, out, &nbad, &err), 0);
        fclose(out);
        if (nbad != 0)
            fail_msg("audit: %s", text);
        free(text);
    }
    acre_store_free(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shapes_agree),
        cmocka_unit_test(carryover_state_survives_closes),
        cmocka_unit_test(every_fixture_replays_in_memory),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: test_memstore FIXTURES\n");
        return 2;
    }
    fixtures = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
