/* engine/strset.c — open addressing with linear probing, FNV-1a, keys copied; at most half
 * full. */
#include "alloc.h"
#include "strset.h"

#include <stdlib.h>
#include <string.h>

#include "acre/error.h"

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 29); /* FNV's low bits alone cluster on keys that differ only at the end */
}

static size_t find(const acre_strset *s, uint64_t h, const char *key, size_t len)
{
    size_t i = (size_t)h & (s->cap - 1);
    const acre_strset_slot *e;
    while ((e = &s->slots[i])->key &&
           !(e->hash == h && e->len == len && memcmp(e->key, key, len) == 0))
        i = (i + 1) & (s->cap - 1);
    return i;
}

int acre_strset_get(const acre_strset *s, const char *key, size_t len, long *val)
{
    size_t i;
    if (!s->cap)
        return 0;
    i = find(s, hash(key, len), key, len);
    if (!s->slots[i].key)
        return 0;
    if (val)
        *val = s->slots[i].val;
    return 1;
}

static int grow_to(acre_strset *s, size_t cap)
{
    acre_strset g = {0};
    g.cap = cap;
    if (!(g.slots = acre_calloc(g.cap, sizeof *g.slots)))
        return ACRE_ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].key)
            g.slots[find(&g, s->slots[i].hash, s->slots[i].key, s->slots[i].len)] = s->slots[i];
    g.n = s->n;
    free(s->slots);
    *s = g;
    return 0;
}

int acre_strset_put(acre_strset *s, const char *key, size_t len, long val)
{
    size_t i;
    uint64_t h = hash(key, len);
    if ((s->n + 1) * 2 > s->cap && grow_to(s, s->cap ? s->cap * 2 : 64))
        return ACRE_ENOMEM;
    i = find(s, h, key, len);
    if (!s->slots[i].key) {
        char *k = acre_malloc(len + 1);
        if (!k)
            return ACRE_ENOMEM;
        memcpy(k, key, len);
        k[len] = '\0';
        s->slots[i].key = k;
        s->slots[i].hash = h;
        s->slots[i].len = len;
        s->n++;
    }
    s->slots[i].val = val;
    return 0;
}

int acre_strset_reserve(acre_strset *s, size_t n)
{
    size_t cap = s->cap ? s->cap : 64;
    while (n * 2 > cap)
        cap *= 2;
    return cap > s->cap ? grow_to(s, cap) : 0;
}

const char *acre_strset_key(const acre_strset *s, size_t i)
{
    return i < s->cap ? s->slots[i].key : NULL;
}

void acre_strset_free(acre_strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].key);
    free(s->slots);
    memset(s, 0, sizeof *s);
}
