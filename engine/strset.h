/* engine/strset.h — a set of strings, for caching lookups (internal). */
#ifndef ACRE_ENGINE_STRSET_H
#define ACRE_ENGINE_STRSET_H

#include <stddef.h>

typedef struct acre_strset {
    char **slots;
    long *vals;
    size_t cap, n;
} acre_strset;

/* 1 when present (and *val set, if val), else 0. */
int acre_strset_get(const acre_strset *s, const char *key, size_t len, long *val);
/* Adds or replaces; returns 0, or ACRE_ENOMEM. */
int acre_strset_put(acre_strset *s, const char *key, size_t len, long val);
void acre_strset_free(acre_strset *s);

#endif
