/* engine/alloc.c — every allocation acre makes or causes, and the switch that fails them.
 *
 * acre's code allocates through acre_malloc and its siblings; SQLite and GMP are given hooks
 * only when the switch is set (acre_alloc_fail), so an application that never sets it keeps its
 * own allocators. jansson's allocator is always wrapped (its own, or the application's): jansson
 * does not always say when an allocation failed, so acre counts them (acre_json_failures). The
 * count is shared by the close's two threads, hence atomic. */
#include <gmp.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/alloc.h"
#include "acre/error.h"
#include "alloc.h"

static long fail_at;     /* 0: nothing fails */
static unsigned flags;
static long counted;     /* allocations counted since the switch was set */
static int on;           /* the switch was set: count */

/* Counts one allocation; says whether it must fail. */
static int fails(void)
{
    long n;
    if (!__atomic_load_n(&on, __ATOMIC_RELAXED))
        return 0;
    n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
    if (fail_at == 0 || n < fail_at || (n > fail_at && !(flags & ACRE_ALLOC_REPEAT)))
        return 0;
    return 1; /* a debugger's breakpoint here stops at each failed allocation */
}

void *acre_malloc(size_t n)
{
    return fails() ? NULL : malloc(n);
}

void *acre_calloc(size_t n, size_t size)
{
    return fails() ? NULL : calloc(n, size);
}

void *acre_realloc(void *p, size_t n)
{
    return fails() ? NULL : realloc(p, n);
}

char *acre_strdup(const char *s)
{
    return fails() ? NULL : strdup(s);
}

char *acre_strndup(const char *s, size_t n)
{
    return fails() ? NULL : strndup(s, n);
}

/* ---- jansson: malloc and free only, wrapped ---- */

static json_malloc_t json_orig_malloc;
static json_free_t json_orig_free;
static __thread long json_failed; /* jansson's failed allocations on this thread */

/* A thread's block for jansson's allocations between acre_json_arena_begin and _end: each one
 * takes the next bytes of the block, and a free of any of them does nothing (the next begin
 * reuses the block). An allocation that does not fit goes to jansson's allocator as before.
 * Under AddressSanitizer there is no block, so that it still sees every use after free. */
#define ARENA_SIZE 65536
typedef struct json_arena {
    char *p;
    size_t used;
    int on;
} json_arena;
static __thread json_arena arena;

#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define ARENA_USED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define ARENA_USED 0
#endif
#endif
#ifndef ARENA_USED
#define ARENA_USED 1
#endif

/* The sizes of jansson's lexer buffer as it grows: 32, 64, 128, ... (acre/sys/alloc.h) */
static int lexer_sized(size_t n)
{
    return n >= 32 && (n & (n - 1)) == 0;
}

static void *json_malloc(size_t n)
{
    int spare = (flags & ACRE_ALLOC_SPARE_LEXER) && lexer_sized(n);
    void *p;
    if (!spare && fails()) {
        json_failed++;
        return NULL;
    }
    if (arena.on && n <= ARENA_SIZE - arena.used) {
        p = arena.p + arena.used;
        arena.used += (n + 15) & ~(size_t)15; /* aligned as malloc's */
        if (arena.used > ARENA_SIZE)
            arena.used = ARENA_SIZE;
        return p;
    }
    if (!(p = json_orig_malloc(n)))
        json_failed++;
    return p;
}

static void json_free(void *p)
{
    if (p && arena.p && (char *)p >= arena.p && (char *)p < arena.p + ARENA_SIZE)
        return;
    json_orig_free(p);
}

static void json_wrap(void)
{
    json_get_alloc_funcs(&json_orig_malloc, &json_orig_free);
    json_set_alloc_funcs(json_malloc, json_free);
}

long acre_json_failures(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, json_wrap);
    return json_failed;
}

void acre_json_arena_begin(void)
{
    acre_json_failures(); /* the wrapper first: it is the one that frees */
    if (!ARENA_USED)
        return;
    if (!arena.p && !(arena.p = malloc(ARENA_SIZE)))
        return; /* no block: jansson's allocator, as without one */
    arena.used = 0;
    arena.on = 1;
}

void acre_json_arena_end(void)
{
    arena.on = 0;
    arena.used = 0;
}

void acre_json_arena_free(void)
{
    arena.on = 0;
    arena.used = 0;
    free(arena.p);
    arena.p = NULL;
}

/* ---- GMP: may not return NULL ---- */

static void *gmp_alloc(size_t n)
{
    void *p = (flags & ACRE_ALLOC_GMP) && fails() ? NULL : malloc(n);
    if (!p)
        abort(); /* GMP's contract: an allocation function does not return failure */
    return p;
}

static void *gmp_realloc(void *p, size_t old, size_t n)
{
    (void)old;
    if ((flags & ACRE_ALLOC_GMP) && fails())
        abort();
    if (!(p = realloc(p, n)))
        abort();
    return p;
}

static void gmp_free(void *p, size_t n)
{
    (void)n;
    free(p);
}

int acre_alloc_fail(long nth, unsigned f)
{
    static int hooked;
    if (!hooked) {
        /* SQLite's allocations too (engine/store_sqlite.c wraps its allocator) */
        if (acre_sqlite_fail_with(fails))
            return ACRE_ERROR;
        acre_json_failures(); /* wraps jansson's allocator */
        mp_set_memory_functions(gmp_alloc, gmp_realloc, gmp_free);
        hooked = 1;
    }
    __atomic_store_n(&on, 0, __ATOMIC_RELAXED);
    fail_at = nth > 0 ? nth : 0;
    flags = f;
    __atomic_store_n(&counted, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&on, 1, __ATOMIC_RELAXED);
    return 0;
}

int acre_alloc_threads(void)
{
    return !__atomic_load_n(&on, __ATOMIC_RELAXED) || (flags & ACRE_ALLOC_THREADS);
}

long acre_alloc_count(void)
{
    return __atomic_load_n(&counted, __ATOMIC_RELAXED);
}
