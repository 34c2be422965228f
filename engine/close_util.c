/* engine/close_util.c — small pieces shared by the close and the rule kinds: exact sums,
 * currency conversion, ledger lines and their detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "close.h"
#include "datetime.h"
#include "number.h"

static __int128 pow10_128(int e)
{
    __int128 v = 1;
    while (e-- > 0)
        v *= 10;
    return v;
}

static int spill(acre_acc *a, const acre_dec *d)
{
    if (!a->big) {
        if (!(a->big = acre_malloc(sizeof *a->big)))
            return -1;
        mpq_init(*a->big);
    }
    mpq_add(*a->big, *a->big, d->q);
    return 0;
}

int acre_acc_add_dec(acre_acc *a, const acre_dec *d)
{
    return spill(a, d);
}

/* Values of records have |v| < 10^18 and no digit below 10^-18, so v * 10^18 fits an int128;
 * a sum that would overflow goes to the rational part. */
int acre_acc_add_number(acre_acc *a, const acre_number *n)
{
    __int128 x, r;
    acre_dec d;
    int rc;
    if (!n->mant)
        return 0;
    if (n->exp + 18 >= 0 && n->exp + 18 <= 36) {
        x = (__int128)n->mant * pow10_128(n->exp + 18);
        if (!__builtin_add_overflow(a->v, n->neg ? -x : x, &r)) {
            a->v = r;
            return 0;
        }
    }
    acre_dec_init(&d);
    acre_number_to_dec(&d, n);
    rc = spill(a, &d);
    acre_dec_clear(&d);
    return rc;
}

void acre_acc_get(acre_dec *out, const acre_acc *a)
{
    unsigned __int128 u = a->v < 0 ? -(unsigned __int128)a->v : (unsigned __int128)a->v;
    uint64_t w[2] = {(uint64_t)u, (uint64_t)(u >> 64)};
    mpz_import(mpq_numref(out->q), 2, -1, sizeof w[0], 0, 0, w);
    mpz_set_ui(mpq_denref(out->q), 1000000000000000000UL); /* 10^18 */
    mpq_canonicalize(out->q);
    if (a->v < 0)
        mpq_neg(out->q, out->q);
    if (a->big)
        mpq_add(out->q, out->q, *a->big);
}

void acre_acc_free(acre_acc *a)
{
    if (a->big) {
        mpq_clear(*a->big);
        free(a->big);
    }
    a->big = NULL;
    a->v = 0;
}

/* The newest rate of `cur` dated on or before `date`, or NULL. c->fx is sorted by
 * (currency, date). */
static const acre_dec *rate(const acre_close *c, const char *cur, const char *date)
{
    int lo = 0, hi = c->nfx, best = -1;
    while (lo < hi) {
        int mid = (lo + hi) / 2, k = strcmp(c->fx[mid].currency, cur);
        if (k == 0)
            k = strcmp(c->fx[mid].date, date) <= 0 ? -1 : 1;
        if (k < 0) {
            if (strcmp(c->fx[mid].currency, cur) == 0)
                best = mid;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return best >= 0 ? &c->fx[best].rate : NULL;
}

static void missing(acre_close *c, const char *cur, const char *date)
{
    char k[32];
    int n = snprintf(k, sizeof k, "%s/%s", cur, date);
    if (c->lock)
        pthread_mutex_lock(c->lock);
    if (!acre_strset_get(&c->missing_set, k, (size_t)n, NULL) &&
        acre_strset_put(&c->missing_set, k, (size_t)n, 1))
        c->oom = 1;
    if (c->lock)
        pthread_mutex_unlock(c->lock);
}

void acre_close_convert_dec(acre_close *c, acre_dec *out, const acre_dec *v, const char *currency,
                            const char *date, const char *to)
{
    const acre_dec *rf, *rt;
    if (strcmp(currency, to) == 0) {
        acre_dec_set(out, v);
        return;
    }
    rf = strcmp(currency, "USD") == 0 ? NULL : rate(c, currency, date);
    rt = strcmp(to, "USD") == 0 ? NULL : rate(c, to, date);
    if ((strcmp(currency, "USD") != 0 && !rf) || (strcmp(to, "USD") != 0 && !rt)) {
        if (strcmp(currency, "USD") != 0 && !rf)
            missing(c, currency, date);
        if (strcmp(to, "USD") != 0 && !rt)
            missing(c, to, date);
        acre_dec_set_si(out, 0);
        return;
    }
    acre_dec_set(out, v);
    if (rf)
        acre_dec_mul(out, out, rf);
    if (rt)
        acre_dec_div(out, out, rt);
}

void acre_close_convert(acre_close *c, acre_dec *out, const acre_number *n, const char *currency,
                        const acre_number *usd, const char *date, const char *to)
{
    acre_dec v;
    acre_dec_init(&v);
    if (usd && strcmp(to, "USD") == 0 && strcmp(currency, "USD") != 0) {
        acre_number_to_dec(out, usd);
    } else {
        acre_number_to_dec(&v, n);
        acre_close_convert_dec(c, out, &v, currency, date, to);
    }
    acre_dec_clear(&v);
}

acre_line *acre_close_line(acre_aff *a, int kind, const char *plan, const char *customer_id)
{
    acre_line *l;
    if (a->nlines == a->lcap) {
        int cap = a->lcap ? a->lcap * 2 : 4;
        acre_line *n = acre_realloc(a->lines, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        a->lines = n;
        a->lcap = cap;
    }
    l = &a->lines[a->nlines++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->plan = plan;
    l->customer_id = customer_id;
    acre_dec_init(&l->exact);
    acre_dec_init(&l->amount);
    return l;
}

void acre_line_set(acre_line *l, const acre_dec *exact, int scale, acre_round mode)
{
    acre_dec_set(&l->exact, exact);
    acre_dec_round(&l->amount, exact, scale, mode);
    l->scale = scale;
    l->mode = mode;
}

static void sep(acre_buf *b)
{
    if (b->len && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[')
        acre_buf_add(b, ",", 1);
}

static void key(acre_buf *b, const char *k)
{
    sep(b);
    acre_buf_add(b, "\"", 1);
    acre_buf_adds(b, k);
    acre_buf_add(b, "\":", 2);
}

void acre_detail_dec(acre_buf *b, const char *k, const acre_dec *v)
{
    char *s = acre_dec_format(v);
    if (!s)
        b->oom = 1;
    key(b, k);
    acre_buf_add(b, "\"", 1);
    acre_buf_adds(b, s ? s : "");
    acre_buf_add(b, "\"", 1);
    free(s);
}

void acre_detail_acc(acre_buf *b, const char *k, const acre_acc *a)
{
    /* the common case, an int128 of 10^-18 units, without GMP: digits, point, trimmed zeros */
    char d[48], out[52];
    unsigned __int128 u;
    int nd = 0, o = 0;
    if (a->big) {
        acre_dec v;
        acre_dec_init(&v);
        acre_acc_get(&v, a);
        acre_detail_dec(b, k, &v);
        acre_dec_clear(&v);
        return;
    }
    u = a->v < 0 ? -(unsigned __int128)a->v : (unsigned __int128)a->v;
    do {
        d[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (nd < 19)
        d[nd++] = '0'; /* at least one digit before the point */
    if (a->v < 0)
        out[o++] = '-';
    for (int i = nd - 1; i >= 18; i--)
        out[o++] = d[i];
    {
        int last = 0; /* the lowest nonzero decimal, counted from the point */
        for (int i = 17; i >= 0; i--)
            if (d[i] != '0')
                last = 18 - i;
        if (last) {
            out[o++] = '.';
            for (int i = 17; i >= 18 - last; i--)
                out[o++] = d[i];
        }
    }
    key(b, k);
    acre_buf_add(b, "\"", 1);
    acre_buf_add(b, out, (size_t)o);
    acre_buf_add(b, "\"", 1);
}

void acre_detail_str(acre_buf *b, const char *k, const char *s)
{
    key(b, k);
    if (s)
        acre_buf_json_str(b, s, strlen(s));
    else
        acre_buf_add(b, "null", 4);
}

void acre_detail_raw(acre_buf *b, const char *k, const char *json)
{
    key(b, k);
    acre_buf_adds(b, json ? json : "null");
}

void acre_detail_buf(acre_buf *b, const char *k, const acre_buf *json)
{
    if (json->oom)
        b->oom = 1;
    acre_detail_raw(b, k, json->p);
}

void acre_period_text(char out[8], int period)
{
    /* "%04u-%02u" without printf: every close calls this once per settled customer */
    acre_ym_text(out, (unsigned)(period / 12) % 10000u, ((unsigned)(period % 12) + 1u) % 100u);
}
