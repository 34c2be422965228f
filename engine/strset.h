/* engine/strset.h — a set of strings with a long per key, for caching lookups (internal). */
#ifndef ACRE_ENGINE_STRSET_H
#define ACRE_ENGINE_STRSET_H

#include <stddef.h>
#include <stdint.h>

/* One slot: key NULL when empty. The hash and length are kept so that a probe touches the key
 * only when both match. */
typedef struct acre_strset_slot {
    uint64_t hash;
    char *key;
    size_t len;
    long val;
} acre_strset_slot;

typedef struct acre_strset {
    acre_strset_slot *slots;
    size_t cap, n;
} acre_strset;

/* 1 when present (and *val set, if val), else 0. */
int acre_strset_get(const acre_strset *s, const char *key, size_t len, long *val);
/* Adds or replaces; returns 0, or ACRE_ENOMEM. */
int acre_strset_put(acre_strset *s, const char *key, size_t len, long val)
    __attribute__((warn_unused_result));
/* Makes room for n keys in all, so that adding them does not grow the table again. Returns 0, or
 * ACRE_ENOMEM. */
int acre_strset_reserve(acre_strset *s, size_t n) __attribute__((warn_unused_result));
/* The key in slot i (0 <= i < cap), or NULL when the slot is empty: for iterating. */
const char *acre_strset_key(const acre_strset *s, size_t i);
void acre_strset_free(acre_strset *s);

#endif
