/* engine/audit_util.h — what the audit of the closes' state (engine/audit_state.c) gives a rule
 * kind's audit hooks (include/acre/sys/rule.h "State"): the report of a problem, exact numbers
 * read from a ledger and compared with the text the store keeps, the audit's numbering of the
 * affiliates, and the mark of a failed allocation (internal). */
#ifndef ACRE_ENGINE_AUDIT_UTIL_H
#define ACRE_ENGINE_AUDIT_UTIL_H

#include "acre/decimal.h"

/* One audit of the state rows (engine/audit_state.c makes it; a hook only passes it on). */
typedef struct acre_audit acre_audit;

/* Reports one problem of `period` (the ledger's period as its close row writes it): one
 * "PERIOD\tFAIL\t…" line. */
void acre_audit_bad(acre_audit *au, const char *period, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Marks that an allocation failed: the audit stops with out of memory, concluding nothing. */
void acre_audit_ran_out(acre_audit *au);

/* d = s as an exact rational, -?D+(.D+)? or p/q. Returns 0, or -1 when s is neither (or when
 * memory ran out, which is marked, so that a failed allocation is never reported as a forged
 * number). */
int acre_audit_num(acre_audit *au, acre_dec *d, const char *s);

/* The canonical text of d, as a close stores it (new: the caller frees it), or NULL when out of
 * memory (marked). */
char *acre_audit_canon(acre_audit *au, const acre_dec *d);

/* 1 when stored text s is exactly the canonical text of d. */
int acre_audit_same(acre_audit *au, const char *s, const acre_dec *d);

/* The audit's number of the affiliate `id` (audit_lines' `aff`), or -1 when no ledger read so
 * far lists it. */
int acre_audit_affiliate(const acre_audit *au, const char *id);

#endif
