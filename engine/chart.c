/* engine/chart.c — markup text and bar heights for the charts (engine/chart.h). */
#include <stdlib.h>

#include "chart.h"

void acre_markup_text(FILE *out, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
        }
}

long acre_chart_px(const acre_dec *v, const acre_dec *span, long px, int *oom)
{
    acre_dec x, h;
    char *s;
    long n = 0;
    if (acre_dec_sgn(span) <= 0)
        return 0;
    acre_dec_init(&x);
    acre_dec_init(&h);
    acre_dec_set(&x, v);
    if (acre_dec_sgn(&x) < 0)
        acre_dec_neg(&x, &x);
    acre_dec_set_si(&h, px);
    acre_dec_mul(&x, &x, &h);
    if (!acre_dec_div(&x, &x, span)) {
        if ((s = acre_dec_format_fixed(&x, 0, ACRE_ROUND_HALF_EVEN)))
            n = strtol(s, NULL, 10);
        else
            *oom = 1;
        free(s);
    }
    acre_dec_clear(&x);
    acre_dec_clear(&h);
    return n;
}
