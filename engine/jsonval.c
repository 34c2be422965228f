/* engine/jsonval.c — number texts and canonical JSON (the byte buffer is engine/buf.c). */
#include "alloc.h"
#include "jsonval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/error.h"

json_t *acre_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *je)
{
    long failed = acre_json_failures();
    json_t *doc = json_loadb(buf, len, flags, je);
    if (acre_json_failures() == failed)
        return doc;
    json_decref(doc);
    if (je) {
        memset(je, 0, sizeof *je);
        je->line = je->column = -1;
        snprintf(je->text, sizeof je->text, "out of memory");
        /* where jansson keeps the code, as its json_error_code reads it */
        je->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
    }
    return NULL;
}

int acre_utf8_prefix(const char *s, int max)
{
    int n = 0;
    while (n < max && s[n])
        n++;
    if (n < max || !s[n])
        return n; /* the whole string */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] continues a character: cut before that character starts */
    return n;
}

void acre_utf8_trim(char *s)
{
    size_t n = strlen(s), at = n, need;
    unsigned char c;
    while (at > 0 && n - at < 4 && ((unsigned char)s[at - 1] & 0xC0) == 0x80)
        at--;
    if (at == 0)
        return;
    c = (unsigned char)s[at - 1];
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n - (at - 1) < need)
        s[at - 1] = '\0';
}

/* Number tokens of buf in order: outside strings, a '-' or digit starts one. */
typedef struct tok {
    const char *text;
    size_t len;
} tok;

static int scan(tok **out, size_t *count, const char *buf, size_t len)
{
    size_t n = 0, cap = 16;
    tok *t = acre_malloc(cap * sizeof *t);
    if (!t)
        return ACRE_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '"') {
            for (i++; i < len && buf[i] != '"'; i++)
                if (buf[i] == '\\')
                    i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t s = i;
            while (i < len && (buf[i] == '-' || buf[i] == '+' || buf[i] == '.' ||
                               buf[i] == 'e' || buf[i] == 'E' || (buf[i] >= '0' && buf[i] <= '9')))
                i++;
            if (n == cap) {
                tok *g = acre_realloc(t, cap * 2 * sizeof *t);
                if (!g) {
                    free(t);
                    return ACRE_ENOMEM;
                }
                t = g;
                cap *= 2;
            }
            t[n].text = buf + s;
            t[n].len = i - s;
            n++;
            i--;
        }
    }
    *out = t;
    *count = n;
    return 0;
}

static int pair(acre_numtab *t, const json_t *v, const tok *toks, size_t ntoks, size_t *next)
{
    if (json_is_number(v)) {
        if (*next >= ntoks)
            return ACRE_ERROR;
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            acre_numlit *g = acre_realloc(t->items, cap * sizeof *g);
            if (!g)
                return ACRE_ENOMEM;
            t->items = g;
            t->cap = cap;
        }
        t->items[t->n].node = v;
        t->items[t->n].text = toks[*next].text;
        t->items[t->n].len = toks[*next].len;
        t->n++;
        (*next)++;
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int rc = pair(t, json_array_get(v, i), toks, ntoks, next);
            if (rc)
                return rc;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            int rc = pair(t, x, toks, ntoks, next);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int by_node(const void *a, const void *b)
{
    const json_t *x = ((const acre_numlit *)a)->node, *y = ((const acre_numlit *)b)->node;
    return x < y ? -1 : x > y;
}

int acre_numtab_build(acre_numtab *t, const json_t *root, const char *buf, size_t len)
{
    tok *toks = NULL;
    size_t ntoks = 0, next = 0;
    int rc;

    t->n = 0;
    rc = scan(&toks, &ntoks, buf, len);
    if (rc)
        return rc;
    rc = pair(t, root, toks, ntoks, &next);
    if (rc == 0 && next != ntoks)
        rc = ACRE_ERROR;
    free(toks);
    if (rc == 0 && t->n > 0)
        qsort(t->items, t->n, sizeof *t->items, by_node);
    return rc;
}

void acre_numtab_free(acre_numtab *t)
{
    free(t->items);
    memset(t, 0, sizeof *t);
}

const acre_numlit *acre_numtab_find(const acre_numtab *t, const json_t *node)
{
    acre_numlit key = {node, NULL, 0};
    if (!t || t->n == 0)
        return NULL;
    return bsearch(&key, t->items, t->n, sizeof key, by_node);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void acre_buf_json(acre_buf *b, const json_t *v, const acre_numtab *t, int sort)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = acre_malloc((n ? n : 1) * sizeof *keys);
        const char *k;
        json_t *x;
        if (!keys) {
            b->oom = 1;
            return;
        }
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        if (sort)
            qsort(keys, n, sizeof *keys, by_key);
        acre_buf_add(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i)
                acre_buf_add(b, ",", 1);
            acre_buf_json_str(b, keys[i], strlen(keys[i]));
            acre_buf_add(b, ":", 1);
            acre_buf_json(b, json_object_get(v, keys[i]), t, sort);
        }
        acre_buf_add(b, "}", 1);
        free(keys);
        break;
    }
    case JSON_ARRAY:
        acre_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                acre_buf_add(b, ",", 1);
            acre_buf_json(b, json_array_get(v, i), t, sort);
        }
        acre_buf_add(b, "]", 1);
        break;
    case JSON_STRING:
        acre_buf_json_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
    case JSON_REAL: {
        const acre_numlit *lit = acre_numtab_find(t, v);
        if (lit)
            acre_buf_add(b, lit->text, lit->len);
        else if (json_is_integer(v))
            acre_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            acre_buf_adds(b, "null"); /* unreachable: every parsed number has its text */
        break;
    }
    case JSON_TRUE: acre_buf_adds(b, "true"); break;
    case JSON_FALSE: acre_buf_adds(b, "false"); break;
    case JSON_NULL: acre_buf_adds(b, "null"); break;
    }
}
