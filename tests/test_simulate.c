/* tests/test_simulate.c FIXTURES — simulate with nothing replaced gives back every stored ledger
 * byte for byte, in every fixture, and leaves the store file as it was.
 *
 * This is what makes a simulated difference mean "the deal", not "the data": each closed period
 * is recomputed at its own close's watermark, so records that arrived after it are seen exactly
 * as that close saw them (late, at the next close). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acre.h"
#include "digest.h"
#include "replay.h"
#include "util.h"

static const char *fixtures;

static void file_hash(const char *path, char out[65])
{
    size_t n;
    char *p = test_slurp(path, &n);
    acre_sha256_hex(out, p, n);
    free(p);
}

/* The first and last closed periods of the store, via the ledger API. */
static int closed_range(acre_store *s, char first[8], char last[8])
{
    int found = 0;
    for (int y = 2025; y <= 2027; y++)
        for (int m = 1; m <= 12; m++) {
            char p[8], *l = NULL;
            acre_error err;
            snprintf(p, sizeof p, "%04d-%02d", y, m);
            if (acre_ledger_get(s, p, &l, &err) == 0) {
                if (!found)
                    memcpy(first, p, 8);
                memcpy(last, p, 8);
                found = 1;
            }
            free(l);
        }
    return found;
}

/* The comparison of r (o's run, both ledgers kept) made again with only the summaries kept (as
 * `acre simulate` runs): its texts are summaries, and acre_sim_write gives the same bytes in
 * every format (each affiliate, currency, scale and earned of each period survives). */
static void same_from_summaries(acre_store *s, acre_sim_options *o, const acre_sim *r,
                                const char *dir)
{
    static const char *const formats[] = {"table", "csv", "json"};
    acre_sim *q = NULL;
    acre_error err;
    const char *base, *sim;
    o->summaries = 1;
    if (acre_simulate(&q, s, o, &err))
        fail_msg("%s: simulate %s..%s with summaries: %s", dir, o->from, o->to, err.message);
    o->summaries = 0;
    for (int p = 0; acre_sim_period(q, p, &base, &sim); p++)
        if (strncmp(base, "{\"affiliates\":[", 15) != 0 ||
            strncmp(sim, "{\"affiliates\":[", 15) != 0)
            fail_msg("%s: period %d was kept whole with summaries", dir, p);
    for (int f = 0; f < 3; f++) {
        char *full = NULL, *kept = NULL;
        size_t nf = 0, nk = 0;
        FILE *a = open_memstream(&full, &nf), *b = open_memstream(&kept, &nk);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(acre_sim_write(a, r, formats[f], NULL, 1000, &err), 0);
        assert_int_equal(acre_sim_write(b, q, formats[f], NULL, 1000, &err), 0);
        fclose(a);
        fclose(b);
        if (strcmp(full, kept) != 0)
            fail_msg("%s: %s from summaries differs:\n%s\n%s", dir, formats[f], full, kept);
        free(full);
        free(kept);
    }
    acre_sim_free(q);
}

static void every_fixture_simulates_to_itself(void **state)
{
    char pat[4096];
    glob_t g;
    int checked = 0, alone = 0, opened = 0;
    (void)state;
    snprintf(pat, sizeof pat, "%s/*/case.json", fixtures);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char dir[4096], db[] = "/tmp/acre-sim-test-XXXXXX", first[8], last[8];
        char before[65], after[65];
        acre_store *s;
        acre_sim *r = NULL;
        acre_error err;
        acre_sim_options o;
        const char *base, *sim, *period;
        int fd = mkstemp(db);
        assert_true(fd >= 0);
        close(fd);
        remove(db);
        snprintf(dir, sizeof dir, "%s", g.gl_pathv[i]);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(acre_replay(dir, 0, 0, db, 0, 1), 0);
        assert_int_equal(acre_store_open(&s, db, &err), 0);
        if (!closed_range(s, first, last)) {
            acre_store_free(s);
            remove(db);
            continue;
        }
        file_hash(db, before);
        memset(&o, 0, sizeof o);
        o.from = first;
        o.to = last;
        if (acre_simulate(&r, s, &o, &err))
            fail_msg("%s: simulate %s..%s: %s", dir, first, last, err.message);
        for (int p = 0; (period = acre_sim_period(r, p, &base, &sim)); p++) {
            if (strcmp(base, sim) != 0)
                fail_msg("%s: the simulation of %s differs from its stored ledger:\n%s\n%s", dir,
                         period, base, sim);
            checked++;
        }
        /* with only the summaries kept (as `acre simulate` runs), the same comparison */
        same_from_summaries(s, &o, r, dir);
        {
            /* and the month after the last close, open: its baseline is computed, then cut */
            int y = atoi(last), m = atoi(last + 5);
            char next[16];
            acre_sim *open = NULL;
            snprintf(next, sizeof next, "%04d-%02d", y + m / 12, m % 12 + 1);
            o.from = o.to = next;
            if (acre_simulate(&open, s, &o, &err) == 0) {
                same_from_summaries(s, &o, open, dir);
                opened++;
            }
            acre_sim_free(open);
            acre_error_clear(&err);
            o.from = first;
            o.to = last;
        }
        acre_sim_free(r);
        /* and each closed period alone, from the state the closes before it left (the closes
         * from it on undone): the same bytes. A clawback before the period must stay a clawback
         * (fixtures/clawback-reversed-ftd: March alone once clawed c_1's CPA back again) */
        for (int y = 2025; y <= 2027; y++)
            for (int m = 1; m <= 12; m++) {
                char pp[8], *l = NULL;
                snprintf(pp, sizeof pp, "%04d-%02d", y, m);
                if (acre_ledger_get(s, pp, &l, &err) != 0)
                    continue;
                free(l);
                o.from = o.to = pp;
                if (acre_simulate(&r, s, &o, &err))
                    fail_msg("%s: simulate %s: %s", dir, pp, err.message);
                assert_non_null(period = acre_sim_period(r, 0, &base, &sim));
                if (strcmp(base, sim) != 0)
                    fail_msg(
                        "%s: the simulation of %s alone differs from its stored ledger:\n%s\n%s",
                        dir, period, base, sim);
                acre_sim_free(r);
                alone++;
            }
        acre_store_free(s);
        file_hash(db, after);
        assert_string_equal(before, after);
        remove(db);
    }
    globfree(&g);
    /* the fixtures close some forty periods between them: they were all compared */
    printf("%d closed periods simulated to their stored bytes, %d alone; %d open months compared "
           "from summaries\n",
           checked, alone, opened);
    assert_true(opened > 0);
    assert_true(checked >= 30);
    assert_int_equal(alone, checked);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_fixture_simulates_to_itself),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: test_simulate FIXTURES\n");
        return 2;
    }
    fixtures = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
