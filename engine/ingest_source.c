/* engine/ingest_source.c — the record sources: a file or a buffer read, its format told apart,
 * its records parsed and handed to the record sink (engine/ingest.c) (SPEC 2).
 *
 * One input is one batch. NDJSON is read line by line, so memory is bounded by the longest line
 * (a file's lines after the first are parsed on a second thread: engine/ingest_pipe.c); a JSON
 * array or {"data":[...]} envelope is split into its elements as it is read
 * (engine/jsonsplit.c), so memory is bounded by the largest element. An input that is not valid
 * JSON (malformed, truncated, binary) is refused whole: nothing of it is stored. Valid JSON
 * records that break a rule are rejected one by one by the sink, and the rest are stored (or,
 * with --atomic, the input is refused whole). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/ingest.h"
#include "alloc.h"
#include "digest.h"
#include "ingest_int.h"
#include "jsonsplit.h"
#include "jsonval.h"
#include "reader.h"
#include "spool.h"

/* ---- a parsed document ----------------------------------------------------------------- */

/* Hands each record of a parsed document to the sink, or holds them (a kind that holds).
 * `index` counts the records handed over, for the refusals that name one. */
static int each_record(acre_ingest_sink *g, json_t *doc, const char *text, size_t len, long line,
                       int collect, long *index, acre_error *err)
{
    acre_numtab t = {0};
    int rc = 0;
    json_t *records = doc;

    if (json_is_object(doc) && json_is_array(json_object_get(doc, "data"))) {
        const char *key;
        json_t *val;
        json_object_foreach(doc, key, val)
        {
            if (strcmp(key, "data") && strcmp(key, "meta")) {
                char why[200];
                snprintf(why, sizeof why,
                         "envelope: unexpected key \"%.*s\" (expected \"data\" and optional "
                         "\"meta\")",
                         acre_utf8_prefix(key, 60), key);
                return acre_ingest_refuse(g, "envelope", why, err);
            }
        }
        records = json_object_get(doc, "data");
    }
    if ((rc = acre_numtab_build(&t, doc, text, len))) {
        acre_numtab_free(&t);
        return rc == ACRE_ENOMEM
                   ? acre_error_set(err, rc, NULL, NULL, "out of memory")
                   : acre_ingest_refuse(g, "json", "numbers could not be read exactly", err);
    }
    if (json_is_array(records)) {
        size_t n = json_array_size(records), held = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (collect &&
                (rc = acre_ingest_hold(g, json_array_get(records, i), &t, 0, NULL, err)) == 0)
                held++;
            else if (!collect) {
                rc = acre_ingest_value(g, json_array_get(records, i), &t, 0, NULL, 0, err);
                (*index)++;
            }
        }
        if (held > 0)
            return rc; /* the held elements own t now */
    } else if (collect) {
        if ((rc = acre_ingest_hold(g, records, &t, line, NULL, err)) == 0)
            return 0;
    } else {
        rc = acre_ingest_value(g, records, &t, line, text, len, err);
        (*index)++;
    }
    acre_numtab_free(&t);
    return rc;
}

/* One NDJSON line after the first, as the reader thread takes it (engine/ingest_pipe.c): a
 * record, never an envelope. */
static int line_record(acre_ingest_sink *g, const char *line, size_t len, long ln, long *index,
                       acre_error *err)
{
    json_error_t je;
    acre_numtab t = {0};
    json_t *v;
    int rc;
    /* a detached sink calls nothing of the caller's: the record, freed below, may be parsed in
     * the thread's arena */
    int arena = acre_ingest_detached(g);

    if (arena)
        acre_json_arena_begin();
    if (!(v = acre_json_loadb(line, len, ACRE_INGEST_JSON_FLAGS, &je))) {
        if (arena)
            acre_json_arena_end();
        return acre_ingest_refuse_jerr(g, *index, &je, ln, err);
    }
    if ((rc = acre_numtab_build(&t, v, line, len)) == 0)
        rc = acre_ingest_value(g, v, &t, ln, line, len, err);
    else if (rc == ACRE_ENOMEM)
        rc = acre_error_set(err, rc, NULL, NULL, "out of memory");
    else
        rc = acre_ingest_refuse(g, "json", "numbers could not be read exactly", err);
    (*index)++;
    acre_numtab_free(&t);
    json_decref(v);
    if (arena)
        acre_json_arena_end();
    return rc;
}

/* ---- a JSON array or envelope, element by element (engine/jsonsplit.c) ----------------- */

typedef struct split_ctx {
    acre_ingest_sink *g;
    int collect;
    long *index, base; /* base: the lines before the document */
    acre_error *err;
    int refused; /* err is set */
} split_ctx;

static int on_element(void *ctx, const char *text, size_t len, long line, long col0)
{
    split_ctx *c = ctx;
    json_error_t je;
    acre_numtab t = {0};
    int rc;
    char *copy = NULL;
    json_t *v;
    /* as in line_record; a detached sink never holds */
    int arena = acre_ingest_detached(c->g);

    /* a held element outlives the reader's buffer, which moves as the file is read: its number
     * texts must point into a copy of its own */
    if (c->collect) {
        if (!(copy = acre_malloc(len ? len : 1))) {
            c->refused = 1;
            return acre_error_set(c->err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        memcpy(copy, text, len);
        text = copy;
    }
    if (arena)
        acre_json_arena_begin();
    v = acre_json_loadb(text, len, ACRE_INGEST_JSON_FLAGS, &je);
    if (!v) {
        if (arena)
            acre_json_arena_end();
        free(copy);
        c->refused = 1;
        if (json_error_code(&je) == json_error_out_of_memory)
            return acre_error_set(c->err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        /* where parsing the whole document would have put it, and counted as then: the
         * refusal is record 0 and the only one received */
        acre_ingest_uncount(c->g);
        return acre_ingest_refuse_json(c->g, 0, c->base + line + (je.line > 1 ? je.line - 1 : 0),
                                       je.line <= 1 ? col0 + je.column : je.column, je.text,
                                       c->err);
    }
    if ((rc = acre_numtab_build(&t, v, text, len)) == 0) {
        if (c->collect) {
            if ((rc = acre_ingest_hold(c->g, v, &t, 0, copy, c->err)) == 0)
                copy = NULL; /* held */
        } else {
            rc = acre_ingest_value(c->g, v, &t, 0, text, len, c->err);
        }
        (*c->index)++;
    } else if (rc != ACRE_ENOMEM) {
        rc = acre_ingest_refuse(c->g, "json", "numbers could not be read exactly", c->err);
    } else {
        acre_error_set(c->err, rc, NULL, NULL, "out of memory");
    }
    if (rc || !c->collect)
        acre_numtab_free(&t); /* a held element keeps its table */
    free(copy);
    json_decref(v);
    if (arena)
        acre_json_arena_end();
    if (rc)
        c->refused = 1; /* err is set */
    return rc;
}

static int split(acre_ingest_sink *g, reader *rd, int env, int collect, long *index,
                 acre_error *err)
{
    split_ctx c = {g, collect, index, rd->line, err, 0};
    acre_jsplit_err je;
    int rc = acre_jsplit(rd, env, on_element, &c, &je);
    if (rc == 0 || c.refused)
        return rc;
    if (rc == ACRE_EREJECTED)
        acre_ingest_uncount(g); /* counted as when the document was parsed whole */
    if (rc == ACRE_EREJECTED && strcmp(je.rule, "json") == 0)
        return acre_ingest_refuse_json(g, 0, c.base + je.line, je.column, je.text, err);
    if (rc == ACRE_EREJECTED)
        return acre_ingest_refuse(g, je.rule, je.text, err);
    return acre_error_set(err, rc, NULL, NULL, "out of memory");
}

/* ---- one input: its format, then its records ------------------------------------------- */

static int too_large(acre_ingest_sink *g, int rc, acre_error *err)
{
    return rc == 2 ? acre_ingest_refuse(g, "too_large", "the file is larger than 1 GiB", err)
                   : acre_error_set(err, rc, NULL, NULL, "out of memory");
}

/* Reads the input and hands its records to the sink; `threaded`: NDJSON after its first line
 * is parsed on a second thread. */
static int run(acre_ingest_sink *g, reader *rd, int threaded, acre_error *err)
{
    json_error_t je;
    json_t *doc;
    char *line;
    size_t len;
    long index = 0;
    int rc = 0, env = 0;
    /* a kind whose rules span the batch reads it whole: a parent may come after its child */
    int collect = acre_ingest_holds(g);

    /* Find the first byte that is not white space (or a UTF-8 byte order mark). */
    for (;;) {
        if (rd->start == rd->end && !rd->eof && (rc = acre_reader_fill(rd, MAX_LINE)) < 0)
            return acre_error_set(err, rc, NULL, NULL, "out of memory");
        if (rd->start == rd->end && rd->ioerr) /* a read error is not an empty file */
            return acre_error_set(err, ACRE_EIO, NULL, NULL, "read error; nothing of it is stored");
        if (rd->start == rd->end)
            return 0; /* an empty file: no records */
        if (rd->end - rd->start >= 3 && memcmp(rd->buf + rd->start, "\xEF\xBB\xBF", 3) == 0) {
            rd->start += 3;
            continue;
        }
        char c = rd->buf[rd->start];
        if (c == ' ' || c == '\t' || c == '\r') {
            rd->start++;
            continue;
        }
        if (c == '\n') {
            rd->start++;
            rd->line++;
            continue;
        }
        break;
    }
    if (rd->buf[rd->start] == '{' && (env = acre_jsplit_is_envelope(rd)) < 0)
        return acre_error_set(err, env, NULL, NULL, "out of memory");
    if (rd->buf[rd->start] == '[' || env) {
        rc = split(g, rd, env, collect, &index, err);
        goto end;
    }
    if (collect && (rc = acre_reader_all(rd)) != 0)
        return too_large(g, rc, err);
    if (rd->buf[rd->start] != '{' && rd->buf[rd->start] != '[') {
        unsigned char c = (unsigned char)rd->buf[rd->start];
        int printable = c >= 0x20 && c < 0x7f;
        char why[200];
        snprintf(why, sizeof why,
                 "not JSON: it starts with %s%c%s (byte 0x%02x); expected NDJSON, a JSON array "
                 "or a {\"data\":[...]} envelope",
                 printable ? "'" : "", printable ? c : ' ', printable ? "'" : "", c);
        return acre_ingest_refuse(g, "json", why, err);
    }

    /* '{': NDJSON, or an envelope (on one line or pretty-printed), or one pretty record. */
    for (long nrec = 0;; nrec++) {
        long ln;
        rc = acre_reader_line(rd, &line, &len);
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (rc == 2) {
            char why[120];
            snprintf(why, sizeof why, "line %ld is longer than %ld MiB", rd->line + 1,
                     MAX_LINE >> 20);
            return acre_ingest_refuse(g, "too_large", why, err);
        }
        if (rc < 0)
            return acre_error_set(err, rc, NULL, NULL, "out of memory");
        ln = rd->line;
        if (acre_blank(line, len)) {
            nrec--;
            continue;
        }
        if (!collect && nrec > 0) { /* on this thread what the reader thread would do */
            if ((rc = line_record(g, line, len, ln, &index, err)))
                return rc;
            continue;
        }
        doc = acre_json_loadb(line, len, ACRE_INGEST_JSON_FLAGS, &je);
        if (!doc && json_error_code(&je) == json_error_out_of_memory)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        if (!doc && nrec == 0) {
            /* Not one record per line: the first line may open a pretty-printed document. */
            size_t n;
            rd->start = (size_t)(line - rd->buf); /* read the rest behind the first line */
            if ((rc = acre_reader_all(rd)) != 0)
                return too_large(g, rc, err);
            line = rd->buf + rd->start;
            n = rd->end - rd->start;
            doc = acre_json_loadb(line, n, ACRE_INGEST_JSON_FLAGS, &je);
            if (!doc)
                return acre_ingest_refuse_jerr(g, 0, &je, ln, err);
            rd->start = rd->end;
            rc = each_record(g, doc, line, n, ln, collect, &index, err);
            json_decref(doc);
            if (rc)
                return rc;
            break;
        }
        if (!doc)
            return acre_ingest_refuse_jerr(g, index, &je, ln, err);
        if (nrec == 0 && json_is_object(doc) && json_is_array(json_object_get(doc, "data"))) {
            /* a one-line envelope must be the whole file */
            char *rest;
            size_t rlen;
            int more;
            while ((more = acre_reader_line(rd, &rest, &rlen)) == 0 && acre_blank(rest, rlen))
                ;
            if (more != 1) {
                json_decref(doc);
                return acre_ingest_refuse(g, "envelope",
                                          "text follows the {\"data\":[...]} envelope", err);
            }
        }
        rc = each_record(g, doc, line, len, ln, collect, &index, err);
        json_decref(doc);
        if (rc)
            return rc;
        if (!collect && nrec == 0 && threaded)
            return acre_ingest_pipeline(g, rd, index, err);
    }
end:
    if (rc == 0 && rd->ioerr)
        return acre_error_set(err, ACRE_EIO, NULL, NULL, "%s: read error", acre_ingest_source(g));
    return rc;
}

int acre_ingest_read(acre_ingest_sink *g, reader *rd, acre_error *err)
{
    return run(g, rd, 0, err);
}

/* Reads rd into a batch of KIND and commits it, the batch's SHA-256 the bytes'. */
static int ingest_input(acre_store *s, const char *kind, reader *rd, int threaded,
                        const acre_ingest_opts *opts, acre_ingest_summary *sum, acre_error *err)
{
    acre_ingest_sink *g;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char sha[65];
    int rc;

    if ((rc = acre_ingest_begin(&g, s, kind, opts, err)))
        return rc;
    rc = run(g, rd, threaded, err);
    if (rc == 0) {
        EVP_DigestFinal_ex(rd->sha, md, &mdlen);
        acre_hex32(sha, md);
        rc = acre_ingest_set_sha256(g, sha, err);
    }
    acre_ingest_fail(g, rc, err);
    return acre_ingest_commit(g, sum, err);
}

static int new_digest(reader *rd, acre_error *err)
{
    rd->sha = EVP_MD_CTX_new();
    if (!rd->sha || !EVP_DigestInit_ex(rd->sha, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(rd->sha);
        rd->sha = NULL;
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    return 0;
}

int acre_ingest(acre_store *s, const char *kind, FILE *in, const acre_ingest_opts *opts,
                acre_ingest_summary *sum, acre_error *err)
{
    reader rd;
    int rc, spooled = 0;

    memset(&rd, 0, sizeof rd);
    if (!acre_ingest_kind_find(kind, err))
        return ACRE_EUSAGE;
    if ((rc = new_digest(&rd, err)))
        return rc;
    /* a pipe is read to its end before the write lock is taken (engine/spool.c) */
    if ((rc = acre_spool(in, &rd.in, &spooled, err)) == 0)
        rc = ingest_input(s, kind, &rd, 1, opts, sum, err);
    free(rd.buf);
    EVP_MD_CTX_free(rd.sha);
    if (spooled)
        fclose(rd.in);
    return rc;
}

int acre_ingest_buffer(acre_store *s, const char *kind, const void *bytes, size_t len,
                       const acre_ingest_opts *opts, acre_ingest_summary *sum, acre_error *err)
{
    reader rd;
    int rc;

    memset(&rd, 0, sizeof rd);
    if (!acre_ingest_kind_find(kind, err))
        return ACRE_EUSAGE;
    if ((rc = new_digest(&rd, err)))
        return rc;
    rd.mem = bytes;
    rd.memlen = len;
    rc = ingest_input(s, kind, &rd, 0, opts, sum, err);
    free(rd.buf);
    EVP_MD_CTX_free(rd.sha);
    return rc;
}
