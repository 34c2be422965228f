/* engine/number.c — exact decimal text to (sign, mantissa, exponent) and back. */
#include "number.h"

#include <string.h>

#define MAX_EXP_ACCUM 1000000 /* exponents beyond this saturate: the range check refuses them */

/* The significant run of the digits read so far (first to last non-zero digit). */
typedef struct digits {
    uint64_t mant;     /* the run, while it has at most ACRE_DEC_MAX_DIGITS digits */
    int sig;           /* its length, zeros inside included */
    int pending_zeros; /* zeros after the last non-zero digit, not yet in mant */
    int seen_nonzero;
} digits;

static void take_digit(digits *g, int d)
{
    if (d == 0) {
        if (g->seen_nonzero)
            g->pending_zeros++;
        return;
    }
    /* a non-zero digit: the zeros before it are significant */
    if (g->sig + g->pending_zeros + 1 <= ACRE_DEC_MAX_DIGITS) {
        for (; g->pending_zeros > 0; g->pending_zeros--, g->sig++)
            g->mant *= 10;
        g->mant = g->mant * 10 + (uint64_t)d;
        g->sig++;
    } else {
        g->sig += g->pending_zeros + 1; /* too many: only the count matters now */
        g->pending_zeros = 0;
    }
    g->seen_nonzero = 1;
}

int acre_number_parse(acre_number *n, const char *s, size_t len, const char *field, acre_error *err)
{
    size_t i = 0;
    int neg = 0;
    /* The digits of the integer and fraction parts are read as one digit string D; the value is
     * D * 10^(e - nfrac). */
    digits g = {0, 0, 0, 0};
    long nfrac = 0;
    long e = 0;
    int eneg = 0;

    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= len || s[i] < '0' || s[i] > '9')
        goto bad;
    if (s[i] == '0') {
        i++;
        if (i < len && s[i] >= '0' && s[i] <= '9')
            goto bad; /* leading zero: "01" is not a JSON number */
    } else {
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            take_digit(&g, s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            goto bad;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nfrac++)
            take_digit(&g, s[i] - '0');
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i >= len || s[i] < '0' || s[i] > '9')
            goto bad;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (e < MAX_EXP_ACCUM)
                e = e * 10 + (s[i] - '0');
        }
    }
    if (i != len)
        goto bad;

    if (g.sig > ACRE_DEC_MAX_DIGITS)
        return acre_error_set(err, ACRE_EINVALID, field, "max_significant_digits",
                              "%s: %d significant digits (max %d): %.*s", field, g.sig,
                              ACRE_DEC_MAX_DIGITS, (int)(len > 60 ? 60 : len), s);
    if (!g.seen_nonzero) {
        n->neg = 0;
        n->mant = 0;
        n->exp = 0;
        return 0;
    }
    {
        /* value = mant * 10^(e - nfrac + trailing zeros) */
        long exp = (eneg ? -e : e) - nfrac + g.pending_zeros;
        long top = exp + g.sig; /* digits left of the point */
        if (exp < -ACRE_NUMBER_MAX_DECIMALS || top > ACRE_NUMBER_MAX_INT_DIGITS)
            return acre_error_set(err, ACRE_EINVALID, field, "range",
                                  "%s: %.*s is out of range (magnitude below 1e%d, at most %d "
                                  "decimal places)",
                                  field, (int)(len > 60 ? 60 : len), s, ACRE_NUMBER_MAX_INT_DIGITS,
                                  ACRE_NUMBER_MAX_DECIMALS);
        n->neg = neg;
        n->mant = g.mant;
        n->exp = (int)exp;
    }
    return 0;

bad:
    return acre_error_set(err, ACRE_EINVALID, field, "number",
                          "%s: not a decimal number in the JSON number grammar: \"%.*s\"", field,
                          (int)(len > 60 ? 60 : len), s);
}

size_t acre_number_format(const acre_number *n, char buf[ACRE_NUMBER_TEXT_MAX])
{
    char digits[24];
    int nd = 0;
    size_t o = 0;
    uint64_t m = n->mant;

    if (m == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        return 1;
    }
    while (m > 0) {
        digits[nd++] = (char)('0' + m % 10);
        m /= 10;
    }
    if (n->neg)
        buf[o++] = '-';
    if (n->exp >= 0) {
        for (int k = nd - 1; k >= 0; k--)
            buf[o++] = digits[k];
        for (int k = 0; k < n->exp; k++)
            buf[o++] = '0';
    } else {
        int frac = -n->exp;
        int intd = nd - frac; /* digits left of the point; may be <= 0 */
        if (intd <= 0) {
            buf[o++] = '0';
            buf[o++] = '.';
            for (int k = 0; k < -intd; k++)
                buf[o++] = '0';
            for (int k = nd - 1; k >= 0; k--)
                buf[o++] = digits[k];
        } else {
            for (int k = nd - 1; k >= 0; k--) {
                buf[o++] = digits[k];
                if (k == frac)
                    buf[o++] = '.';
            }
        }
    }
    buf[o] = '\0';
    return o;
}

int acre_number_stored(acre_number *n, const char *s)
{
    if (!s) {
        n->neg = 0;
        n->mant = 0;
        n->exp = 0;
        return 0;
    }
    if (s[0] == ACRE_CENTS_MARK) {
        long long v;
        memcpy(&v, s + 1, sizeof v);
        acre_number_cents(n, v);
        return 0;
    }
    return acre_number_parse(n, s, strlen(s), "value", NULL);
}

/* |v| without its trailing zeros into *mant; returns how many were taken off. */
static int strip(long long v, uint64_t *mant)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int z = 0;
    while (u && u % 10 == 0)
        u /= 10, z++;
    *mant = u;
    return z;
}

int acre_cents_ok(long long v)
{
    uint64_t m;
    if (v > -1000000000000000LL && v < 1000000000000000LL)
        return 1; /* below 10^15: at most 15 digits (every amount a close meets) */
    strip(v, &m);
    for (int d = 0; d < ACRE_DEC_MAX_DIGITS; d++)
        m /= 10;
    return m == 0;
}

void acre_number_cents(acre_number *n, long long v)
{
    int z = strip(v, &n->mant);
    n->neg = v < 0;
    n->exp = n->mant ? z - 2 : 0;
}

int acre_cents_parse(const char *s, size_t n, long long *v)
{
    const char *e = s + n;
    uint64_t u = 0;
    int neg = 0, frac = 0;
    if (s < e && *s == '-')
        neg = 1, s++;
    if (s == e || *s < '0' || *s > '9' || (*s == '0' && s + 1 < e && s[1] != '.'))
        return 0; /* no digit, or a leading zero */
    for (; s < e && *s >= '0' && *s <= '9'; s++) {
        if (u > (uint64_t)INT64_MAX / 1000)
            return 0; /* u * 100 below could pass INT64_MAX: text (rare) */
        u = u * 10 + (uint64_t)(*s - '0');
    }
    u *= 100;
    if (s < e) {
        /* ".d" or ".dd", the last not 0 */
        if (*s != '.' || e - s < 2 || e - s > 3 || e[-1] == '0')
            return 0;
        for (const char *d = s + 1; d < e; d++)
            if (*d < '0' || *d > '9')
                return 0;
        frac = (s[1] - '0') * 10 + (e - s == 3 ? s[2] - '0' : 0);
    }
    u += (uint64_t)frac;
    if (u > (uint64_t)INT64_MAX || (neg && u == 0))
        return 0;
    *v = neg ? -(long long)u : (long long)u;
    /* more significant digits than a record's number has (ingest refuses them; a text only a
     * changed store holds): kept as text, since a read refuses such an integer */
    return acre_cents_ok(*v);
}

size_t acre_cents_format(long long v, char buf[24])
{
    char digits[24];
    /* the magnitude without overflow, INT64_MIN (never written, but a store can hold it) too */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, ip = u / 100;
    unsigned frac = (unsigned)(u % 100);
    size_t o = 0;
    int nd = 0;
    if (v < 0)
        buf[o++] = '-';
    do {
        digits[nd++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (nd)
        buf[o++] = digits[--nd];
    if (frac) {
        buf[o++] = '.';
        buf[o++] = (char)('0' + frac / 10);
        if (frac % 10)
            buf[o++] = (char)('0' + frac % 10);
    }
    buf[o] = '\0';
    return o;
}
