/* engine/verify_util.h — what `acre verify` and the line kinds' verify hooks check a ledger
 * line with (internal): exact numbers and rates read from the document, comparisons, and the
 * report of each problem at its place. */
#ifndef ACRE_ENGINE_VERIFY_UTIL_H
#define ACRE_ENGINE_VERIFY_UTIL_H

#include <jansson.h>
#include <stdio.h>

#include "acre/decimal.h"

/* One verify run (engine/verify.c makes it; a hook only passes it on). */
typedef struct acre_vc {
    FILE *out;
    const char *prefix; /* each problem's: "FILE: " for verify, "PERIOD\tFAIL\t" for audit */
    char where[4200];   /* "affiliate aff_1, line 3 (revshare rs25@1)", or "" for the document: room
                         * for an affiliate ID and a plan label of 2,000 bytes each */
    int nbad;
    int oom; /* an allocation failed: a check may have been skipped, so nothing is concluded */
} acre_vc;

/* Reports one problem at v->where (the first 100 are written; all are counted). */
void acre_vc_bad(acre_vc *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the place the next problems are reported at. */
void acre_vc_where(acre_vc *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* o[k] when it is a string, else NULL (borrowed from o). */
const char *acre_vc_str(const json_t *o, const char *k);
/* s as an exact rational: a decimal -?D+(.D+)? or p/q. Returns 0, or -1 when s is neither. */
int acre_vc_parse_q(acre_dec *d, const char *s);
/* o[key] (a string) as an exact number in its canonical form; reports and returns -1 when it is
 * missing, not a number, or not written the way acre writes it. */
int acre_vc_num(acre_vc *v, const json_t *o, const char *key, acre_dec *d);
/* s, a rate such as "25%" or "12.5%", as a fraction; `key` names it in a report, which is made
 * and -1 returned when s is not one. */
int acre_vc_rate_text(acre_vc *v, const char *key, const char *s, acre_dec *d);
/* o[key] as a rate (acre_vc_rate_text). */
int acre_vc_rate(acre_vc *v, const json_t *o, const char *key, acre_dec *d);
/* Reports when got != want: "WHAT is GOT; HOW gives WANT". */
void acre_vc_same(acre_vc *v, const char *what, const acre_dec *got, const acre_dec *want,
                  const char *how);
/* 1 when s is one of the NULL-terminated set. */
int acre_vc_one_of(const char *s, const char *const *set);

#endif
