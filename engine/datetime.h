/* engine/datetime.h — dates, months and ISO 8601 date-times (internal). */
#ifndef ACRE_ENGINE_DATETIME_H
#define ACRE_ENGINE_DATETIME_H

#include <stddef.h>
#include <stdint.h>

/* Stored form of a date-time: UTC, nanoseconds, fixed width so that text order is time order:
 * "2026-03-08T16:05:00.000000000Z" (30 characters). */
#define ACRE_DATETIME_LEN 30

/* 0 when s is a real calendar date "YYYY-MM-DD" (year 0001..9999), else -1. */
int acre_date_check(const char *s, size_t len);

/* 0 when s is "YYYY-MM" (month 01..12); sets *ym = year * 12 + month - 1. Else -1. */
int acre_month_parse(const char *s, size_t len, int *ym);
/* The month a stored date or date-time of len bytes starts with (YYYY-MM...), or -1 when it
 * does not start with one: how ingest, the migration and the audit file a record under its
 * month (late_version, txn_versions). */
int acre_month_of(const char *s, size_t len);

/* Parses YYYY-MM-DDTHH:MM[:SS[.fraction]] then Z or ±HH:MM, and writes the stored UTC form into
 * out (ACRE_DATETIME_LEN + 1 bytes). Returns 0, or -1 with a reason in *why (static text). */
int acre_datetime_canon(char *out, const char *s, size_t len, const char **why);

/* "YYYY-MM" and a NUL into out, from y (0-9999) and m (0-99), zero-padded. */
void acre_ym_text(char out[8], unsigned y, unsigned m);

/* Splits a stored date-time into seconds since 1970-01-01T00:00:00Z and nanoseconds. */
int acre_datetime_split(const char *stored, int64_t *sec, int32_t *nsec);
/* Seconds of a date's midnight UTC. */
int acre_date_sec(const char *date, int64_t *sec);
/* "2026-03-04T10:00:00Z" (fraction only when non-zero). */
void acre_datetime_format(char out[31], int64_t sec, int32_t nsec);
/* The UTC date of a moment. */
void acre_date_of(char out[11], int64_t sec);
/* Midnight UTC of the first day of a period (year*12 + month-1). */
int64_t acre_month_start(int period);
/* The UTC date of sec plus `months` calendar months, the day clamped to the month's end. */
int acre_add_months_date(char out[11], int64_t sec, long months);

#endif
