/* tools/http_parse.h — the pieces of an HTTP request acre serve reads itself (tools/serve.c):
 * no libmicrohttpd, no store, so the fuzz target tests/fuzz/fuzz_http.c can run them alone. */
#ifndef ACRE_TOOLS_HTTP_PARSE_H
#define ACRE_TOOLS_HTTP_PARSE_H

#include <stddef.h>

/* %XX and + of application/x-www-form-urlencoded, in place; -1 for a bad escape or a NUL. */
int http_form_decode(char *s);

/* The parameters of a token request's form (RFC 6749 4.4), decoded in place in `form`: each
 * NULL when absent. Empty pairs ("a=1&&b=2") are skipped. Returns 0, or -1 when a pair has no
 * "=", an escape is bad, or a parameter comes twice (RFC 6749 3.2). */
typedef struct http_form {
    char *grant_type, *client_id, *client_secret, *scope;
} http_form;
int http_form_fields(char *form, http_form *f);

/* HTTP Basic's client_id and secret from the header value `auth` ("Basic ..."; RFC 6749 2.3.1:
 * each form-encoded, then base64) into buf[cap]: 0, or -1 when it is malformed. */
int http_basic(const char *auth, char *buf, size_t cap, char **id, char **secret);

/* 1 when p[0..n) is a period, YYYY-MM with a month 01-12 (p may end before n bytes). */
int http_period(const char *p, size_t n);

/* The media type of a Content-Type value (NULL: none), lower-case, without parameters. */
void http_media_type(const char *ct, char out[64]);

#endif
