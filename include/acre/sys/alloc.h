/* acre/sys/alloc.h — the failing-allocator switch, for tests (not part of the umbrella header:
 * a program includes it by name). */
#ifndef ACRE_SYS_ALLOC_H
#define ACRE_SYS_ALLOC_H

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of acre_alloc_fail. */
enum {
    ACRE_ALLOC_REPEAT = 1, /* every allocation after the nth fails too, not only the nth */
    ACRE_ALLOC_GMP = 2,    /* count GMP's allocations too; a failed one aborts the process */
    ACRE_ALLOC_THREADS = 4, /* keep the close's second threads (see below) */
    ACRE_ALLOC_SPARE_LEXER = 8 /* never fail jansson's token buffer (see below) */
};

/* Makes allocations fail, to prove that running out of memory gives an error and never a crash
 * or a half-written store (docs/RELIABILITY.md). Counting from this call, the `nth` allocation
 * (from 1) made by acre, SQLite or jansson returns NULL; with ACRE_ALLOC_REPEAT so does every
 * later one. nth 0 counts without failing anything.
 *
 * GMP's allocations are passed through uncounted unless ACRE_ALLOC_GMP is given: GMP has no way
 * to report a failed allocation to its caller, so when one fails the process aborts (GMP's own
 * behaviour on a real out-of-memory), and what the switch can prove for it is only that the store
 * is left whole.
 *
 * While the switch is set, the close does on one thread what it otherwise shares with a second
 * (reading records, the rules, writing the document), so that the nth allocation is the same one
 * in every run and a failure can be replayed; ACRE_ALLOC_THREADS keeps the threads, and which
 * allocation is the nth then changes from run to run. acre_ingest always parses a file's NDJSON
 * on a second thread (acre_ingest_buffer and the record sink use none).
 *
 * jansson 2.14's lexer ignores a failed growth of its token buffer and then reads and writes past
 * the buffer (akheron/jansson issue #362, unfixed in 2.14): a real out-of-memory there can crash
 * the process, and acre cannot prevent it. ACRE_ALLOC_SPARE_LEXER lets those growths through
 * uncounted (every jansson allocation whose size is a power of two from 32 bytes: the buffer's
 * sizes, and some others), so that what the switch tests is acre's handling of the rest.
 *
 * Installs its hooks into SQLite, jansson and GMP, so it must be called before the process opens
 * a store: SQLite takes a new allocator only before it starts. Not for production: the hooks
 * replace any the application set. Returns 0, or ACRE_ERROR if SQLite has already started. */
int acre_alloc_fail(long nth, unsigned flags);

/* The number of allocations counted since acre_alloc_fail, failed ones included. */
long acre_alloc_count(void);

#ifdef __cplusplus
}
#endif

#endif
