/* acre/ingest.h — validating and storing records (SPEC 2 and 3). */
#ifndef ACRE_INGEST_H
#define ACRE_INGEST_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct acre_ingest_summary {
    long received, inserted, updated, unchanged, rejected;
} acre_ingest_summary;

/* A refused record, handed to the caller: `json` is the NDJSON reject line of SPEC 2 (no
 * newline), `text` the same for a person ("orders.ndjson record 17: amount_currency: ..."). Both
 * are borrowed for the duration of the call. */
typedef struct acre_reject {
    const char *json;
    const char *text;
} acre_reject;

typedef struct acre_ingest_opts {
    int atomic;         /* refuse the whole batch if any record is invalid */
    const char *source; /* the file's name, as reject lines name it ("-" for stdin); NULL: "-" */
    void (*on_reject)(void *ctx, const acre_reject *r);
    void *ctx;
    int again;             /* store the file even if a batch of its kind had the same bytes */
    const char *stored_at; /* when, as the batch remembers it (ISO 8601 UTC), or NULL: unknown */
    /* More records than this refuses the batch whole (rule "max_records"); 0: no limit (the
     * HTTP API's 1,000, SPEC 11). */
    long max_records;
    /* Called once the batch is valid and stored, in its transaction, just before the commit,
     * with its summary and the store: what it writes commits with the records, or nothing does.
     * Returning nonzero (err set) refuses the batch; NULL: none. (The HTTP API keeps the answer
     * for an Idempotency-Key so.) */
    int (*before_commit)(void *ctx, acre_store *s, const acre_ingest_summary *sum,
                         acre_error *err);
    void *commit_ctx;
    /* Called on the storing thread after every ACRE_INGEST_PROGRESS records received (the
     * first time at that many), with the count so far; NULL: none. (`acre ingest` shows
     * progress on a terminal so.) */
    void (*progress)(void *ctx, long received);
    void *progress_ctx;
} acre_ingest_opts;

/* Records between two calls of acre_ingest_opts.progress. */
#define ACRE_INGEST_PROGRESS 8192

/* ---- a batch of records, one at a time (the record sink) -------------------------------
 *
 * A batch is one transaction, from acre_ingest_begin to acre_ingest_commit, and one row of
 * the store's batch table (kind, source, SHA-256, counts). Its records are numbered from 0 in
 * the order they are given: a reject line's "index" is that number. Each is validated (SPEC
 * 3), its references checked against the store and the batch's earlier records, and stored as
 * a new version unless it equals the current one; an invalid record is rejected (opts->on_reject
 * is called, the summary counts it) and the others go on. A kind whose rules span the batch
 * (affiliates: a parent may come later) holds its records until commit, which validates,
 * rejects and stores them then. The store handle is the batch's until it ends: nothing else
 * may use it meanwhile. */
typedef struct acre_ingest_sink acre_ingest_sink;

/* Begins a batch of KIND records into s: takes the store's write lock (waiting for other
 * writers up to the busy timeout) and sets *out to the new batch, which acre_ingest_commit or
 * acre_ingest_abort ends and frees. opts (NULL: defaults) is read now; its source is copied,
 * on_reject and ctx are kept until the batch ends. Returns 0; ACRE_EUSAGE for an unknown kind;
 * ACRE_ENOMEM or ACRE_EIO (*out NULL, nothing begun). */
int acre_ingest_begin(acre_ingest_sink **out, acre_store *s, const char *kind,
                      const acre_ingest_opts *opts, acre_error *err);

/* The SHA-256 of the bytes the batch's records came from (64 lower-case hex digits), if the
 * caller has them (a request body), for the batch row and the re-sent check at commit (SPEC 10:
 * unless opts->again, a batch of records whose bytes a stored batch of the same kind has is
 * refused, rule "resent"). Without it the row's sha256 is empty and there is no re-sent check:
 * records taken one by one from a queue have no bytes of their own. Returns 0, or ACRE_EUSAGE
 * when hex is not 64 hex digits. */
int acre_ingest_set_sha256(acre_ingest_sink *g, const char *hex, acre_error *err);

/* One record: its JSON text json[0..len), one object. Text that is not JSON is that record's
 * reject (rule "json"), as is a record that breaks a rule; both return 0. Returns a negative
 * code only when the batch failed (out of memory, the store failed): err says why, and the
 * batch is then failed: later records return the same code, and commit rolls it back. */
int acre_ingest_record(acre_ingest_sink *g, const char *json, size_t len, acre_error *err);

/* Ends the batch and frees g, whatever it returns. Stores the held records (above), then
 * refuses the whole batch with opts->atomic if any record was invalid (rule "atomic") or when
 * it was sent before (rule "resent", above), then commits. `sum` (may be NULL) is added to, so
 * one summary can cover several batches. Returns 0 when the batch was stored (some records may
 * have been rejected: see sum->rejected); ACRE_EREJECTED when it was refused whole; another
 * negative code for a failure. When it returns nonzero nothing of the batch is stored, and every
 * record it received counts as rejected. */
int acre_ingest_commit(acre_ingest_sink *g, acre_ingest_summary *sum, acre_error *err);

/* Ends the batch storing nothing of it, and frees g. NULL-safe. */
void acre_ingest_abort(acre_ingest_sink *g);

/* ---- a whole input (the record sources) ----------------------------------------------- */

/* Reads one file of KIND records from `in` (NDJSON, a JSON array, or a {"data":[...]}
 * envelope, told apart by their first bytes) and stores it as one batch, as above, its SHA-256
 * the file's bytes'. `sum` is added to, so one summary can cover several files. NDJSON is
 * parsed on a second thread. An input that is not a regular file (a pipe) is read to its end
 * before the write lock is taken.
 *
 * Returns 0 when the file was stored (some records may have been rejected: see sum->rejected);
 * ACRE_EREJECTED when the file was refused whole (malformed JSON, --atomic with an invalid
 * record, or, without opts->again, bytes whose SHA-256 a stored batch of the same kind has: rule
 * "resent", SPEC 10; a file of no records is never refused so): nothing of it is stored and
 * err says why; ACRE_EUSAGE for an unknown kind; another
 * negative code when reading or the store failed, with nothing of the file stored. */
int acre_ingest(acre_store *s, const char *kind, FILE *in, const acre_ingest_opts *opts,
                acre_ingest_summary *sum, acre_error *err);

/* The same for the bytes bytes[0..len) (borrowed for the call), on the calling thread only: a
 * request body. Returns as acre_ingest, and gives the same summary, rejects and store. */
int acre_ingest_buffer(acre_store *s, const char *kind, const void *bytes, size_t len,
                       const acre_ingest_opts *opts, acre_ingest_summary *sum, acre_error *err);

/* ---- a batch prepared off the write lock (the HTTP API's request threads) -------------
 *
 * Parsing and validating records costs more than storing them (docs/PERFORMANCE.md), and needs
 * no store: a server parses each request on its own thread and leaves only the store's part to
 * the one writer. The two calls below give what one acre_ingest_buffer would: the same
 * summary, reject lines (in the same order), refusal and store. */
typedef struct acre_ingest_prep acre_ingest_prep;

/* Reads the KIND records of bytes[0..len) (borrowed: they must outlive *out) and validates
 * their fields, on the calling thread, with no store. opts is as for acre_ingest_buffer; only
 * its source and max_records are read here, and nothing is reported yet. Returns 0 with *out
 * set; ACRE_EREJECTED (*out NULL, err and sum as acre_ingest_buffer gives them) when the bytes
 * hold more than opts->max_records records (rule "max_records"): that refusal comes before any
 * record is stored, so the records' own reject lines are not reported; ACRE_EUSAGE for an
 * unknown kind; ACRE_ENOMEM. Bytes that are not JSON, and a kind whose rules span the batch
 * (affiliates), are kept as bytes and returned as 0, to be read again when stored, so that their
 * answer (a max_records refusal too, with its records' reject lines then) is
 * acre_ingest_buffer's. */
int acre_ingest_prepare(acre_ingest_prep **out, const char *kind, const void *bytes, size_t len,
                        const acre_ingest_opts *opts, acre_ingest_summary *sum, acre_error *err);

/* Checks the prepared records' references and stores them into s as one batch, as
 * acre_ingest_buffer(s, kind, bytes, len, opts, sum, err) would (opts the same as given to
 * acre_ingest_prepare), and returns as it does. p is left as it was: it may be stored again. */
int acre_ingest_prepared(acre_store *s, const acre_ingest_prep *p, const acre_ingest_opts *opts,
                         acre_ingest_summary *sum, acre_error *err);

/* NULL-safe. */
void acre_ingest_prep_free(acre_ingest_prep *p);

#ifdef __cplusplus
}
#endif

#endif
