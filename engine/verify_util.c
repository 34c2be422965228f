/* engine/verify_util.c — the checks `acre verify` and the line kinds' verify hooks share
 * (engine/verify_util.h): exact numbers and rates read from a ledger, comparisons, reports. */
#include <gmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "verify_util.h"

#define MAX_REPORTED 100 /* problems written out; all are counted */

void acre_vc_bad(acre_vc *v, const char *fmt, ...)
{
    va_list ap;
    if (v->nbad++ >= MAX_REPORTED)
        return;
    fprintf(v->out, "%s%s%s", v->prefix, v->where, v->where[0] ? ": " : "");
    va_start(ap, fmt);
    vfprintf(v->out, fmt, ap);
    va_end(ap);
    fputc('\n', v->out);
}

void acre_vc_where(acre_vc *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->where, sizeof v->where, fmt, ap);
    va_end(ap);
}

const char *acre_vc_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* s as an exact rational: a decimal -?D+(.D+)? or p/q. Returns 0, or -1 when s is neither. */
int acre_vc_parse_q(acre_dec *d, const char *s)
{
    const char *p = s + (*s == '-'), *slash = strchr(s, '/');
    size_t n = strlen(s), ndig = 0, frac = 0;
    int dot = 0;
    char buf[128], *digits; /* a ledger's numbers fit buf */
    mpz_t den;

    if (slash) {
        for (const char *c = p; *c; c++)
            if ((*c < '0' || *c > '9') && c != slash)
                return -1;
        if (slash == p || !slash[1] || mpq_set_str(d->q, s, 10) || mpz_sgn(mpq_denref(d->q)) == 0)
            return -1;
        mpq_canonicalize(d->q);
        return 0;
    }
    if (!*p || *p == '.')
        return -1;
    if (!(digits = n < sizeof buf ? buf : acre_malloc(n + 1)))
        return -1;
    if (*s == '-')
        digits[ndig++] = '-';
    for (; *p; p++) {
        if (*p == '.' && !dot && p[1]) {
            dot = 1;
        } else if (*p >= '0' && *p <= '9') {
            digits[ndig++] = *p;
            frac += (size_t)dot;
        } else {
            if (digits != buf)
                free(digits);
            return -1;
        }
    }
    digits[ndig] = '\0';
    mpz_set_str(mpq_numref(d->q), digits, 10);
    if (digits != buf)
        free(digits);
    mpz_init(den);
    mpz_ui_pow_ui(den, 10, frac);
    mpz_set(mpq_denref(d->q), den);
    mpz_clear(den);
    mpq_canonicalize(d->q);
    return 0;
}

/* o[key] (a string) as an exact number in its canonical form; reports and returns -1 when it is
 * missing, not a number, or not written the way acre writes it. */
int acre_vc_num(acre_vc *v, const json_t *o, const char *key, acre_dec *d)
{
    const char *s = acre_vc_str(o, key);
    char *canon;
    int ok;
    if (!s) {
        acre_vc_bad(v, "%s is missing or not a string", key);
        return -1;
    }
    if (acre_vc_parse_q(d, s)) {
        acre_vc_bad(v, "%s is \"%s\", not an exact number", key, s);
        return -1;
    }
    if (!(canon = acre_dec_format(d))) {
        v->oom = 1;
        return -1;
    }
    ok = strcmp(canon, s) == 0;
    if (!ok)
        acre_vc_bad(v, "%s is \"%s\", not written as acre writes it (\"%s\")", key, s,
                    canon ? canon : "?");
    free(canon);
    return ok ? 0 : -1;
}

/* s, a rate such as "25%" or "12.5%", as a fraction; `key` names it in a report. */
int acre_vc_rate_text(acre_vc *v, const char *key, const char *s, acre_dec *d)
{
    size_t n = s ? strlen(s) : 0;
    char *t;
    int rc;
    acre_dec hundred;
    if (!s || n < 2 || s[n - 1] != '%') {
        acre_vc_bad(v, "%s is missing or not a rate like \"25%%\"", key);
        return -1;
    }
    if (!(t = acre_strndup(s, n - 1))) {
        v->oom = 1;
        return -1;
    }
    rc = acre_vc_parse_q(d, t);
    free(t);
    if (rc) {
        acre_vc_bad(v, "%s is \"%s\", not a rate like \"25%%\"", key, s);
        return -1;
    }
    acre_dec_init(&hundred);
    acre_dec_set_si(&hundred, 100);
    acre_dec_div(d, d, &hundred);
    acre_dec_clear(&hundred);
    return 0;
}

int acre_vc_rate(acre_vc *v, const json_t *o, const char *key, acre_dec *d)
{
    return acre_vc_rate_text(v, key, acre_vc_str(o, key), d);
}

/* Reports when got != want: "WHAT is GOT; HOW gives WANT". */
void acre_vc_same(acre_vc *v, const char *what, const acre_dec *got, const acre_dec *want,
                  const char *how)
{
    char *g, *w;
    if (acre_dec_cmp(got, want) == 0)
        return;
    g = acre_dec_format(got);
    w = acre_dec_format(want);
    if (!g || !w)
        v->oom = 1;
    acre_vc_bad(v, "%s is %s; %s gives %s", what, g ? g : "?", how, w ? w : "?");
    free(g);
    free(w);
}

int acre_vc_one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}
