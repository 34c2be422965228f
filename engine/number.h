/* engine/number.h — a decimal read from text, exactly, without GMP (internal).
 *
 * A record's money value has at most 15 significant digits, so it is held as a sign, an integer
 * mantissa below 10^15 and a power of ten. This is the fast path of ingest; engine/decimal.c
 * builds exact rationals from it. */
#ifndef ACRE_ENGINE_NUMBER_H
#define ACRE_ENGINE_NUMBER_H

#include <stddef.h>
#include <stdint.h>

#include "acre/decimal.h"
#include "acre/error.h"

/* The range a record's number may have: |value| < 10^ACRE_NUMBER_MAX_INT_DIGITS and no digit
 * finer than 10^-ACRE_NUMBER_MAX_DECIMALS. Wider than any money amount, narrow enough that a
 * value like 1e999999 cannot make a million-digit string. */
#define ACRE_NUMBER_MAX_INT_DIGITS 18
#define ACRE_NUMBER_MAX_DECIMALS 18
/* Longest canonical text: sign, 18 digits, point, 18 decimals, NUL. */
#define ACRE_NUMBER_TEXT_MAX 48

typedef struct acre_number {
    int neg;       /* 1 when the value is below zero; never set for zero */
    uint64_t mant; /* no trailing zeros unless zero */
    int exp;       /* value = (neg ? -1 : 1) * mant * 10^exp */
} acre_number;

/* Parses `len` bytes in the JSON number grammar. `field` names the field for the error. Rules:
 * "number" (not in the grammar), "max_significant_digits", "range". */
int acre_number_parse(acre_number *n, const char *text, size_t len, const char *field,
                      acre_error *err);

/* Writes the shortest exact decimal ("0.1", "-12", "100") into buf; returns its length. */
size_t acre_number_format(const acre_number *n, char buf[ACRE_NUMBER_TEXT_MAX]);

/* d = n, exactly (engine/decimal.c). */
void acre_number_to_dec(acre_dec *d, const acre_number *n);

/* Returns <0, 0 or >0 as n compares with zero. */
static inline int acre_number_sgn(const acre_number *n)
{
    return n->mant == 0 ? 0 : (n->neg ? -1 : 1);
}

/* A stored column's number (as ingest wrote it, so it parses; or a reader's hundredths, below)
 * into n; NULL gives 0. The close and the rule kinds read streamed columns with it. */
int acre_number_stored(acre_number *n, const char *s);

/* Money held as an integer of hundredths ("cents", whatever the currency), the way the SQLite
 * backend stores a record's money column when it fits (docs/design.md "Money as integers").
 * acre_cents_parse: 1 and *v when the n bytes at s are a canonical amount as ingest stores it
 * (acre_number_format's text: no leading zero, no trailing zero after the point, no "-0") with
 * at most two decimals, |value| * 100 <= INT64_MAX and at most ACRE_DEC_MAX_DIGITS significant
 * digits (acre_cents_ok); else 0, and the text is stored as it is.
 * acre_cents_format: the canonical text of v / 100 into buf (at most 23 bytes with the NUL);
 * returns its length. For every text acre_cents_parse takes, formatting gives it back byte for
 * byte. */
int acre_cents_parse(const char *s, size_t n, long long *v);
size_t acre_cents_format(long long v, char buf[24]);

/* 1 when v hundredths has at most ACRE_DEC_MAX_DIGITS significant digits, as every amount
 * acre_cents_parse takes has (ingest refuses more); a store holding another was changed. */
int acre_cents_ok(long long v);

/* n = v hundredths. v must pass acre_cents_ok. */
void acre_number_cents(acre_number *n, long long v);

/* The close's readers keep a money column read as hundredths (ACRE_VAL_CENTS) in their text
 * chunks as this byte, the 8 bytes of the integer, and a NUL (engine/close_read.c), where a
 * canonical text never starts with it; acre_number_stored reads either form. */
#define ACRE_CENTS_MARK '\001'
#define ACRE_CENTS_BYTES 10

#endif
