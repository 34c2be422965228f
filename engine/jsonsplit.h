/* engine/jsonsplit.h — a top-level JSON array, or a {"data":[...]} envelope, split into its
 * elements as it is read, so that each is parsed alone and memory is bounded by the largest
 * element rather than the file (internal). */
#ifndef ACRE_ENGINE_JSONSPLIT_H
#define ACRE_ENGINE_JSONSPLIT_H

#include <stddef.h>

#include "reader.h"

/* Called with each element's text (valid until the call returns) and where it starts: its line
 * (1 for the document's first) and the characters before it on that line. A nonzero return
 * stops the split and is returned. */
typedef int (*acre_jsplit_fn)(void *ctx, const char *text, size_t len, long line, long col0);

/* What is wrong with the document when acre_jsplit returns ACRE_EREJECTED. For rule "json",
 * line and column as jansson would give them for the whole document (columns in characters,
 * the document's first byte at column 1) and jansson's wording in text; for "envelope" and
 * "too_large", text is the whole reason. */
typedef struct acre_jsplit_err {
    const char *rule;
    long line, column;
    char text[200];
} acre_jsplit_err;

/* Reads the document starting at rd->start (a '[' or, when envelope, a '{' whose first key is
 * "data" or "meta") to the end of the input, calling each for every element of the array.
 * An envelope's keys are "data" (an array) and an optional "meta" (any JSON, checked and
 * ignored), each once. Only white space may follow the document. Returns 0, each's return,
 * ACRE_ENOMEM, or ACRE_EREJECTED with e filled. */
int acre_jsplit(reader *rd, int envelope, acre_jsplit_fn each, void *ctx, acre_jsplit_err *e);

/* 1 when the text at rd->start opens an envelope: '{', then (after white space) the key "data"
 * followed by ':' and '[', or the key "meta". May read more input; returns 0 or 1, or
 * ACRE_ENOMEM. */
int acre_jsplit_is_envelope(reader *rd);

#endif
