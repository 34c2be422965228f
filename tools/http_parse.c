/* tools/http_parse.c — see http_parse.h. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

int http_form_decode(char *s)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%') {
            unsigned v;
            if (!s[1] || !s[2] || !strchr(hex, s[1]) || !strchr(hex, s[2]) ||
                sscanf(s + 1, "%2x", &v) != 1 || v == 0)
                return -1;
            *o++ = (char)v;
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return 0;
}

int http_form_fields(char *form, http_form *f)
{
    int bad = 0;
    memset(f, 0, sizeof *f);
    for (char *p = form, *next; p; p = next) {
        char *eq, **slot;
        next = strchr(p, '&');
        if (next)
            *next++ = 0;
        if (!*p)
            continue; /* an empty pair */
        if (!(eq = strchr(p, '='))) {
            bad = 1;
            continue;
        }
        *eq++ = 0;
        if (http_form_decode(p) || http_form_decode(eq)) {
            bad = 1;
            continue;
        }
        slot = strcmp(p, "grant_type") == 0      ? &f->grant_type
               : strcmp(p, "client_id") == 0     ? &f->client_id
               : strcmp(p, "client_secret") == 0 ? &f->client_secret
               : strcmp(p, "scope") == 0         ? &f->scope
                                                 : NULL;
        if (slot && *slot)
            bad = 1;
        else if (slot)
            *slot = eq;
    }
    return bad ? -1 : 0;
}

int http_basic(const char *auth, char *buf, size_t cap, char **id, char **secret)
{
    const char *b64;
    size_t len;
    int n;
    char *colon;
    if (strncasecmp(auth, "Basic ", 6) != 0)
        return -1;
    b64 = auth + 6;
    b64 += strspn(b64, " ");
    len = strlen(b64);
    if (len == 0 || cap < 4 || len > 4 * ((cap - 1) / 3))
        return -1;
    if ((n = EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)b64, (int)len)) < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding's zero bytes */
    while (len > 0 && b64[len - 1] == '=' && n > 0)
        len--, n--;
    buf[n] = 0;
    if ((size_t)n != strlen(buf) || !(colon = strchr(buf, ':')))
        return -1;
    *colon = 0;
    if (http_form_decode(buf) || http_form_decode(colon + 1))
        return -1;
    *id = buf;
    *secret = colon + 1;
    return 0;
}

int http_period(const char *p, size_t n)
{
    /* strnlen first: nothing past p's end is read */
    return n == 7 && strnlen(p, 7) == 7 && p[4] == '-' && strspn(p, "0123456789") >= 4 &&
           p[5] >= '0' && p[5] <= '9' && p[6] >= '0' && p[6] <= '9' &&
           (p[5] == '0' ? p[6] >= '1' : p[5] == '1' && p[6] <= '2');
}

void http_media_type(const char *ct, char out[64])
{
    size_t n = 0;
    out[0] = 0;
    if (!ct)
        return;
    ct += strspn(ct, " \t");
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t' && n < 63) {
        out[n] = (char)(ct[n] >= 'A' && ct[n] <= 'Z' ? ct[n] + 32 : ct[n]);
        n++;
    }
    out[n] = 0;
}
