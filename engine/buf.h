/* engine/buf.h — a growable byte buffer that remembers running out of memory (internal). */
#ifndef ACRE_ENGINE_BUF_H
#define ACRE_ENGINE_BUF_H

#include <stddef.h>

/* A growable byte buffer, always NUL-terminated once anything is written. A zeroed one is empty
 * and owns nothing. When a growth fails, `oom` is set and every later append does nothing, so a
 * writer appends without checking and looks at `oom` once at the end. */
typedef struct acre_buf {
    char *p;
    size_t len, cap;
    int oom; /* set when a growth failed; later appends do nothing */
} acre_buf;

/* Releases b's memory and leaves it empty (zeroed). */
void acre_buf_free(acre_buf *b);
/* Empties b, keeping its memory (and its oom flag). */
void acre_buf_reset(acre_buf *b);
void acre_buf_add(acre_buf *b, const char *s, size_t n);
/* Makes room for n more bytes (and a NUL) so that they can be written at p + len without a
 * check; returns 0, or -1 (and b is out of memory). */
int acre_buf_reserve(acre_buf *b, size_t n);
void acre_buf_adds(acre_buf *b, const char *s);
void acre_buf_printf(acre_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void acre_buf_json_str(acre_buf *b, const char *s, size_t n);

#endif
