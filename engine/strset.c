/* engine/strset.c — open addressing, FNV-1a, keys copied. */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acre/error.h"

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static size_t find(const acre_strset *s, const char *key, size_t len)
{
    size_t i = (size_t)hash(key, len) & (s->cap - 1);
    while (s->slots[i] && !(strlen(s->slots[i]) == len && memcmp(s->slots[i], key, len) == 0))
        i = (i + 1) & (s->cap - 1);
    return i;
}

int acre_strset_get(const acre_strset *s, const char *key, size_t len, long *val)
{
    size_t i;
    if (!s->cap)
        return 0;
    i = find(s, key, len);
    if (!s->slots[i])
        return 0;
    if (val)
        *val = s->vals[i];
    return 1;
}

static int grow(acre_strset *s)
{
    acre_strset g = {0};
    g.cap = s->cap ? s->cap * 2 : 64;
    g.slots = calloc(g.cap, sizeof *g.slots);
    g.vals = calloc(g.cap, sizeof *g.vals);
    if (!g.slots || !g.vals) {
        free(g.slots);
        free(g.vals);
        return ACRE_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i]) {
            size_t j = find(&g, s->slots[i], strlen(s->slots[i]));
            g.slots[j] = s->slots[i];
            g.vals[j] = s->vals[i];
        }
    g.n = s->n;
    free(s->slots);
    free(s->vals);
    *s = g;
    return 0;
}

int acre_strset_put(acre_strset *s, const char *key, size_t len, long val)
{
    size_t i;
    if ((s->n + 1) * 2 > s->cap && grow(s))
        return ACRE_ENOMEM;
    i = find(s, key, len);
    if (!s->slots[i]) {
        char *k = malloc(len + 1);
        if (!k)
            return ACRE_ENOMEM;
        memcpy(k, key, len);
        k[len] = '\0';
        s->slots[i] = k;
        s->n++;
    }
    s->vals[i] = val;
    return 0;
}

void acre_strset_free(acre_strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    free(s->vals);
    memset(s, 0, sizeof *s);
}
