/* engine/decimal.c — exact money on GMP rationals. */
#include "acre/decimal.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "number.h"

void acre_dec_init(acre_dec *d)
{
    mpq_init(d->q);
}

void acre_dec_clear(acre_dec *d)
{
    mpq_clear(d->q);
}

void acre_dec_set(acre_dec *d, const acre_dec *src)
{
    mpq_set(d->q, src->q);
}

void acre_dec_set_si(acre_dec *d, long v)
{
    mpq_set_si(d->q, v, 1);
}

void acre_number_to_dec(acre_dec *d, const acre_number *n)
{
    mpz_t p;
    mpz_init(p);
    mpz_set_ui(mpq_numref(d->q), 0);
    mpz_import(mpq_numref(d->q), 1, 1, sizeof n->mant, 0, 0, &n->mant);
    mpz_set_ui(mpq_denref(d->q), 1);
    mpz_ui_pow_ui(p, 10, (unsigned long)(n->exp < 0 ? -n->exp : n->exp));
    if (n->exp >= 0)
        mpz_mul(mpq_numref(d->q), mpq_numref(d->q), p);
    else
        mpz_set(mpq_denref(d->q), p);
    mpq_canonicalize(d->q);
    if (n->neg)
        mpq_neg(d->q, d->q);
    mpz_clear(p);
}

int acre_dec_parse(acre_dec *d, const char *text, size_t len, acre_error *err)
{
    acre_number n;
    int rc = acre_number_parse(&n, text, len, "value", err);
    if (rc)
        return rc;
    acre_number_to_dec(d, &n);
    return 0;
}

/* Digits only, at least one, no leading zero unless alone. */
static int digits_ok(const char *s, size_t n)
{
    if (n == 0 || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int acre_dec_stored_ok(const char *text)
{
    size_t len, neg, ip, fp;
    const char *slash, *dot, *t;
    if (!text || (len = strlen(text)) > ACRE_DEC_STORED_MAX)
        return 0;
    neg = text[0] == '-';
    t = text + neg;
    slash = strchr(t, '/');
    dot = strchr(t, '.');
    if (slash) {
        /* p/q, p not 0, q above 1 (digits_ok: no leading zero, so "0" and "1" are the only
         * denominators below 2) */
        ip = (size_t)(slash - t);
        fp = len - neg - ip - 1;
        return !dot && digits_ok(t, ip) && digits_ok(slash + 1, fp) && !(ip == 1 && t[0] == '0') &&
               !(fp == 1 && (slash[1] == '0' || slash[1] == '1'));
    }
    ip = dot ? (size_t)(dot - t) : len - neg;
    fp = dot ? len - neg - ip - 1 : 0;
    if (!digits_ok(t, ip) || (dot && fp == 0))
        return 0;
    for (size_t i = 0; i < fp; i++)
        if (dot[1 + i] < '0' || dot[1 + i] > '9')
            return 0;
    if (neg) {
        /* "-0" is never written: a negative value has a digit other than 0 */
        for (size_t i = 0; i < len; i++)
            if (text[i] >= '1' && text[i] <= '9')
                return 1;
        return 0;
    }
    return 1;
}

int acre_dec_parse_stored(acre_dec *d, const char *text, acre_error *err)
{
    size_t len, neg, ip, fp;
    const char *slash, *dot, *t;
    char buf[ACRE_DEC_STORED_MAX + 1]; /* on the stack: reading back never fails for memory */
    int ok;

    if (!text)
        return acre_error_set(err, ACRE_ERROR, "value", "stored_value", "a stored value is NULL");
    len = strlen(text);
    neg = text[0] == '-';
    t = text + neg;
    slash = strchr(t, '/');
    dot = strchr(t, '.');
    if (len > ACRE_DEC_STORED_MAX)
        goto bad;
    if (slash) { /* "p/q" with q > 1, as acre_dec_format writes it (reduced here if need be) */
        ip = (size_t)(slash - t);
        fp = len - neg - ip - 1;
        if (dot || !digits_ok(t, ip) || !digits_ok(slash + 1, fp) || (ip == 1 && t[0] == '0'))
            goto bad;
        memcpy(buf, text, len + 1);
        ok = mpq_set_str(d->q, buf, 10) == 0;
        if (!ok || mpz_cmp_ui(mpq_denref(d->q), 1) <= 0)
            goto bad;
        mpq_canonicalize(d->q);
        return 0;
    }
    /* a decimal of any length: -?(0|[1-9][0-9]*)(\.[0-9]+)? */
    ip = dot ? (size_t)(dot - t) : len - neg;
    fp = dot ? len - neg - ip - 1 : 0;
    if (!digits_ok(t, ip) || (dot && fp == 0))
        goto bad;
    for (size_t i = 0; i < fp; i++)
        if (dot[1 + i] < '0' || dot[1 + i] > '9')
            goto bad;
    memcpy(buf, t, ip);
    memcpy(buf + ip, dot ? dot + 1 : "", fp);
    buf[ip + fp] = '\0';
    ok = mpz_set_str(mpq_numref(d->q), buf, 10) == 0;
    if (!ok)
        goto bad;
    mpz_ui_pow_ui(mpq_denref(d->q), 10, (unsigned long)fp);
    mpq_canonicalize(d->q);
    if (neg) {
        if (mpq_sgn(d->q) == 0)
            goto bad; /* "-0" is never written */
        mpq_neg(d->q, d->q);
    }
    return 0;
bad:
    mpq_set_ui(d->q, 0, 1);
    return acre_error_set(err, ACRE_ERROR, "value", "stored_value",
                          "a stored value is not an exact number: %.60s", text);
}

void acre_dec_add(acre_dec *r, const acre_dec *a, const acre_dec *b)
{
    mpq_add(r->q, a->q, b->q);
}

void acre_dec_sub(acre_dec *r, const acre_dec *a, const acre_dec *b)
{
    mpq_sub(r->q, a->q, b->q);
}

void acre_dec_mul(acre_dec *r, const acre_dec *a, const acre_dec *b)
{
    mpq_mul(r->q, a->q, b->q);
}

int acre_dec_div(acre_dec *r, const acre_dec *a, const acre_dec *b)
{
    if (mpq_sgn(b->q) == 0)
        return ACRE_EINVALID;
    mpq_div(r->q, a->q, b->q);
    return 0;
}

void acre_dec_neg(acre_dec *r, const acre_dec *a)
{
    mpq_neg(r->q, a->q);
}

int acre_dec_cmp(const acre_dec *a, const acre_dec *b)
{
    return mpq_cmp(a->q, b->q);
}

int acre_dec_sgn(const acre_dec *a)
{
    return mpq_sgn(a->q);
}

/* q = a * 10^scale rounded to an integer with `mode`. */
static void round_scaled(mpz_t q, const acre_dec *a, int scale, acre_round mode)
{
    mpz_t num, rem, twice;

    mpz_inits(num, rem, twice, NULL);
    mpz_ui_pow_ui(num, 10, (unsigned long)scale);
    mpz_mul(num, num, mpq_numref(a->q));
    mpz_tdiv_qr(q, rem, num, mpq_denref(a->q)); /* truncates toward zero */
    if (mpz_sgn(rem) != 0 && mode != ACRE_ROUND_DOWN) {
        int c;
        mpz_abs(twice, rem);
        mpz_mul_2exp(twice, twice, 1);
        c = mpz_cmp(twice, mpq_denref(a->q));
        if (c > 0 || (c == 0 && (mode == ACRE_ROUND_HALF_UP || mpz_odd_p(q)))) {
            if (mpz_sgn(num) < 0)
                mpz_sub_ui(q, q, 1);
            else
                mpz_add_ui(q, q, 1);
        }
    }
    mpz_clears(num, rem, twice, NULL);
}

void acre_dec_round(acre_dec *r, const acre_dec *a, int scale, acre_round mode)
{
    mpz_t q;

    mpz_init(q);
    round_scaled(q, a, scale, mode);
    mpz_set(mpq_numref(r->q), q);
    mpz_ui_pow_ui(mpq_denref(r->q), 10, (unsigned long)scale);
    mpq_canonicalize(r->q);
    mpz_clear(q);
}

/* Writes integer `v` with `scale` decimals, trimming trailing zeros when `trim`. New string. */
static char *format_scaled(const mpz_t v, int scale, int trim)
{
    char *digits = mpz_get_str(NULL, 10, v);
    char *out;
    const char *d;
    size_t nd, o = 0;
    int neg;

    if (!digits)
        return NULL;
    neg = digits[0] == '-';
    d = digits + neg;
    nd = strlen(d);
    out = acre_malloc(nd + (size_t)scale + 4);
    if (!out) {
        free(digits);
        return NULL;
    }
    if (neg)
        out[o++] = '-';
    if (nd <= (size_t)scale) {
        out[o++] = '0';
        if (scale > 0) {
            out[o++] = '.';
            for (size_t k = nd; k < (size_t)scale; k++)
                out[o++] = '0';
        }
        memcpy(out + o, d, nd);
        o += nd;
    } else {
        memcpy(out + o, d, nd - (size_t)scale);
        o += nd - (size_t)scale;
        if (scale > 0) {
            out[o++] = '.';
            memcpy(out + o, d + nd - (size_t)scale, (size_t)scale);
            o += (size_t)scale;
        }
    }
    out[o] = '\0';
    if (trim && scale > 0) {
        while (out[o - 1] == '0')
            out[--o] = '\0';
        if (out[o - 1] == '.')
            out[--o] = '\0';
    }
    if (strcmp(out, "-0") == 0)
        strcpy(out, "0");
    free(digits);
    return out;
}

char *acre_dec_format(const acre_dec *d)
{
    mpz_t rest, five, v;
    unsigned long twos, fives, scale;
    char *out;

    if (mpz_cmp_ui(mpq_denref(d->q), 1) == 0) /* an integer: no decimals to find */
        return format_scaled(mpq_numref(d->q), 0, 1);
    /* A rational has a finite decimal form exactly when its reduced denominator is 2^a 5^b;
     * then it needs max(a, b) decimals. */
    mpz_init_set(rest, mpq_denref(d->q));
    mpz_init_set_ui(five, 5);
    twos = mpz_scan1(rest, 0);
    mpz_tdiv_q_2exp(rest, rest, twos);
    fives = mpz_remove(rest, rest, five);
    if (mpz_cmp_ui(rest, 1) != 0) {
        size_t n = mpz_sizeinbase(mpq_numref(d->q), 10) + mpz_sizeinbase(mpq_denref(d->q), 10) + 3;
        out = acre_malloc(n);
        if (out)
            gmp_snprintf(out, n, "%Zd/%Zd", mpq_numref(d->q), mpq_denref(d->q));
        mpz_clears(rest, five, NULL);
        return out;
    }
    scale = twos > fives ? twos : fives;
    mpz_init(v);
    mpz_ui_pow_ui(v, 10, scale);
    mpz_mul(v, v, mpq_numref(d->q));
    mpz_divexact(v, v, mpq_denref(d->q));
    out = format_scaled(v, (int)scale, 1);
    mpz_clears(rest, five, v, NULL);
    return out;
}

char *acre_dec_format_fixed(const acre_dec *a, int scale, acre_round mode)
{
    mpz_t q;
    char *out;

    mpz_init(q);
    round_scaled(q, a, scale, mode);
    out = format_scaled(q, scale, 0);
    mpz_clear(q);
    return out;
}

int acre_round_parse(acre_round *mode, const char *name)
{
    if (strcmp(name, "half_even") == 0)
        *mode = ACRE_ROUND_HALF_EVEN;
    else if (strcmp(name, "half_up") == 0)
        *mode = ACRE_ROUND_HALF_UP;
    else if (strcmp(name, "down") == 0)
        *mode = ACRE_ROUND_DOWN;
    else
        return ACRE_EINVALID;
    return 0;
}
