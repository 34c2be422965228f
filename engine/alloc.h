/* engine/alloc.h — acre's own allocations, which the failing-allocator switch can fail
 * (internal). Memory from these is released with free(). */
#ifndef ACRE_ENGINE_ALLOC_H
#define ACRE_ENGINE_ALLOC_H

#include <stddef.h>

void *acre_malloc(size_t n);
void *acre_calloc(size_t n, size_t size);
void *acre_realloc(void *p, size_t n);
char *acre_strdup(const char *s);
char *acre_strndup(const char *s, size_t n);

/* Whether the close may use a second thread: yes, unless the failing-allocator switch is set
 * without ACRE_ALLOC_THREADS (acre/sys/alloc.h). */
int acre_alloc_threads(void);

/* How many of jansson's allocations have failed on this thread so far. The first call wraps
 * jansson's allocator (whichever the process set) to count them, so call it once before any
 * jansson document is made. */
long acre_json_failures(void);

/* jansson's allocations on this thread, from acre_json_arena_begin to acre_json_arena_end, come
 * from one reused 64 KiB block (those that do not fit, from jansson's allocator): for a parser
 * that frees each document before it parses the next (engine/ingest_pipe.c), where jansson's
 * mallocs and frees were 7% of ingest's instructions. Every document made between the two
 * calls must be freed before the next begin, and nothing of it kept; acre_json_arena_free frees
 * the block (at the thread's end). The failing-allocator switch counts these allocations as
 * before. No block under AddressSanitizer (gcc's or clang's). */
void acre_json_arena_begin(void);
void acre_json_arena_end(void);
void acre_json_arena_free(void);

/* Makes SQLite's allocations fail whenever fails() returns nonzero (engine/store_sqlite.c; the
 * failing-allocator switch calls it once). Returns 0, or ACRE_ERROR if SQLite refused. */
int acre_sqlite_fail_with(int (*fails)(void));

#endif
