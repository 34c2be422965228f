/* engine/ingest_int.h — what the record sources (engine/ingest_source.c, engine/ingest_pipe.c)
 * ask of the record sink (engine/ingest.c) beyond the public acre_ingest_record (internal).
 *
 * A source reads bytes (a file, a buffer), tells their format apart, parses each record and
 * hands it to the sink, which validates it, checks its references and stores it. A source
 * refuses the whole batch when its bytes are not JSON; the sink never sees them. */
#ifndef ACRE_ENGINE_INGEST_INT_H
#define ACRE_ENGINE_INGEST_INT_H

#include <jansson.h>

#include "acre/ingest.h"
#include "jsonval.h"
#include "reader.h"
#include "record.h"

#define ACRE_INGEST_JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

/* The kind named `name` (borrowed, static), or NULL with ACRE_EUSAGE in err. */
const acre_kind *acre_ingest_kind_find(const char *name, acre_error *err);

/* The batch's kind, and its source's name as reject lines and messages give it (borrowed). */
const acre_kind *acre_ingest_kind(const acre_ingest_sink *g);
const char *acre_ingest_source(const acre_ingest_sink *g);

/* 1 when the kind's rules span the whole batch (engine/record.h, `across`): the sink holds each
 * record until commit, so a source hands it over with acre_ingest_hold. */
int acre_ingest_holds(const acre_ingest_sink *g);

/* 1 for a detached sink (below): it calls nothing of the caller's, so a source may parse its
 * records' JSON in the thread's arena (engine/alloc.h), which a reject callback that makes
 * jansson values of its own would see reused under it. */
int acre_ingest_detached(const acre_ingest_sink *g);

/* One parsed record, t its number texts, both borrowed for the call; line is its line in the
 * source's text (0: none, as for an element of an array); raw[0..rawlen) is its text when the
 * source has it (NULL: not), for a detached sink (below). Returns 0 (stored or rejected) or a
 * negative code (err set). */
int acre_ingest_value(acre_ingest_sink *g, const json_t *v, const acre_numtab *t, long line,
                      const char *raw, size_t rawlen, acre_error *err);

/* Holds a record of a kind that holds (above) until commit: takes a new reference to v, the
 * table t (records of one document may share one: its items are freed with the last record
 * that has them) and `text` (NULL, or the record's own copy that t points into, freed at the
 * end). The text t points into must live until commit. Returns 0, or ACRE_ENOMEM (err set),
 * having taken nothing. */
int acre_ingest_hold(acre_ingest_sink *g, json_t *v, const acre_numtab *t, long line, char *text,
                     acre_error *err);

/* One record the source validated itself (the NDJSON reader thread): its canonical cells when
 * nerr is 0, else its nerr field errors; raw is its text, parsed again only to echo it in a
 * reject line. Returns as acre_ingest_value. */
int acre_ingest_validated(acre_ingest_sink *g, const acre_cell *cells, const acre_fielderr *errs,
                          int nerr, const char *raw, size_t rawlen, long line, acre_error *err);

/* Reads ahead what the next n valid records (cells: n records' cells, ncols each, in the order
 * they will be handed over) will ask of the store: their keys' current versions and their
 * references not known yet, each set read in one run (engine/ingest_store.h). Only a speed-up:
 * the records are then handed over with acre_ingest_validated as before, and give the same
 * result. 0, or a negative code (err set). */
#define ACRE_INGEST_AHEAD 2048
int acre_ingest_ahead(acre_ingest_sink *g, long n, const acre_cell *cells, acre_error *err);

/* Refusing the whole batch: ACRE_EREJECTED, err saying "SOURCE: WHY; the file is refused and
 * nothing of it is stored" with `rule`. */
int acre_ingest_refuse(acre_ingest_sink *g, const char *rule, const char *why, acre_error *err);
/* ... for invalid JSON at line, column (jansson's text says what), with its reject line (index,
 * line, rule "json"), which counts as one more record received. */
int acre_ingest_refuse_json(acre_ingest_sink *g, long index, long line, long column,
                            const char *text, acre_error *err);
/* ... the same from jansson's error, its line counted from line_base; ACRE_ENOMEM when jansson
 * ran out of memory. */
int acre_ingest_refuse_jerr(acre_ingest_sink *g, long index, const json_error_t *je, long line_base,
                            acre_error *err);
/* Counts none of the records handed over so far as received: a document refused whole counts
 * as it did when it was parsed whole, before it was split into its records. */
void acre_ingest_uncount(acre_ingest_sink *g);

/* The refusal of a batch of more than opts->max_records records (rule "max_records"), or 0
 * when it has no more; and the records handed over so far. */
int acre_ingest_too_many(const acre_ingest_sink *g, acre_error *err);
long acre_ingest_received(const acre_ingest_sink *g);

/* ---- a detached sink: a batch prepared without the store (engine/ingest_prep.c) ---------
 *
 * A detached sink takes records as a sink does, from the same sources, but only validates each
 * one's fields (engine/validate.c) and hands the result to acre_ingest_prep_keep; it reports
 * nothing (no reject lines) and has no store. It is freed with acre_ingest_abort. Replaying the
 * kept records into a real sink with acre_ingest_validated, in order, gives what handing it the
 * records themselves would have. */
int acre_ingest_begin_detached(acre_ingest_sink **out, acre_ingest_prep *prep, const char *kind,
                               const acre_ingest_opts *opts, acre_error *err);
/* Keeps record r's validation (its cells, or its field errors), its line, and its text raw (or,
 * NULL, v's JSON written out), for the replay. Returns 0 or ACRE_ENOMEM (err set). */
int acre_ingest_prep_keep(acre_ingest_prep *p, const acre_rec *r, const json_t *v,
                          const acre_numtab *t, const char *raw, size_t rawlen, long line,
                          acre_error *err);
/* Reads rd into the detached sink g as acre_ingest_buffer reads a buffer (engine/ingest_source.c).
 * Returns as the sources do: 0, ACRE_EREJECTED for a batch refused whole, a negative code. */
int acre_ingest_read(acre_ingest_sink *g, reader *rd, acre_error *err);

/* Marks the batch failed with rc and err's message (the first failure is kept): commit then
 * rolls it back and returns it. Returns rc. */
int acre_ingest_fail(acre_ingest_sink *g, int rc, const acre_error *err);

/* Reads and stores the rest of an NDJSON input on two threads (engine/ingest_pipe.c): a reader
 * thread reads, parses and validates lines; the calling thread hands them to the sink in order.
 * `index` is the next record's index. Returns 0 or a negative code (err set). */
int acre_ingest_pipeline(acre_ingest_sink *g, reader *rd, long index, acre_error *err);

#endif
