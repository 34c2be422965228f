/* acre/decimal.h — exact money on GMP.
 *
 * An acre_dec is an exact rational number. Amounts read from records are decimals; a division
 * may give a value with no finite decimal form, which formats as "p/q". Nothing here goes
 * through binary floating point. */
#ifndef ACRE_DECIMAL_H
#define ACRE_DECIMAL_H

#include <gmp.h>
#include <stddef.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most significant digits a money value in a record may have (SPEC 3). */
#define ACRE_DEC_MAX_DIGITS 15

typedef struct acre_dec {
    mpq_t q;
} acre_dec;

typedef enum acre_round {
    ACRE_ROUND_HALF_EVEN = 0, /* ties to the even neighbour (banker's) */
    ACRE_ROUND_HALF_UP,       /* ties away from zero */
    ACRE_ROUND_DOWN           /* toward zero */
} acre_round;

void acre_dec_init(acre_dec *d);
void acre_dec_clear(acre_dec *d);
void acre_dec_set(acre_dec *d, const acre_dec *src);
void acre_dec_set_si(acre_dec *d, long v);

/* Parses `len` bytes of text in the JSON number grammar (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
 * exactly. More than ACRE_DEC_MAX_DIGITS significant digits (first to last non-zero digit) is
 * refused with rule "max_significant_digits"; a value outside the range of acre_number is refused
 * with rule "range"; text outside the grammar with rule "number". */
int acre_dec_parse(acre_dec *d, const char *text, size_t len, acre_error *err);

/* Longest text acre_dec_parse_stored takes. */
#define ACRE_DEC_STORED_MAX 4096

/* Parses a value acre_dec_format or acre_dec_format_fixed wrote: a decimal of any number of
 * digits ("-1000000000.000001", "462.50") or "p/q" ("-3175/27"; reduced if it is not in lowest
 * terms), exactly; no exponent, no leading zero, no "-0". This is for values
 * the store keeps (deficits, balances, remembered amounts: SPEC 9 "Late data"), not for input
 * records, which keep the 15-digit rule. Returns 0, or ACRE_ERROR (rule "stored_value") with d
 * set to 0. It allocates nothing but GMP's own memory. */
int acre_dec_parse_stored(acre_dec *d, const char *text, acre_error *err);

/* 1 when acre_dec_parse_stored would take text, 0 when it would refuse it; without computing the
 * value (no GMP: a close checks every stored value it loads, most of which it never uses). */
int acre_dec_stored_ok(const char *text);

void acre_dec_add(acre_dec *r, const acre_dec *a, const acre_dec *b);
void acre_dec_sub(acre_dec *r, const acre_dec *a, const acre_dec *b);
void acre_dec_mul(acre_dec *r, const acre_dec *a, const acre_dec *b);
/* Returns ACRE_EINVALID (and leaves r unchanged) when b is zero. */
int acre_dec_div(acre_dec *r, const acre_dec *a, const acre_dec *b);
void acre_dec_neg(acre_dec *r, const acre_dec *a);
/* <0, 0 or >0 as a is less than, equal to or greater than b. */
int acre_dec_cmp(const acre_dec *a, const acre_dec *b);
int acre_dec_sgn(const acre_dec *a);

/* r = a rounded to `scale` decimal places (0..30) with `mode`. */
void acre_dec_round(acre_dec *r, const acre_dec *a, int scale, acre_round mode);

/* The shortest exact decimal ("0.3", "-12", "1250.5"), or "p/q" when the value has no finite
 * decimal form. Returns a new string (the caller frees with free()), or NULL when out of memory. */
char *acre_dec_format(const acre_dec *d);

/* a rounded to `scale` with `mode`, written with exactly `scale` decimals ("4.70"). New string. */
char *acre_dec_format_fixed(const acre_dec *a, int scale, acre_round mode);

/* Parses a mode name: "half_even", "half_up", "down". Returns 0, or ACRE_EINVALID. */
int acre_round_parse(acre_round *mode, const char *name);

#ifdef __cplusplus
}
#endif

#endif
