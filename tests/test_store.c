/* tests/test_store.c — the SQLite backend keeps the statements it is done with
 * (engine/store_sqlite_query.c): the next prepare of the same shape gets the kept one back, reads
 * with its own parameters, never shares a statement still in use, and the kept ones stay within
 * ACRE_SQLITE_CACHED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <string.h>

#include "acre.h"
#include "store_int.h"
#include "store_sqlite.h"

static const acre_query q_value = {
    ACRE_Q_SELECT, "counter", {"value", NULL}, {{"name", ACRE_EQ}}, {NULL}, 0, 0};

static int one(void *ctx, const acre_value *row, int n, acre_error *e)
{
    (void)n;
    (void)e;
    *(long long *)ctx = row[0].i;
    return 1;
}

static long long value_of(acre_store *s, acre_stmt *st, const char *name)
{
    acre_value p = {ACRE_VAL_TEXT, 0, name, strlen(name)};
    long long v = -1;
    acre_error err;
    assert_int_equal(acre_store_run(s, st, &p, one, &v, NULL, &err), 0);
    return v;
}

static int statements(acre_store *s)
{
    int n = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(acre_sqlite_db(s), NULL); st;
         st = sqlite3_next_stmt(acre_sqlite_db(s), st))
        n++;
    return n;
}

static void test_kept_statements(void **state)
{
    acre_store *s;
    acre_stmt *a, *b, *c;
    acre_error err;
    acre_query shapes[ACRE_SQLITE_CACHED + 8];
    acre_stmt *st[ACRE_SQLITE_CACHED + 8];
    int before;
    (void)state;
    assert_int_equal(acre_store_open(&s, ":memory:", &err), 0);
    /* two rows to read, in a write transaction (the commit guard refuses a write outside one),
     * rolled back at the end */
    assert_int_equal(acre_store_begin(s, &err), 0);
    assert_int_equal(
        sqlite3_exec(acre_sqlite_db(s),
                     "INSERT INTO counter(name, value) VALUES ('t_a', 11), ('t_b', 22)", NULL, NULL,
                     NULL),
        SQLITE_OK);
    before = statements(s);

    assert_int_equal(acre_store_stmt(s, &q_value, &a, &err), 0);
    assert_int_equal(value_of(s, a, "t_a"), 11);
    acre_store_done(s, a);
    assert_int_equal(statements(s), before + 1); /* kept, not finalized */
    /* the same shape again: the kept statement, reading with the new parameter */
    assert_int_equal(acre_store_stmt(s, &q_value, &b, &err), 0);
    assert_ptr_equal(b, a);
    assert_int_equal(value_of(s, b, "t_b"), 22);
    /* while b is in use, the same shape is another statement, and each reads its own */
    assert_int_equal(acre_store_stmt(s, &q_value, &c, &err), 0);
    assert_ptr_not_equal(c, b);
    assert_int_equal(value_of(s, c, "t_a"), 11);
    assert_int_equal(value_of(s, b, "t_b"), 22);
    acre_store_done(s, b);
    acre_store_done(s, c);
    assert_int_equal(statements(s), before + 2);

    /* more shapes than are kept (LIMIT 1, 2, ...: each its own text): at most ACRE_SQLITE_CACHED
     * stay prepared once all are done, and a shape prepared again still reads right */
    for (int i = 0; i < ACRE_SQLITE_CACHED + 8; i++) {
        shapes[i] = q_value;
        shapes[i].limit = i + 1;
        assert_int_equal(acre_store_stmt(s, &shapes[i], &st[i], &err), 0);
    }
    for (int i = 0; i < ACRE_SQLITE_CACHED + 8; i++)
        acre_store_done(s, st[i]);
    assert_int_equal(statements(s), before + ACRE_SQLITE_CACHED);
    assert_int_equal(acre_store_stmt(s, &q_value, &a, &err), 0);
    assert_int_equal(value_of(s, a, "t_b"), 22);
    acre_store_done(s, a);
    acre_store_rollback(s);
    acre_store_free(s); /* finalizes the kept statements: a statement left would leak (ASan) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_statements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
