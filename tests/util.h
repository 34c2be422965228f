/* tests/util.h — helpers shared by the cmocka tests (include after <cmocka.h>). */
#ifndef ACRE_TESTS_UTIL_H
#define ACRE_TESTS_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file as a new NUL-terminated string, its length in *len; fails the test when the
 * file cannot be read. */
static inline char *test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

#endif
