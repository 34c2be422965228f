/* engine/datetime.h — dates, months and ISO 8601 date-times (internal). */
#ifndef ACRE_ENGINE_DATETIME_H
#define ACRE_ENGINE_DATETIME_H

#include <stddef.h>

/* Stored form of a date-time: UTC, nanoseconds, fixed width so that text order is time order:
 * "2026-03-08T16:05:00.000000000Z" (30 characters). */
#define ACRE_DATETIME_LEN 30

/* 0 when s is a real calendar date "YYYY-MM-DD" (year 0001..9999), else -1. */
int acre_date_check(const char *s, size_t len);

/* 0 when s is "YYYY-MM" (month 01..12); sets *ym = year * 12 + month - 1. Else -1. */
int acre_month_parse(const char *s, size_t len, int *ym);

/* Parses YYYY-MM-DDTHH:MM[:SS[.fraction]] then Z or ±HH:MM, and writes the stored UTC form into
 * out (ACRE_DATETIME_LEN + 1 bytes). Returns 0, or -1 with a reason in *why (static text). */
int acre_datetime_canon(char *out, const char *s, size_t len, const char **why);

#endif
