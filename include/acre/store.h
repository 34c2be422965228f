/* acre/store.h — the store: an SQLite file (the embedded default) or a PostgreSQL database. */
#ifndef ACRE_STORE_H
#define ACRE_STORE_H

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct acre_store acre_store;

/* The schema version this build writes. A store with an older version is migrated on open; a
 * newer one is refused. */
#define ACRE_SCHEMA_VERSION 9

/* Opens (creating if missing, mode 0600) the store at `path` (":memory:" for a private
 * in-memory store), or the PostgreSQL database a libpq URI names (postgresql://USER@HOST:PORT/DB),
 * its schema made on first use. An SQLite file, or a database, that is not an acre store is
 * refused (rule "foreign_store") and left as it was. *out is new: release it with acre_store_free.
 */
int acre_store_open(acre_store **out, const char *path, acre_error *err);

/* The same for a store that must exist already: a missing file, or a PostgreSQL database
 * without acre's schema, is refused (ACRE_EUSAGE, rule "missing_store") and nothing is made. */
int acre_store_open_existing(acre_store **out, const char *path, acre_error *err);

/* 1 when `path` names a PostgreSQL database (postgresql://... or postgres://...), else 0. */
int acre_store_is_url(const char *path);

/* NULL-safe. */
void acre_store_free(acre_store *s);

/* Per record kind: how many distinct records (keys) and versions are stored. */
typedef struct acre_kind_count {
    const char *kind; /* borrowed: static */
    long records;
    long versions;
} acre_kind_count;

/* Fills counts[0..n) for every kind (at most `cap`); returns the number written or a negative
 * error code. */
int acre_store_counts(acre_store *s, acre_kind_count *counts, int cap, acre_error *err);

/* One ingested file as the store remembers it. */
typedef struct acre_batch {
    long long batch;
    char kind[40];
    char source[256];
    char sha256[65];
    long received, inserted, updated, unchanged, rejected;
} acre_batch;

/* Writes a consistent copy of the store (SQLite's online backup: other processes may write
 * the store meanwhile) to the new file `dest`, created 0600; an existing `dest` is refused
 * (ACRE_EUSAGE) and left as it was. On failure no `dest` is left. */
int acre_store_backup(acre_store *s, const char *dest, acre_error *err);

/* What acre_store_copy copied. */
typedef struct acre_copy_stats {
    int tables;
    long rows;
} acre_copy_stats;

/* Copies everything `from` holds into `to`, a new store (nothing in it but what acre_store_open
 * makes: else ACRE_EUSAGE, rule "copy_destination", naming `to_name` and a table that has rows):
 * every version of every record with its sequence number and batch, the batches, plans,
 * closes with their ledgers, the close's state, API clients and postback events, and the
 * counters. `from` is read at one snapshot while others may write it; `to` is written in one
 * transaction, so a failed copy leaves it as it was. The backends may differ (SQLite to
 * PostgreSQL and back: acre copy). */
int acre_store_copy(acre_store *from, acre_store *to, const char *to_name, acre_copy_stats *stats,
                    acre_error *err);

/* Calls fn for each stored batch in order; stops early when fn returns non-zero. */
int acre_store_batches(acre_store *s, int (*fn)(void *ctx, const acre_batch *b), void *ctx,
                       acre_error *err);

/* One closed period as the store remembers it (its ledger is acre_ledger_get's). */
typedef struct acre_closed {
    char period[8];           /* YYYY-MM */
    char digest[72];          /* "sha256:..." */
    char previous_digest[72]; /* "" for the first close */
    long long seq;            /* the close's watermark: the last sequence number it read */
} acre_closed;

/* Calls fn for each closed period, oldest first; stops early when fn returns non-zero. */
int acre_store_closes(acre_store *s, int (*fn)(void *ctx, const acre_closed *c), void *ctx,
                      acre_error *err);

/* A group commit: several batches in one write transaction, made durable by one commit (one
 * fsync) while each stays all-or-nothing. Between acre_store_group_begin and
 * acre_store_group_commit every batch (acre_ingest_buffer, acre_ingest_prepared, a sink from
 * acre_ingest_begin to its commit) is a savepoint: its commit keeps it in the group, and a
 * batch refused or failed undoes only itself, the others going on. acre_store_group_commit
 * then writes the kept batches at once, or (returning nonzero) none of them: a caller tells
 * the batches' senders only after it. The HTTP API's writer commits so (docs/api.md). begin
 * takes the write lock as a batch would; it returns ACRE_EUSAGE when the store has no savepoints
 * (write each batch alone then). acre_store_group_rollback forgets the whole group. */
int acre_store_group_begin(acre_store *s, acre_error *err);
int acre_store_group_commit(acre_store *s, acre_error *err);
void acre_store_group_rollback(acre_store *s);

/* The name of the i-th record kind ("affiliates", "igaming/customers", ...), or NULL when i is
 * past the last. Static: never freed. */
const char *acre_kind_name(int i);

#ifdef __cplusplus
}
#endif

#endif
