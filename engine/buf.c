/* engine/buf.c — a growable byte buffer that remembers running out of memory. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void acre_buf_free(acre_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void acre_buf_reset(acre_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int grow(acre_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    char *p;
    if (b->oom)
        return -1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = acre_realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int acre_buf_reserve(acre_buf *b, size_t n)
{
    return (b->oom || b->len + n + 1 > b->cap) && grow(b, n) ? -1 : 0;
}

void acre_buf_add(acre_buf *b, const char *s, size_t n)
{
    if ((b->oom || b->len + n + 1 > b->cap) && grow(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void acre_buf_adds(acre_buf *b, const char *s)
{
    acre_buf_add(b, s, strlen(s));
}

void acre_buf_printf(acre_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void acre_buf_json_str(acre_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    acre_buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        acre_buf_add(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            acre_buf_add(b, "\\\"", 2);
            break;
        case '\\':
            acre_buf_add(b, "\\\\", 2);
            break;
        case '\n':
            acre_buf_add(b, "\\n", 2);
            break;
        case '\r':
            acre_buf_add(b, "\\r", 2);
            break;
        case '\t':
            acre_buf_add(b, "\\t", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            acre_buf_add(b, u, 6);
        }
        }
    }
    acre_buf_add(b, s + run, n - run);
    acre_buf_add(b, "\"", 1);
}
