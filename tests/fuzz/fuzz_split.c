/* tests/fuzz/fuzz_split.c — a JSON array or envelope split into its elements
 * (engine/jsonsplit.c).
 *
 * Input: any bytes starting with '[' (or '{', read as an envelope when it opens with "data" or
 * "meta"). Property: splitting and parsing each element alone agrees
 * with jansson parsing the whole document: both succeed, with as many elements, or both fail
 * at the same line and column with the same text. */
#include <assert.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "acre/error.h"
#include "jsonsplit.h"

typedef struct count {
    size_t n;
    long line, column;
    char text[200];
} count;

static int each(void *ctx, const char *text, size_t len, long line, long col0)
{
    count *c = ctx;
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) { /* placed as engine/ingest.c places it */
        c->line = line + (je.line > 1 ? je.line - 1 : 0);
        c->column = je.line <= 1 ? col0 + je.column : je.column;
        snprintf(c->text, sizeof c->text, "%s", je.text);
        return ACRE_EREJECTED;
    }
    json_decref(v);
    c->n++;
    return 0;
}

/* 1 when doc is an envelope acre takes: keys "data" (an array) and optionally "meta" only. */
static int good_envelope(json_t *doc)
{
    const char *key;
    json_t *v;
    if (!json_is_object(doc) || !json_is_array(json_object_get(doc, "data")))
        return 0;
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "data") && strcmp(key, "meta"))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader rd;
    count c;
    acre_jsplit_err e;
    json_error_t je;
    json_t *whole;
    FILE *in;
    int rc, env = 0;

    if (size == 0 || (data[0] != '[' && data[0] != '{') ||
        !(in = fmemopen((void *)data, size, "rb")))
        return 0;
    memset(&rd, 0, sizeof rd);
    memset(&c, 0, sizeof c);
    memset(&e, 0, sizeof e);
    e.rule = "";
    rd.in = in;
    rd.sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(rd.sha, EVP_sha256(), NULL);
    acre_reader_fill(&rd, MAX_LINE);
    if (data[0] == '{' && (env = acre_jsplit_is_envelope(&rd)) != 1)
        goto out; /* not an envelope: read as NDJSON or one record */
    rc = acre_jsplit(&rd, env, each, &c, &e);
    if (rc == ACRE_EREJECTED && c.text[0] == '\0') {
        assert(strcmp(e.rule, "json") == 0 || env);
        c.line = e.line;
        c.column = e.column;
        snprintf(c.text, sizeof c.text, "%s", e.text);
    }
    whole = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (whole && (!env || good_envelope(whole))) {
        assert(rc == 0);
        assert(c.n == json_array_size(env ? json_object_get(whole, "data") : whole));
    } else if (whole) {
        assert(rc == ACRE_EREJECTED && strcmp(e.rule, "envelope") == 0);
    } else if (memchr(data, 0, size) || (env && strcmp(e.rule, "envelope") == 0)) {
        /* with a NUL, or an envelope refused for its keys before a later JSON error: only
         * the verdict */
        assert(rc == ACRE_EREJECTED);
    } else {
        assert(rc == ACRE_EREJECTED);
        assert(c.line == je.line);
        assert(c.column == je.column);
        assert(strcmp(c.text, je.text) == 0);
    }
    json_decref(whole);
out:
    EVP_MD_CTX_free(rd.sha);
    free(rd.buf);
    fclose(in);
    return 0;
}
