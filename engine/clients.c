/* engine/clients.c — the HTTP API's clients, access tokens and kept idempotent answers
 * (include/acre/clients.h; SPEC 11), in the store's tables api_client, api_token and
 * api_idempotency (engine/store_schema.c). */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/clients.h"
#include "alloc.h"
#include "digest.h"
#include "jsonval.h"
#include "store_int.h"

#define IDEM_LIFE (24 * 3600) /* seconds an answer is kept for its Idempotency-Key */

static const acre_query q_affiliate = {
    ACRE_Q_SELECT, "affiliate", {"affiliate_id", NULL}, {{"affiliate_id", ACRE_EQ}}, {NULL}, 0, 1};
static const acre_query q_client_add = {
    ACRE_Q_INSERT, "api_client", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
static const acre_query q_clients = {
    ACRE_Q_SELECT,
    "api_client",
    {"client_id", "name", "scope", "created_at", "revoked_at", "salt", "hash", "iterations", NULL},
    {{NULL, 0}},
    {NULL},
    0,
    0};
static const acre_query q_client = {
    ACRE_Q_SELECT,
    "api_client",
    {"client_id", "name", "scope", "created_at", "revoked_at", "salt", "hash", "iterations", NULL},
    {{"client_id", ACRE_EQ}},
    {NULL},
    0,
    0};
static const acre_query q_revoke = {ACRE_Q_UPDATE,
                                    "api_client",
                                    {"revoked_at", NULL},
                                    {{"client_id", ACRE_EQ}, {"revoked_at", ACRE_ISNULL}},
                                    {NULL},
                                    0,
                                    0};
static const acre_query q_token_add = {ACRE_Q_INSERT, "api_token", {NULL}, {{NULL, 0}},
                                       {NULL},        0,           0};
static const acre_query q_token = {ACRE_Q_SELECT,
                                   "api_token",
                                   {"client_id", "scope", "expires_at", NULL},
                                   {{"token_hash", ACRE_EQ}},
                                   {NULL},
                                   0,
                                   0};
static const acre_query q_token_expired = {
    ACRE_Q_DELETE, "api_token", {NULL}, {{"expires_at", ACRE_LE}}, {NULL}, 0, 0};
static const acre_query q_idem = {
    ACRE_Q_SELECT,
    "api_idempotency",
    {"body_sha256", "status", "answer", NULL},
    {{"client_id", ACRE_EQ}, {"idem_key", ACRE_EQ}, {"stored_at", ACRE_GT}},
    {NULL},
    0,
    0};
static const acre_query q_idem_put = {
    ACRE_Q_REPLACE, "api_idempotency", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
static const acre_query q_idem_old = {
    ACRE_Q_DELETE, "api_idempotency", {NULL}, {{"stored_at", ACRE_LE}}, {NULL}, 0, 0};

static int oom(acre_error *err)
{
    return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
}

static int pbkdf2_hex(char out[65], const char *secret, const char *salt, long iterations,
                      acre_error *err)
{
    unsigned char md[32];
    if (iterations < 1 || iterations > 100000000 ||
        PKCS5_PBKDF2_HMAC(secret, (int)strlen(secret), (const unsigned char *)salt,
                          (int)strlen(salt), (int)iterations, EVP_sha256(), 32, md) != 1)
        return acre_error_set(err, ACRE_ERROR, NULL, NULL, "PBKDF2 failed");
    acre_hex32(out, md);
    return 0;
}

/* ---- scopes ---------------------------------------------------------------------------- */

static int first_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    (void)row, (void)n, (void)err;
    *(int *)ctx = 1;
    return 1;
}

int acre_scope_has(const char *scope, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = scope; p && *p;) {
        size_t w = strcspn(p, " ");
        if (w == n && memcmp(p, want, n) == 0)
            return 1;
        p += w;
        p += strspn(p, " ");
    }
    return 0;
}

int acre_scope_check(acre_store *s, const char *scope, acre_error *err)
{
    int words = 0;
    if (strlen(scope) >= sizeof((acre_client *)0)->scope)
        return acre_error_set(err, ACRE_EINVALID, "scope", "scope", "the scope is too long");
    for (const char *p = scope + strspn(scope, " "); *p;) {
        size_t w = strcspn(p, " ");
        char word[sizeof((acre_client *)0)->scope];
        memcpy(word, p, w);
        word[w] = 0;
        if (strcmp(word, "ingest") && strcmp(word, "read") && strcmp(word, "finance")) {
            int found = 0, rc;
            acre_value id;
            if (strncmp(word, "affiliate:", 10) || !word[10])
                return acre_error_set(err, ACRE_EINVALID, "scope", "scope",
                                      "scope \"%.*s\" is none of ingest, read, finance, "
                                      "affiliate:ID",
                                      acre_utf8_prefix(word, 80), word);
            id = acre_val_text(word + 10);
            if ((rc = acre_store_query(s, &q_affiliate, &id, first_row, &found,
                                       "reading the affiliates", err)))
                return rc;
            if (!found)
                return acre_error_set(err, ACRE_ENOTFOUND, "scope", "unknown_affiliate",
                                      "scope %.*s: the store has no affiliate \"%.*s\"",
                                      acre_utf8_prefix(word, 80), word,
                                      acre_utf8_prefix(word + 10, 80), word + 10);
        }
        p += w;
        p += strspn(p, " ");
        if (acre_scope_has(p, word)) /* the same word twice is a mistake worth naming */
            return acre_error_set(err, ACRE_EINVALID, "scope", "scope",
                                  "scope \"%.*s\" is given twice", acre_utf8_prefix(word, 80),
                                  word);
        words++;
    }
    if (!words)
        return acre_error_set(err, ACRE_EINVALID, "scope", "scope", "a client needs a scope");
    return 0;
}

/* The scope's words, each once, in the order given, one space apart. */
static void normal_scope(char *out, size_t cap, const char *scope)
{
    size_t n = 0;
    out[0] = 0;
    for (const char *p = scope + strspn(scope, " "); *p;) {
        size_t w = strcspn(p, " ");
        if (n + w + 2 <= cap) {
            if (n)
                out[n++] = ' ';
            memcpy(out + n, p, w);
            n += w;
            out[n] = 0;
        }
        p += w;
        p += strspn(p, " ");
    }
}

/* ---- clients --------------------------------------------------------------------------- */

static void copy_text(char *dst, size_t cap, const acre_value *v)
{
    size_t n = v->type == ACRE_VAL_TEXT ? v->n : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, n ? v->s : "", n);
    dst[n] = 0;
}

typedef struct client_row {
    acre_client c;
    char salt[65], hash[65];
    long long iterations;
    int found;
    int (*fn)(void *ctx, const acre_client *c);
    void *ctx;
} client_row;

static int on_client(void *ctx, const acre_value *row, int n, acre_error *err)
{
    client_row *r = ctx;
    (void)n, (void)err;
    copy_text(r->c.client_id, sizeof r->c.client_id, &row[0]);
    copy_text(r->c.name, sizeof r->c.name, &row[1]);
    copy_text(r->c.scope, sizeof r->c.scope, &row[2]);
    copy_text(r->c.created_at, sizeof r->c.created_at, &row[3]);
    copy_text(r->c.revoked_at, sizeof r->c.revoked_at, &row[4]);
    copy_text(r->salt, sizeof r->salt, &row[5]);
    copy_text(r->hash, sizeof r->hash, &row[6]);
    r->iterations = row[7].type == ACRE_VAL_INT ? row[7].i : 0;
    r->found = 1;
    return r->fn ? (r->fn(r->ctx, &r->c) ? 1 : 0) : 1;
}

int acre_client_add(acre_store *s, const char *name, const char *scope, const char *now,
                    acre_client *out, char secret[65], acre_error *err)
{
    char salt[33], hash[65];
    acre_value p[8];
    int rc, utf8 = 0;

    memset(out, 0, sizeof *out);
    if (name) { /* jansson takes only UTF-8 */
        json_t *v = json_string(name);
        utf8 = v != NULL;
        json_decref(v);
    }
    if (!utf8 || !*name || strlen(name) > 200)
        return acre_error_set(err, ACRE_EINVALID, "name", "name",
                              "a client's name is 1 to 200 bytes of UTF-8");
    if ((rc = acre_store_begin(s, err)))
        return rc;
    if ((rc = acre_scope_check(s, scope, err)))
        goto fail;
    memcpy(out->client_id, "acre_", 5);
    if ((rc = acre_random_hex(out->client_id + 5, 12, err)) ||
        (rc = acre_random_hex(secret, 32, err)) || (rc = acre_random_hex(salt, 16, err)) ||
        (rc = pbkdf2_hex(hash, secret, salt, ACRE_CLIENT_ITERATIONS, err)))
        goto fail;
    snprintf(out->name, sizeof out->name, "%s", name);
    normal_scope(out->scope, sizeof out->scope, scope);
    snprintf(out->created_at, sizeof out->created_at, "%s", now);
    p[0] = acre_val_text(out->client_id);
    p[1] = acre_val_text(out->name);
    p[2] = acre_val_text(out->scope);
    p[3] = acre_val_text(salt);
    p[4] = acre_val_text(hash);
    p[5] = acre_val_int(ACRE_CLIENT_ITERATIONS);
    p[6] = acre_val_text(out->created_at);
    p[7] = acre_val_null();
    if ((rc = acre_store_query(s, &q_client_add, p, NULL, NULL, "storing a client", err)))
        goto fail;
    return acre_store_commit(s, err);
fail:
    acre_store_rollback(s);
    OPENSSL_cleanse(secret, 65);
    secret[0] = 0;
    return rc;
}

int acre_clients_each(acre_store *s, int (*fn)(void *ctx, const acre_client *c), void *ctx,
                      acre_error *err)
{
    client_row r;
    memset(&r, 0, sizeof r);
    r.fn = fn;
    r.ctx = ctx;
    return acre_store_query(s, &q_clients, NULL, on_client, &r, "reading the clients", err);
}

static int get_client(acre_store *s, const char *id, client_row *r, acre_error *err)
{
    acre_value p = acre_val_text(id);
    memset(r, 0, sizeof *r);
    return acre_store_query(s, &q_client, &p, on_client, r, "reading the clients", err);
}

int acre_client_revoke(acre_store *s, const char *client_id, const char *now, acre_error *err)
{
    client_row r;
    acre_value p[2] = {acre_val_text(now), acre_val_text(client_id)};
    int rc;
    if ((rc = acre_store_begin(s, err)))
        return rc;
    if ((rc = get_client(s, client_id, &r, err)) == 0 && !r.found)
        rc = acre_error_set(err, ACRE_ENOTFOUND, "client_id", "unknown_client",
                            "no client \"%.*s\"", acre_utf8_prefix(client_id, 80), client_id);
    if (rc == 0)
        rc = acre_store_query(s, &q_revoke, p, NULL, NULL, "revoking a client", err);
    if (rc) {
        acre_store_rollback(s);
        return rc;
    }
    return acre_store_commit(s, err);
}

/* ---- tokens ---------------------------------------------------------------------------- */

int acre_token_issue(acre_store *s, const char *client_id, const char *secret, const char *scope,
                     long long now, acre_token *out, acre_error *err)
{
    client_row r;
    char hash[65], token_hash[65];
    acre_value p[4];
    int rc, ok;

    memset(out, 0, sizeof *out);
    /* The secret is checked before the write lock is taken: PBKDF2 takes a while, and a flood
     * of wrong secrets must not hold other writers up. */
    if ((rc = get_client(s, client_id ? client_id : "", &r, err)))
        return rc;
    /* A wrong secret costs the same PBKDF2 as a right one, and so does an unknown client. */
    if ((rc = pbkdf2_hex(hash, secret ? secret : "", r.found ? r.salt : "none",
                         r.found ? (long)r.iterations : ACRE_CLIENT_ITERATIONS, err)))
        return rc;
    ok = r.found && !r.c.revoked_at[0] && CRYPTO_memcmp(hash, r.hash, 64) == 0;
    if (!ok)
        return acre_error_set(err, ACRE_ENOTFOUND, "client_id", "invalid_client",
                              "client authentication failed");
    if (scope && scope[strspn(scope, " ")]) {
        for (const char *q = scope + strspn(scope, " "); *q;) {
            size_t w = strcspn(q, " ");
            char word[sizeof out->scope];
            if (w >= sizeof word)
                w = sizeof word - 1;
            memcpy(word, q, w);
            word[w] = 0;
            if (!acre_scope_has(r.c.scope, word))
                return acre_error_set(err, ACRE_EINVALID, "scope", "invalid_scope",
                                      "scope \"%.*s\" is not one of this client's (%s)",
                                      acre_utf8_prefix(word, 80), word, r.c.scope);
            q += strcspn(q, " ");
            q += strspn(q, " ");
        }
        normal_scope(out->scope, sizeof out->scope, scope);
    } else {
        snprintf(out->scope, sizeof out->scope, "%s", r.c.scope);
    }
    if ((rc = acre_store_begin(s, err)))
        return rc;
    /* revoked meanwhile? (the check above read outside this transaction) */
    {
        client_row again;
        if ((rc = get_client(s, r.c.client_id, &again, err)))
            goto fail;
        if (!again.found || again.c.revoked_at[0]) {
            rc = acre_error_set(err, ACRE_ENOTFOUND, "client_id", "invalid_client",
                                "client authentication failed");
            goto fail;
        }
    }
    p[0] = acre_val_int(now);
    if ((rc = acre_store_query(s, &q_token_expired, p, NULL, NULL, "deleting expired tokens",
                               err)) ||
        (rc = acre_random_hex(out->access_token, 32, err)))
        goto fail;
    acre_sha256_hex(token_hash, out->access_token, 64);
    snprintf(out->client_id, sizeof out->client_id, "%s", r.c.client_id);
    out->expires_at = now + ACRE_TOKEN_TTL;
    p[0] = acre_val_text(token_hash);
    p[1] = acre_val_text(out->client_id);
    p[2] = acre_val_text(out->scope);
    p[3] = acre_val_int(out->expires_at);
    if ((rc = acre_store_query(s, &q_token_add, p, NULL, NULL, "storing a token", err)))
        goto fail;
    return acre_store_commit(s, err);
fail:
    acre_store_rollback(s);
    memset(out, 0, sizeof *out);
    return rc;
}

typedef struct token_row {
    acre_token *t;
    int found;
} token_row;

static int on_token(void *ctx, const acre_value *row, int n, acre_error *err)
{
    token_row *r = ctx;
    (void)n, (void)err;
    copy_text(r->t->client_id, sizeof r->t->client_id, &row[0]);
    copy_text(r->t->scope, sizeof r->t->scope, &row[1]);
    r->t->expires_at = row[2].type == ACRE_VAL_INT ? row[2].i : 0;
    r->found = 1;
    return 1;
}

int acre_token_check(acre_store *s, const char *access_token, long long now, acre_token *out,
                     acre_error *err)
{
    char token_hash[65];
    token_row tr = {out, 0};
    client_row cr;
    acre_value p;
    int rc;

    memset(out, 0, sizeof *out);
    acre_sha256_hex(token_hash, access_token, strlen(access_token));
    p = acre_val_text(token_hash);
    if ((rc = acre_store_begin_read(s, err)))
        return rc;
    if ((rc = acre_store_query(s, &q_token, &p, on_token, &tr, "reading the tokens", err)) == 0 &&
        tr.found)
        rc = get_client(s, out->client_id, &cr, err);
    acre_store_rollback(s);
    if (rc)
        return rc;
    if (!tr.found)
        return acre_error_set(err, ACRE_ENOTFOUND, NULL, "invalid_token", "unknown token");
    if (out->expires_at <= now)
        return acre_error_set(err, ACRE_ENOTFOUND, NULL, "invalid_token", "the token expired");
    if (!cr.found || cr.c.revoked_at[0])
        return acre_error_set(err, ACRE_ENOTFOUND, NULL, "invalid_token",
                              "the token's client is revoked");
    return 0;
}

/* ---- idempotent answers ---------------------------------------------------------------- */

typedef struct idem_row {
    acre_idem *o;
    int found, oom;
} idem_row;

static int on_idem(void *ctx, const acre_value *row, int n, acre_error *err)
{
    idem_row *r = ctx;
    (void)n;
    copy_text(r->o->body_sha256, sizeof r->o->body_sha256, &row[0]);
    r->o->status = row[1].type == ACRE_VAL_INT ? (int)row[1].i : 500;
    if (!(r->o->answer = acre_strdup(row[2].type == ACRE_VAL_TEXT ? row[2].s : "")))
        return oom(err);
    r->found = 1;
    return 1;
}

int acre_idem_get(acre_store *s, const char *client_id, const char *key, long long now,
                  acre_idem *out, acre_error *err)
{
    idem_row r = {out, 0, 0};
    acre_value p[3] = {acre_val_text(client_id), acre_val_text(key), acre_val_int(now - IDEM_LIFE)};
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = acre_store_query(s, &q_idem, p, on_idem, &r, "reading the idempotent answers", err)))
        return rc;
    return r.found ? 0 : ACRE_ENOTFOUND;
}

int acre_idem_put(acre_store *s, const char *client_id, const char *key, const char *body_sha256,
                  int status, const char *answer, long long now, acre_error *err)
{
    acre_value p[6];
    int rc;
    if ((rc = acre_store_begin(s, err)))
        return rc;
    p[0] = acre_val_int(now - IDEM_LIFE);
    if ((rc = acre_store_query(s, &q_idem_old, p, NULL, NULL, "deleting old idempotent answers",
                               err)))
        goto fail;
    p[0] = acre_val_text(client_id);
    p[1] = acre_val_text(key);
    p[2] = acre_val_text(body_sha256);
    p[3] = acre_val_int(status);
    p[4] = acre_val_text(answer);
    p[5] = acre_val_int(now);
    if ((rc = acre_store_query(s, &q_idem_put, p, NULL, NULL, "keeping an idempotent answer", err)))
        goto fail;
    return acre_store_commit(s, err);
fail:
    acre_store_rollback(s);
    return rc;
}
