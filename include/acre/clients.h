/* acre/clients.h — the HTTP API's clients and their access tokens (SPEC 11 "Clients and
 * tokens"): OAuth 2.0 client credentials (RFC 6749 4.4). A client's secret is shown once, when it
 * is made; the store keeps a salted PBKDF2-HMAC-SHA256 of it. An access token is kept by its
 * SHA-256 only. The library never reads the clock: callers pass the time. */
#ifndef ACRE_CLIENTS_H
#define ACRE_CLIENTS_H

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PBKDF2 iterations for a new client's secret (each client row keeps its own count). The
 * secret is 256 random bits, so the hash is not what keeps it from being guessed; the
 * iterations are there in case the store is copied. */
#define ACRE_CLIENT_ITERATIONS 100000
/* An access token's life, in seconds (the Track360 guides: one hour). */
#define ACRE_TOKEN_TTL 3600

typedef struct acre_client {
    char client_id[40];
    char name[256];
    char scope[1024];    /* space-separated: ingest, read, finance, affiliate:ID */
    char created_at[32]; /* ISO 8601 UTC */
    char revoked_at[32]; /* "" while the client is active */
} acre_client;

/* Checks a scope (space-separated words, each `ingest`, `read`, `finance` or `affiliate:ID` of
 * an affiliate the store holds; at least one, none twice). Returns 0; ACRE_EINVALID naming the
 * word (rule "scope") for a word that is none of those; ACRE_ENOTFOUND (rule
 * "unknown_affiliate") for an affiliate the store does not have. */
int acre_scope_check(acre_store *s, const char *scope, acre_error *err);

/* Makes a client named `name` (1-200 bytes) with `scope` (acre_scope_check), made at `now`
 * (ISO 8601): *out is the stored row and secret[] its secret (64 hex digits), the only time it
 * is known. */
int acre_client_add(acre_store *s, const char *name, const char *scope, const char *now,
                    acre_client *out, char secret[65], acre_error *err);

/* Calls fn for each client, in client_id order; stops when fn returns nonzero. */
int acre_clients_each(acre_store *s, int (*fn)(void *ctx, const acre_client *c), void *ctx,
                      acre_error *err);

/* Revokes a client at `now`: its tokens stop working at once, and it gets no new ones.
 * ACRE_ENOTFOUND for an unknown client; revoking a revoked client changes nothing. */
int acre_client_revoke(acre_store *s, const char *client_id, const char *now, acre_error *err);

typedef struct acre_token {
    char access_token[65]; /* 64 hex digits; set by acre_token_issue only */
    char client_id[40];
    char scope[1024];
    long long expires_at; /* Unix seconds */
} acre_token;

/* RFC 6749 4.4: checks the client's credentials and issues an access token that expires at
 * now + ACRE_TOKEN_TTL with `scope` (NULL or "": the client's whole scope; else a subset of
 * it). Errors, in err->rule: "invalid_client" (ACRE_ENOTFOUND: unknown, revoked or a wrong
 * secret, told apart in no way a caller can see), "invalid_scope" (ACRE_EINVALID). Expired
 * tokens are deleted on the way. */
int acre_token_issue(acre_store *s, const char *client_id, const char *secret, const char *scope,
                     long long now, acre_token *out, acre_error *err);

/* The token `access_token` at `now`: fills *out (access_token left empty). ACRE_ENOTFOUND with
 * rule "invalid_token" when it is unknown, expired or its client revoked (the message says
 * which). Only reads. */
int acre_token_check(acre_store *s, const char *access_token, long long now, acre_token *out,
                     acre_error *err);

/* Whether `scope` (space-separated) holds the word `want` ("ingest", "affiliate:A1"...). */
int acre_scope_has(const char *scope, const char *want);

/* An answer kept for an Idempotency-Key (SPEC 11 "Idempotency"): what a retry gets. */
typedef struct acre_idem {
    char body_sha256[65];
    int status;
    char *answer; /* the answer's body, a new string the caller frees */
} acre_idem;

/* The answer kept for client_id and key that is newer than now - 24 hours: 0 and *out; or
 * ACRE_ENOTFOUND. */
int acre_idem_get(acre_store *s, const char *client_id, const char *key, long long now,
                  acre_idem *out, acre_error *err);

/* Keeps an answer (replacing one older than 24 hours), inside the caller's transaction or its
 * own; answers older than 24 hours are deleted on the way. */
int acre_idem_put(acre_store *s, const char *client_id, const char *key, const char *body_sha256,
                  int status, const char *answer, long long now, acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
