/* engine/datetime.c — calendar checks and UTC normalisation, integer arithmetic only. */
#include "datetime.h"

#include <stdio.h>
#include <string.h>

static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int ymd(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' ||
        digits(s + 8, 2, d))
        return -1;
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > month_days(*y, *m))
        return -1;
    return 0;
}

int acre_date_check(const char *s, size_t len)
{
    int y, m, d;
    return len == 10 && ymd(s, &y, &m, &d) == 0 ? 0 : -1;
}

int acre_month_parse(const char *s, size_t len, int *ym)
{
    int y, m;
    if (len != 7 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) || y < 1 || m < 1 ||
        m > 12)
        return -1;
    *ym = y * 12 + m - 1;
    return 0;
}

int acre_month_of(const char *s, size_t len)
{
    int ym;
    return s && len >= 7 && !acre_month_parse(s, 7, &ym) ? ym : -1;
}

int acre_datetime_canon(char *out, const char *s, size_t len, const char **why)
{
    int y, mo, d, hh, mi, ss = 0, oh = 0, om = 0, sign = 0;
    long nanos = 0;
    size_t i = 16;

    *why = "expected YYYY-MM-DDTHH:MM[:SS[.fraction]] then Z or +HH:MM/-HH:MM";
    if (len < 17 || ymd(s, &y, &mo, &d) || s[10] != 'T' || digits(s + 11, 2, &hh) ||
        s[13] != ':' || digits(s + 14, 2, &mi))
        goto bad;
    if (i < len && s[i] == ':') {
        if (i + 3 > len || digits(s + i + 1, 2, &ss))
            goto bad;
        i += 3;
        if (i < len && s[i] == '.') {
            int nd = 0;
            i++;
            if (i >= len || s[i] < '0' || s[i] > '9')
                goto bad;
            for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
                if (nd < 9)
                    nanos = nanos * 10 + (s[i] - '0');
                else if (s[i] != '0') {
                    *why = "fraction of a second finer than nanoseconds";
                    return -1;
                }
            }
            for (; nd < 9; nd++)
                nanos *= 10;
        }
    }
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '-' ? -1 : 1;
        if (i + 6 > len || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            digits(s + i + 4, 2, &om))
            goto bad;
        i += 6;
    } else {
        *why = "missing the offset: end with Z or +HH:MM/-HH:MM";
        return -1;
    }
    if (i != len)
        goto bad;
    if (hh > 23 || mi > 59 || ss > 59 || oh > 23 || om > 59) {
        *why = "hour, minute, second or offset out of range";
        return -1;
    }
    {
        long secs = days_from_civil(y, mo, d) * 86400L + hh * 3600L + mi * 60L + ss;
        long days;
        int sec_of_day;
        secs -= sign * (oh * 3600L + om * 60L);
        days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        sec_of_day = (int)(secs - days * 86400);
        civil_from_days(days, &y, &mo, &d);
        if (y < 1 || y > 9999) {
            *why = "the UTC time falls outside years 0001..9999";
            return -1;
        }
        char tmp[96]; /* every field is range-checked: the text is ACRE_DATETIME_LEN long */
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", y, mo, d,
                 sec_of_day / 3600, sec_of_day / 60 % 60, sec_of_day % 60, nanos);
        memcpy(out, tmp, ACRE_DATETIME_LEN + 1);
    }
    return 0;
bad:
    return -1;
}

int acre_datetime_split(const char *stored, int64_t *sec, int32_t *nsec)
{
    int y, mo, d, hh, mi, ss, ns;
    if (ymd(stored, &y, &mo, &d) || digits(stored + 11, 2, &hh) || digits(stored + 14, 2, &mi) ||
        digits(stored + 17, 2, &ss) || digits(stored + 20, 9, &ns))
        return -1;
    *sec = (int64_t)days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    *nsec = ns;
    return 0;
}

int acre_date_sec(const char *date, int64_t *sec)
{
    int y, m, d;
    if (ymd(date, &y, &m, &d))
        return -1;
    *sec = (int64_t)days_from_civil(y, m, d) * 86400;
    return 0;
}

/* Writes v as n digits, zero-padded. */
static char *put_digits(char *p, long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

void acre_datetime_format(char out[31], int64_t sec, int32_t nsec)
{
    long days = (long)(sec >= 0 ? sec / 86400 : (sec - 86399) / 86400);
    int rem = (int)(sec - (int64_t)days * 86400);
    char *p = out;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    y %= 10000;
    if (y < 0) { /* cannot happen: parsing refuses years before 1, so UTC is at least year 0 */
        snprintf(out, 31, "%d", y);
        return;
    }
    /* by hand: this runs for every qualified customer of a close, and snprintf was 2% of it */
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem % 60, 2);
    if (nsec) {
        int n = 9;
        char frac[9];
        put_digits(frac, nsec, 9);
        while (n > 1 && frac[n - 1] == '0')
            n--;
        *p++ = '.';
        memcpy(p, frac, (size_t)n);
        p += n;
    }
    *p++ = 'Z';
    *p = '\0';
}

void acre_ym_text(char out[8], unsigned y, unsigned m)
{
    out[0] = (char)('0' + y / 1000 % 10);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10 % 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '\0';
}

void acre_date_of(char out[11], int64_t sec)
{
    long days = (long)(sec >= 0 ? sec / 86400 : (sec - 86399) / 86400);
    int y, m, d;
    unsigned u;
    civil_from_days(days, &y, &m, &d);
    u = (unsigned)(y < 0 ? 0 : y % 10000); /* stored instants are years 0001-9999 */
    acre_ym_text(out, u, (unsigned)m);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int64_t acre_month_start(int period)
{
    return (int64_t)days_from_civil(period / 12, period % 12 + 1, 1) * 86400;
}

int acre_add_months_date(char out[11], int64_t sec, long months)
{
    long days = (long)(sec >= 0 ? sec / 86400 : (sec - 86399) / 86400);
    int y, m, d;
    long t;
    civil_from_days(days, &y, &m, &d);
    t = (long)y * 12 + (m - 1) + months;
    if (t < 12 || t > 9999L * 12 + 11)
        return -1;
    y = (int)(t / 12);
    m = (int)(t % 12) + 1;
    if (d > month_days(y, m))
        d = month_days(y, m);
    {
        char tmp[48];
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, m, d);
        memcpy(out, tmp, 10);
        out[10] = '\0';
    }
    return 0;
}
