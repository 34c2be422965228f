/* tools/serve_auth.c — `acre serve`'s tokens (POST /oauth/token), Bearer checks, scopes and
 * rate limits (SPEC 11 "Clients and tokens"; tools/serve_int.h). */
#include <openssl/crypto.h>
#include <strings.h>
#include <time.h>

#include "http_parse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"

/* ---- limits and tokens ----------------------------------------------------------------- */

/* Counts a request of `key` ("client ID", "ip ADDRESS") in this minute: 0, or the seconds
 * until it may send again. A slot of another key counted in an earlier minute is taken over;
 * when the 64 slots a key may use are all this minute's, the first is taken over. */
long sv_rate_limited(server *sv, const char *key, long long now)
{
    unsigned long h = 5381;
    long long minute = now / 60;
    long wait = 0;
    rate_slot *sl = NULL;
    for (const char *p = key; *p; p++)
        h = h * 33 + (unsigned char)*p;
    pthread_mutex_lock(&sv->rate_mu);
    for (int i = 0; i < 64 && !sl; i++) { /* the key's own slot */
        rate_slot *t = &sv->slots[(h + (unsigned long)i) % RATE_SLOTS];
        if (strcmp(t->key, key) == 0)
            sl = t;
    }
    for (int i = 0; i < 64 && !sl; i++) { /* else one counted in an earlier minute */
        rate_slot *t = &sv->slots[(h + (unsigned long)i) % RATE_SLOTS];
        if (t->minute != minute)
            sl = t;
    }
    if (!sl)
        sl = &sv->slots[h % RATE_SLOTS];
    if (strcmp(sl->key, key) || sl->minute != minute) {
        snprintf(sl->key, sizeof sl->key, "%s", key);
        sl->minute = minute;
        sl->count = 0;
    }
    if (++sl->count > sv->o.rate)
        wait = (long)((minute + 1) * 60 - now);
    pthread_mutex_unlock(&sv->rate_mu);
    return wait;
}

enum MHD_Result sv_limited(struct MHD_Connection *c, request *r, long wait, const char *who)
{
    char secs[24], msg[160];
    pthread_mutex_lock(&r->sv->metrics_mu);
    r->sv->m.limited++;
    pthread_mutex_unlock(&r->sv->metrics_mu);
    const char *hdr[] = {"Retry-After", secs};
    snprintf(secs, sizeof secs, "%ld", wait);
    snprintf(msg, sizeof msg, "more than %ld requests this minute %s; retry in %ld s",
             r->sv->o.rate, who, wait);
    return sv_fail(c, r, MHD_HTTP_TOO_MANY_REQUESTS, "RATE_LIMITED", msg, NULL, hdr, 1);
}

/* Checks Authorization: 0 and *t, or -1 once an answer (401, 429, 500) is queued in *ret. The
 * rate limit counts the token's client, whatever token of it is used. */
int sv_authorize(struct MHD_Connection *c, request *r, acre_token *t, enum MHD_Result *ret)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *bearer[] = {"WWW-Authenticate", "Bearer realm=\"acre\""};
    const char *invalid[] = {"WWW-Authenticate", "Bearer realm=\"acre\", error=\"invalid_token\""};
    long long now = (long long)time(NULL);
    char key[80];
    acre_error err;
    acre_store *s;
    long wait;
    int rc;

    acre_error_clear(&err);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        *ret = sv_fail(c, r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                       "this request needs Authorization: Bearer TOKEN (POST /oauth/token)", NULL,
                       bearer, 1);
        return -1;
    }
    h += 7;
    h += strspn(h, " ");
    if (!(s = sv_thread_store(r->sv, &err))) {
        *ret =
            sv_fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL, NULL, 0);
        return -1;
    }
    if ((rc = acre_token_check(s, h, now, t, &err))) {
        if (rc == ACRE_ENOTFOUND)
            *ret =
                sv_fail(c, r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED", err.message, NULL, invalid, 1);
        else
            *ret = sv_fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL,
                           NULL, 0);
        return -1;
    }
    snprintf(key, sizeof key, "client %s", t->client_id);
    if ((wait = sv_rate_limited(r->sv, key, now)) > 0) {
        *ret = sv_limited(c, r, wait, "with this client's tokens");
        return -1;
    }
    return 0;
}

enum MHD_Result sv_forbidden(struct MHD_Connection *c, request *r, const char *scope)
{
    char msg[160];
    snprintf(msg, sizeof msg, "this request needs the scope \"%s\"", scope);
    return sv_fail(c, r, MHD_HTTP_FORBIDDEN, "FORBIDDEN", msg, NULL, NULL, 0);
}

static enum MHD_Result oauth_error(struct MHD_Connection *c, request *r, unsigned status,
                                   const char *code, const char *why, int basic)
{
    const char *hdr[] = {"Cache-Control", "no-store",         "Pragma",
                         "no-cache",      "WWW-Authenticate", "Basic realm=\"acre\""};
    json_t *v = json_pack("{s:s,s:s}", "error", code, "error_description", why);
    return sv_send_value(c, r, status, v, hdr, basic ? 3 : 2);
}

/* POST /oauth/token (RFC 6749 4.4, 2.3.1 and 5.2), on the request thread: the secret's
 * PBKDF2 holds no lock, and the token's row is one short write transaction of its own. */
enum MHD_Result sv_token(struct MHD_Connection *c, request *r)
{
    char type[64], *form, *id = NULL, *secret = NULL, *scope = NULL, *grant = NULL;
    char basic_buf[1024], *bid = NULL, *bsecret = NULL;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    int basic = auth && strncasecmp(auth, "Basic ", 6) == 0, bad = 0;
    acre_token t;
    acre_error err;
    acre_store *s;
    enum MHD_Result ret;
    int rc;

    sv_media_type(c, type);
    if (strcmp(type, "application/x-www-form-urlencoded") != 0)
        return oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request",
                           "the body must be application/x-www-form-urlencoded", 0);
    if (!(form = malloc(r->len + 1)))
        return MHD_NO;
    memcpy(form, r->body ? r->body : "", r->len);
    form[r->len] = 0;
    {
        http_form f;
        bad = http_form_fields(form, &f) != 0;
        grant = f.grant_type;
        id = f.client_id;
        secret = f.client_secret;
        scope = f.scope;
    }
    if (!bad && basic) {
        if (http_basic(auth, basic_buf, sizeof basic_buf, &bid, &bsecret)) {
            ret = oauth_error(c, r, MHD_HTTP_UNAUTHORIZED, "invalid_client",
                              "the Authorization header's Basic credentials are malformed", 1);
            goto out;
        }
        /* one way of authenticating (RFC 6749 2.3): a client_id in the body too is allowed
         * when it is the same, a secret is not */
        if (secret || (id && strcmp(id, bid) != 0))
            bad = 1;
        id = bid;
        secret = bsecret;
    }
    if (bad || !grant) {
        ret = oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request",
                          bad ? "the body is malformed, a parameter is given twice, or the "
                                "credentials are given two ways"
                              : "grant_type is missing",
                          0);
        goto out;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        ret = oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "unsupported_grant_type",
                          "this server grants client_credentials only", 0);
        goto out;
    }
    if (!id || !secret) {
        ret = oauth_error(c, r, MHD_HTTP_UNAUTHORIZED, "invalid_client",
                          "client_id and client_secret are needed (in the body or HTTP Basic)",
                          basic);
        goto out;
    }
    acre_error_clear(&err);
    if (!(s = sv_thread_store(r->sv, &err))) {
        ret = sv_fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL, NULL, 0);
        goto out;
    }
    rc = acre_token_issue(s, id, secret, scope, (long long)time(NULL), &t, &err);
    if (rc == 0) {
        const char *hdr[] = {"Cache-Control", "no-store", "Pragma", "no-cache"};
        json_t *v = json_pack("{s:s,s:s,s:I,s:s}", "access_token", t.access_token, "token_type",
                              "Bearer", "expires_in", (json_int_t)ACRE_TOKEN_TTL, "scope", t.scope);
        ret = sv_send_value(c, r, MHD_HTTP_OK, v, hdr, 2);
    } else if (strcmp(err.rule, "invalid_client") == 0) {
        ret = oauth_error(c, r, MHD_HTTP_UNAUTHORIZED, "invalid_client", err.message, basic);
    } else if (strcmp(err.rule, "invalid_scope") == 0) {
        ret = oauth_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_scope", err.message, 0);
    } else {
        ret = sv_fail(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", err.message, NULL, NULL, 0);
    }
    OPENSSL_cleanse(&t, sizeof t);
out:
    OPENSSL_cleanse(form, r->len);
    OPENSSL_cleanse(basic_buf, sizeof basic_buf);
    free(form);
    return ret;
}

/* authorize, then one of the scopes `any` (NULL-ended): 0 and *t, or -1 with *ret queued */
int sv_allowed(struct MHD_Connection *c, request *r, acre_token *t, const char *const *any,
               enum MHD_Result *ret)
{
    if (sv_authorize(c, r, t, ret))
        return -1;
    for (int i = 0; any[i]; i++)
        if (acre_scope_has(t->scope, any[i]))
            return 0;
    *ret = sv_forbidden(c, r, any[0]);
    return -1;
}
