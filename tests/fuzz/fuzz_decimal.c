/* tests/fuzz/fuzz_decimal.c — decimal parsing (engine/number.c and engine/decimal.c).
 *
 * Input: the text of one number. Both parsers read it; properties checked besides the
 * sanitizers: they accept the same texts, with the same value; what they accept formats back to
 * text that parses to the same value; and the two-decimal text of every rounding mode parses
 * back to within one cent of it. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"
#include "number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    acre_number n;
    acre_dec d, back;
    acre_error err;
    int num_ok, dec_ok;

    acre_dec_init(&d);
    acre_dec_init(&back);
    num_ok = acre_number_parse(&n, text, size, "amount", &err) == 0;
    dec_ok = acre_dec_parse(&d, text, size, &err) == 0;
    /* the exact parser refuses exactly what the fast one refuses (the same grammar and range) */
    assert(num_ok == dec_ok);
    if (num_ok) {
        char buf[ACRE_NUMBER_TEXT_MAX];
        size_t len = acre_number_format(&n, buf);
        acre_number again;
        acre_dec from;
        /* the same value */
        acre_dec_init(&from);
        acre_number_to_dec(&from, &n);
        assert(acre_dec_cmp(&from, &d) == 0);
        acre_dec_clear(&from);
        assert(acre_number_parse(&again, buf, len, "amount", &err) == 0);
        assert(again.neg == n.neg && again.mant == n.mant && again.exp == n.exp);
    }
    if (dec_ok) {
        char *s = acre_dec_format(&d);
        assert(s);
        assert(acre_dec_parse(&back, s, strlen(s), &err) == 0);
        assert(acre_dec_cmp(&back, &d) == 0);
        free(s);
        for (int mode = 0; mode <= ACRE_ROUND_DOWN; mode++) {
            char *f = acre_dec_format_fixed(&d, 2, (acre_round)mode);
            acre_dec r, diff, half;
            assert(f);
            acre_dec_init(&r);
            acre_dec_init(&diff);
            acre_dec_init(&half);
            assert(acre_dec_parse(&r, f, strlen(f), &err) == 0);
            acre_dec_sub(&diff, &r, &d);
            if (acre_dec_sgn(&diff) < 0)
                acre_dec_neg(&diff, &diff);
            assert(acre_dec_parse(&half, "0.01", 4, &err) == 0);
            assert(acre_dec_cmp(&diff, &half) < 0); /* within one cent whatever the mode */
            acre_dec_clear(&r);
            acre_dec_clear(&diff);
            acre_dec_clear(&half);
            free(f);
        }
    }
    acre_dec_clear(&d);
    acre_dec_clear(&back);
    return 0;
}
