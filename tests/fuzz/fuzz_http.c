/* tests/fuzz/fuzz_http.c — what acre serve reads of a request itself (tools/http_parse.c): the
 * token request's form, HTTP Basic credentials, a period in a path, a media type. Record bodies
 * are fuzz_record's and fuzz_split's (the same ingest code).
 *
 * Input: any bytes, given to each parser as a string. Properties: nothing is read or written
 * out of bounds (AddressSanitizer); decoding only shrinks a string; the fields found lie inside
 * the form; Basic credentials are two strings inside the buffer; a period accepted is YYYY-MM
 * with a month 01-12; a media type is at most 63 bytes with no upper-case letter. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

static void inside(const char *p, const char *buf, size_t len)
{
    assert(!p || (p >= buf && p + strlen(p) <= buf + len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *t = malloc(size + 8), buf[1024], out[64], *id, *secret;
    http_form f;
    if (!s || !t) {
        free(s);
        free(t);
        return 0;
    }
    memcpy(s, data, size);
    s[size] = 0;
    size_t len = strlen(s); /* the string a header or body would be, up to a NUL */

    memcpy(t, s, len + 1);
    if (http_form_decode(t) == 0)
        assert(strlen(t) <= len);

    memcpy(t, s, len + 1);
    if (http_form_fields(t, &f) == 0) {
        inside(f.grant_type, t, len);
        inside(f.client_id, t, len);
        inside(f.client_secret, t, len);
        inside(f.scope, t, len);
    }

    snprintf(t, size + 8, "Basic %s", s);
    if (http_basic(t, buf, sizeof buf, &id, &secret) == 0) {
        assert(id == buf);
        assert(secret > id && secret + strlen(secret) < buf + sizeof buf);
    }

    if (http_period(s, len)) {
        int y, m, n = 0;
        assert(len == 7 && sscanf(s, "%4d-%2d%n", &y, &m, &n) == 2 && n == 7);
        assert(m >= 1 && m <= 12);
    }

    http_media_type(s, out);
    assert(strlen(out) < 64);
    for (const char *p = out; *p; p++)
        assert(!(*p >= 'A' && *p <= 'Z'));
    free(s);
    free(t);
    return 0;
}
