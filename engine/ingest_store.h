/* engine/ingest_store.h — what an ingest asks of the store, named for what it does (internal).
 *
 * The only ingest file that reaches the store is engine/ingest_store.c, through the backend's
 * query shapes (include/acre/sys/store.h): the current version of a key,
 * the current versions under a key prefix, inserting a version, whether a referenced key exists,
 * the batch row and the re-sent check. Everything runs inside the write transaction the caller
 * began (acre_store_begin) and sees what the batch stored so far. */
#ifndef ACRE_ENGINE_INGEST_STORE_H
#define ACRE_ENGINE_INGEST_STORE_H

#include "acre/ingest.h"
#include "record.h"

/* One batch of a kind in the store (acre_istore is declared in record.h, for the kinds' hooks).
 * acre_istore_open begins the store's write transaction (waiting for other writers up to the
 * busy timeout) and prepares the kind's statements: new in *out, or NULL with nothing begun.
 * acre_istore_commit commits it and acre_istore_abort (NULL-safe) rolls it back; both free is
 * (commit rolls back when it fails). Returns 0, ACRE_ENOMEM or ACRE_EIO. */
int acre_istore_open(acre_istore **out, acre_store *s, const acre_kind *k, acre_error *err);
int acre_istore_commit(acre_istore *is, acre_error *err);
void acre_istore_abort(acre_istore *is);

/* The current version (highest seq) of the key key[0..nkey): returns 1 and fills row[0..ncols)
 * (texts borrowed until the next acre_istore_current, _insert or _ahead on `is`; a stored
 * integer has no text),
 * 0 when the key has no version, or a negative code; `what` names the lookup in a failure's
 * message ("reading the stored version"). */
int acre_istore_current(acre_istore *is, const acre_cell *key, acre_cell *row, const char *what,
                        acre_error *err);

/* Reading ahead: the current versions of the keys of n records (cells[i * ncols ...], each a
 * whole record's cells) read together, in one run of parameter sets (on PostgreSQL 128 a round
 * trip, engine/store_pg.c), and kept until the next call, each key's version replaced as
 * acre_istore_insert stores another; acre_istore_current then answers for those keys without
 * reading the store. What was kept before is forgotten. 0, or a negative code. */
int acre_istore_ahead(acre_istore *is, long n, const acre_cell *cells, acre_error *err);

/* Calls fn(ctx, row) for the current version of every key whose first n key columns equal
 * key[0..n), in no promised order (row borrowed for the call). Returns 0, fn's first nonzero
 * return, or a negative code (`what` as above). */
typedef int (*acre_istore_row_fn)(void *ctx, const acre_cell *row);
int acre_istore_each_current(acre_istore *is, int n, const acre_cell *key, acre_istore_row_fn fn,
                             void *ctx, const char *what, acre_error *err);

/* Stores cells[0..ncols) as a new version with sequence number seq, brought by batch, in place
 * of the current version `replaced` (NULL: the key's first). What an incremental close needs to
 * find it is logged with it: in late_version when it is dated in a closed month, and, for a
 * transaction that has a version before it, in txn_versions. */
int acre_istore_insert(acre_istore *is, const acre_cell *cells, const acre_cell *replaced,
                       long long seq, long long batch, acre_error *err);

/* The customers (sorted, distinct; new: each and the array freed with free) of the transactions and
 * activity this batch stored a version of; none for other kinds. */
int acre_istore_customers(acre_istore *is, char ***ids, int *n, acre_error *err);

/* 1 when id is the key of a stored record of the kind k->refs[ref] names, 0 when it is not, or
 * a negative code. */
int acre_istore_exists(acre_istore *is, int ref, const acre_cell *id, acre_error *err);
/* The same for each of ids[0..n) (texts) at once, found[i] set to 1 or 0. 0, or a negative
 * code. */
int acre_istore_exists_each(acre_istore *is, int ref, long n, const acre_cell *ids, char *found,
                            acre_error *err);

/* The batch row of table ingest_batch. batch_start reads the sequence counter (the last seq
 * stored) into *seq and adds the row of a batch of the kind from `source`, stored at
 * `stored_at` (or NULL: unknown), its id in *batch. batch_finish records its SHA-256 (hex, ""
 * when unknown), its counts and its range of sequence numbers (none when last_seq < first_seq),
 * and advances the counter to last_seq. */
int acre_istore_batch_start(acre_istore *is, const char *source, const char *stored_at,
                            long long *seq, long long *batch, acre_error *err);
int acre_istore_batch_finish(acre_istore *is, long long batch, const char *sha,
                             const acre_ingest_summary *sum, long long first_seq,
                             long long last_seq, acre_error *err);

/* SPEC 10 "Re-sent files": 0 when no stored batch of the kind other than `batch` has SHA-256
 * `sha` (64 hex digits); ACRE_EREJECTED (rule "resent") naming that batch, its source and when
 * it was stored when one does; another code when the store failed. `source` names the batch
 * being ingested, for the message. */
int acre_istore_resent(acre_istore *is, const char *sha, long long batch, const char *source,
                       acre_error *err);

#endif
