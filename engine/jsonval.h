/* engine/jsonval.h — what jansson cannot tell: a JSON number's own text (internal).
 *
 * jansson decodes every real into a double, which cannot tell 1.000000000000000005 from 1.
 * acre scans the raw text for number tokens and pairs them, in document order, with the number
 * nodes of the parsed tree (jansson keeps object keys in document order, and duplicate keys are
 * refused), so each number node maps to the exact text it was written as. */
#ifndef ACRE_ENGINE_JSONVAL_H
#define ACRE_ENGINE_JSONVAL_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h" /* acre_buf_json appends to one; many includers use acre_buf through here */

/* The length of s's longest prefix of at most max bytes that does not split a UTF-8 character
 * (for messages that quote part of a value: "%.*s", acre_utf8_prefix(s, 40), s). */
int acre_utf8_prefix(const char *s, int max);
/* Drops an incomplete UTF-8 character at the end of s (left by snprintf into a fixed buffer). */
void acre_utf8_trim(char *s);

typedef struct acre_numlit {
    const json_t *node;
    const char *text; /* points into the parsed buffer */
    size_t len;
} acre_numlit;

/* The number texts of one parsed document, sorted by node for lookup. */
typedef struct acre_numtab {
    acre_numlit *items;
    size_t n, cap;
} acre_numtab;

/* json_loadb, knowing when memory ran out. jansson 2.14 does not always say so: it reports some
 * failed allocations as syntax errors ("string or '}' expected", or an empty message at line
 * -1), and after some it returns a document with a part missing. So when any of jansson's
 * allocations failed during the parse, this returns NULL and json_error_code(je) gives
 * json_error_out_of_memory, even if jansson returned a document; otherwise NULL means the text
 * is not JSON and je says why. je may be NULL. */
json_t *acre_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *je);

/* Fills t for `root`, parsed by jansson from buf[0..len). Returns 0, ACRE_ENOMEM, or ACRE_ERROR
 * if the text and the tree disagree (which would be a bug). */
int acre_numtab_build(acre_numtab *t, const json_t *root, const char *buf, size_t len);
void acre_numtab_free(acre_numtab *t);
/* The text of a number node, or NULL. */
const acre_numlit *acre_numtab_find(const acre_numtab *t, const json_t *node);

/* Appends v as JSON with every number exactly as written; objects with sorted keys when `sort`
 * (the canonical form used to compare values), else in document order. */
void acre_buf_json(acre_buf *b, const json_t *v, const acre_numtab *t, int sort);

#endif
