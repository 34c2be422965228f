/* engine/jsonsplit.c — splitting a top-level JSON array into its elements as it is read.
 *
 * jansson parses a whole document at once: a million records in one array took 1.5 GiB. This
 * scanner knows only what it needs to find where each element ends (strings and their escapes,
 * bracket depth); jansson then parses each element alone, so the structure around the elements
 * is checked here and everything inside them by jansson, with the same messages. Line and
 * column are counted here as jansson counts them (a line per '\n', a column per character, the
 * document's first byte at column 1), so an error is placed where parsing the whole document
 * would have placed it. */
#include "jsonsplit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/error.h"
#include "alloc.h"
#include "jsonval.h"

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH: deeper refuses the file */
#define TOO_LARGE 1    /* s->rc: an element passed MAX_LINE */

typedef struct scan {
    reader *rd;
    size_t pos; /* the cursor, from rd->start */
    long line, col;
    int rc; /* ACRE_ENOMEM or TOO_LARGE once reading failed */
    acre_jsplit_err *e;
} scan;

/* The byte k after the cursor, or -1 at the end of the input (or when s->rc is set). */
static int at(scan *s, size_t k)
{
    while (s->rd->start + s->pos + k >= s->rd->end) {
        int rc;
        if (s->rd->eof || s->rc)
            return -1;
        if ((rc = acre_reader_fill(s->rd, MAX_LINE + 2 * READ_CHUNK)) != 0) {
            s->rc = rc < 0 ? rc : TOO_LARGE;
            return -1;
        }
    }
    return (unsigned char)s->rd->buf[s->rd->start + s->pos + k];
}

/* Moves the cursor over n bytes, counting lines and characters. */
static void advance(scan *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s->rd->buf + s->rd->start + s->pos;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            s->line++;
            s->col = 0;
        } else if ((p[i] & 0xC0) != 0x80) {
            s->col++;
        }
    }
    s->pos += n;
}

/* Drops what the cursor has passed, so the reader can reuse its buffer. */
static void consume(scan *s)
{
    s->rd->start += s->pos;
    s->pos = 0;
}

static void skip_ws(scan *s)
{
    int c;
    while ((c = at(s, 0)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        advance(s, 1);
    consume(s);
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* The length of the number token at the cursor as jansson's lexer saves it (for an invalid one,
 * the text it names: "-0" of "-01", "1." of "1.x", "1e" of "1ex"); *valid says which. */
static size_t number_len(scan *s, int *valid)
{
    size_t i = 0;
    int c = at(s, 0);
    *valid = 0;
    if (c == '-')
        c = at(s, ++i);
    if (c == '0') {
        if (is_digit(c = at(s, ++i)))
            return i;
    } else if (is_digit(c)) {
        while (is_digit(c = at(s, ++i)))
            ;
    } else {
        return i;
    }
    if (c == '.') {
        if (!is_digit(at(s, i + 1)))
            return i + 1;
        for (i++; is_digit(c = at(s, i)); i++)
            ;
    }
    if (c == 'e' || c == 'E') {
        c = at(s, ++i);
        if (c == '+' || c == '-')
            c = at(s, ++i);
        if (!is_digit(c))
            return i;
        while (is_digit(at(s, ++i)))
            ;
    }
    *valid = 1;
    return i;
}

/* The length of the token at the cursor as jansson's lexer would take it (0 at the end); *valid
 * (if given) is 0 for a number jansson would not take. */
static size_t token_len(scan *s, int *valid)
{
    int c = at(s, 0), ok = 1;
    size_t n = 1;
    if (valid)
        *valid = 1;
    if (c < 0)
        return 0;
    if (c == '"') {
        while (n <= (size_t)MAX_LINE && (c = at(s, n)) >= 0) {
            n += c == '\\' ? 2 : 1;
            if (c == '"')
                break;
        }
        return s->rd->start + s->pos + n > s->rd->end ? s->rd->end - s->rd->start - s->pos : n;
    }
    if (c == '-' || is_digit(c)) {
        n = number_len(s, &ok);
        if (valid)
            *valid = ok;
        return n ? n : 1;
    }
    if (is_alpha(c)) {
        while (is_alpha(at(s, n)))
            n++;
        return n;
    }
    while (((c = at(s, n)) & 0xC0) == 0x80 && c >= 0)
        n++; /* the rest of a UTF-8 character */
    return n;
}

/* A syntax error at the token under the cursor, worded as jansson words it. */
static int fail(scan *s, const char *what)
{
    size_t n = token_len(s, NULL);
    const char *tok = s->rd->buf + s->rd->start + s->pos;
    if (s->rc)
        return s->rc;
    advance(s, n);
    s->e->rule = "json";
    s->e->line = s->line;
    s->e->column = s->col;
    if (n == 0)
        snprintf(s->e->text, sizeof s->e->text, "%s near end of file", what);
    else if (n <= 20)
        snprintf(s->e->text, sizeof s->e->text, "%s near '%.*s'", what, (int)n, tok);
    else
        snprintf(s->e->text, sizeof s->e->text, "%s", what);
    return ACRE_EREJECTED;
}

/* jansson's verdict on prefix + the n bytes at the cursor + suffix, where prefix stands for
 * what came before in the document (e.g. "[0 ": an array after an element): when jansson
 * refuses it, its error, placed in the file, and ACRE_EREJECTED; 0 when it takes it. This names
 * a bad token as jansson's lexer does (a string cut short, a control character, a number that
 * overflows, a byte that is not UTF-8) before the structure is judged. */
static int jansson_at(scan *s, const char *prefix, size_t n, const char *suffix)
{
    size_t lp = strlen(prefix), ls = strlen(suffix);
    char *text = acre_malloc(lp + n + ls + 1);
    json_error_t je;
    json_t *v;
    if (!text)
        return ACRE_ENOMEM;
    memcpy(text, prefix, lp);
    memcpy(text + lp, s->rd->buf + s->rd->start + s->pos, n);
    memcpy(text + lp + n, suffix, ls);
    v = acre_json_loadb(text, lp + n + ls, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    free(text);
    if (v) {
        json_decref(v);
        return 0;
    }
    if (json_error_code(&je) == json_error_out_of_memory)
        return ACRE_ENOMEM;
    s->e->rule = "json";
    s->e->line = s->line + (je.line > 0 ? je.line : 1) - 1;
    s->e->column = je.line <= 1 ? s->col + je.column - (long)lp : je.column;
    snprintf(s->e->text, sizeof s->e->text, "%s", je.text);
    return ACRE_EREJECTED;
}

/* n, and up to 4 bytes after it: the character jansson's lexer reads to end a token (and
 * refuses if it is not UTF-8). */
static size_t and_next(scan *s, size_t n)
{
    size_t k = n;
    if (n == 0)
        return 0;
    while (k < n + 4 && at(s, k) >= 0)
        k++;
    return k;
}

/* A syntax error between the elements: jansson's, given the context `prefix`; `what` if jansson
 * (unexpectedly) takes it. */
static int structural(scan *s, const char *prefix, const char *what)
{
    int rc;
    if (s->rc)
        return s->rc;
    if ((rc = jansson_at(s, prefix, and_next(s, token_len(s, NULL)), "")))
        return rc;
    return fail(s, what);
}

static int refuse(scan *s, const char *rule, const char *why)
{
    s->e->rule = rule;
    s->e->line = s->line;
    s->e->column = s->col;
    snprintf(s->e->text, sizeof s->e->text, "%s", why);
    return ACRE_EREJECTED;
}

/* The value at the cursor passes jansson's depth limit at its byte i. jansson, parsing the whole
 * document, would have named an error earlier in the value first: parse the part before i. */
static int too_deep(scan *s, size_t i)
{
    json_error_t je;
    long line = s->line, col0 = s->col;
    int c;
    json_t *v = acre_json_loadb(s->rd->buf + s->rd->start + s->pos, i,
                                JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v)
        json_decref(v);
    else if (json_error_code(&je) == json_error_out_of_memory)
        return ACRE_ENOMEM;
    else if (json_error_code(&je) != json_error_premature_end_of_input) {
        s->e->rule = "json";
        s->e->line = line + (je.line > 0 ? je.line : 1) - 1;
        s->e->column = je.line <= 1 ? col0 + je.column : je.column;
        snprintf(s->e->text, sizeof s->e->text, "%s", je.text);
        return ACRE_EREJECTED;
    }
    advance(s, i);
    c = at(s, 0);
    if (c == '"' || c >= 0x80 || c == '-' || is_digit(c)) {
        int valid, rc;
        size_t n = token_len(s, &valid);
        if (valid && (rc = jansson_at(s, "[", n, "]"))) /* the lexer's error comes first */
            return rc;
    }
    return fail(s, "maximum parsing depth reached");
}

/* jansson's stream drops a NUL byte that its lexer read to end a number or a literal (`first`:
 * the token's first byte) and gave back: so does this, without counting a column. */
static void skip_unget_nul(scan *s, int first)
{
    if (first != '"' && first != '[' && first != '{' && at(s, 0) == 0)
        s->pos++;
}

/* Finds the end of the value at the cursor, `depth` levels down in the document (`ctx`: what
 * came before it, for jansson_at): *len is its length. A bracket closing the wrong kind ends it there, for jansson to name. */
static int element_end(scan *s, int depth, const char *ctx, size_t *len)
{
    char stack[MAX_DEPTH];
    int d = 0, instr = 0, esc = 0, colon = 0, c = at(s, 0), valid;
    size_t i;
    if (c >= 0 && c != '[' && c != '{') {
        /* a scalar (or not JSON): one token, as jansson's lexer takes it */
        *len = token_len(s, &valid);
        if (valid && c != '"' && c != '-' && !is_digit(c)) {
            const char *t = s->rd->buf + s->rd->start + s->pos;
            valid = (*len == 4 && (!memcmp(t, "true", 4) || !memcmp(t, "null", 4))) ||
                    (*len == 5 && !memcmp(t, "false", 5));
        }
        /* jansson names a bad token, or the byte after it that is not UTF-8 (which its lexer
         * reads to end a number or a literal) */
        if (!valid || (c != '"' && at(s, *len) >= 0x80))
            return structural(s, ctx, "invalid token");
        return *len > (size_t)MAX_LINE ? TOO_LARGE : 0;
    }
    for (i = 0;; i++) {
        if (i > (size_t)MAX_LINE)
            return TOO_LARGE;
        if ((c = at(s, i)) < 0) {
            if (s->rc)
                return s->rc;
            break; /* the end of the input: jansson will say what is missing */
        }
        if (!instr && d > 0 && depth + d == MAX_DEPTH && c != ' ' && c != '\t' && c != '\n' &&
            c != '\r') {
            /* in a container at jansson's deepest level, a value would be one level deeper:
             * the next array element, or the value after an object key's ':' */
            if (stack[d - 1] == ']' ? c != ']' : colon) {
                return too_deep(s, i);
            }
            colon |= c == ':';
        }
        if (instr) {
            if (esc) {
                esc = 0;
            } else if (c == '\\') {
                esc = 1;
            } else if (c == '"') {
                instr = 0;
                if (d == 0) { /* a string element */
                    i++;
                    break;
                }
            }
        } else if (c == '"') {
            instr = 1;
        } else if (c == '[' || c == '{') {
            if (depth + d + 1 > MAX_DEPTH) {
                return too_deep(s, i);
            }
            stack[d++] = c == '[' ? ']' : '}';
        } else if (c == ']' || c == '}') {
            if (d == 0)
                break;
            if (stack[d - 1] != c || --d == 0) {
                i++;
                break;
            }
        } else if (d == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            break;
        }
    }
    *len = i;
    return 0;
}

/* The array at the cursor, `depth` its level in the document (1 at the top). */
/* After a member or an element: the next character past white space, and when it is a comma,
 * that comma and the white space after it consumed. Returns the character (-1 at the end). */
static int separator(scan *s)
{
    int c;
    skip_ws(s);
    if ((c = at(s, 0)) == ',') {
        advance(s, 1);
        consume(s);
        skip_ws(s);
    }
    return c;
}

static int array(scan *s, int depth, acre_jsplit_fn each, void *ctx)
{
    int c, rc;
    advance(s, 1);
    consume(s);
    skip_ws(s);
    if (at(s, 0) == ']') {
        advance(s, 1);
        consume(s);
        return 0;
    }
    for (;;) {
        size_t len;
        long line = s->line, col0 = s->col;
        c = at(s, 0);
        if (c < 0)
            return structural(s, "[0,", "']' expected");
        if (c == ',' || c == ']' || c == '}' || c == ':')
            return structural(s, "[0,", "unexpected token");
        if ((rc = element_end(s, depth, "[0,", &len)))
            return rc;
        if ((rc = each(ctx, s->rd->buf + s->rd->start, len, line, col0)))
            return rc;
        advance(s, len);
        skip_unget_nul(s, c);
        consume(s);
        if ((c = separator(s)) == ',')
            continue;
        if (c == ']') {
            advance(s, 1);
            consume(s);
            return 0;
        }
        return structural(s, "[0 ", "']' expected");
    }
}

/* The envelope's "meta": any JSON, checked by jansson and otherwise ignored. */
static int meta(scan *s)
{
    size_t len;
    json_error_t je;
    json_t *v;
    long line = s->line, col0 = s->col;
    int c = at(s, 0), rc;
    if (c < 0 || c == ',' || c == ']' || c == '}' || c == ':')
        return structural(s, "{\"k\":", "unexpected token");
    if ((rc = element_end(s, 1, "{\"k\":", &len)))
        return rc;
    v = acre_json_loadb(s->rd->buf + s->rd->start, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                        &je);
    if (!v) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return ACRE_ENOMEM;
        s->e->rule = "json";
        s->e->line = line + (je.line > 0 ? je.line : 1) - 1;
        s->e->column = je.line <= 1 ? col0 + je.column : je.column;
        snprintf(s->e->text, sizeof s->e->text, "%s", je.text);
        return ACRE_EREJECTED;
    }
    json_decref(v);
    advance(s, len);
    skip_unget_nul(s, c);
    consume(s);
    return 0;
}

/* 1 when the n-byte string token t ends with its closing quote (not one cut by the end). */
static int closed(const char *t, size_t n)
{
    size_t i = 1;
    while (i < n && t[i] != '"')
        i += t[i] == '\\' ? 2 : 1;
    return i == n - 1;
}

static int envelope(scan *s, acre_jsplit_fn each, void *ctx)
{
    int seen_data = 0, seen_meta = 0, rc, c;
    advance(s, 1);
    consume(s);
    skip_ws(s);
    for (;;) {
        size_t n;
        const char *key;
        int data, mt;
        if (at(s, 0) != '"')
            return structural(s, "{\"k\":0,", "string or '}' expected");
        n = token_len(s, NULL);
        key = s->rd->buf + s->rd->start;
        data = n == 6 && memcmp(key, "\"data\"", 6) == 0;
        mt = n == 6 && memcmp(key, "\"meta\"", 6) == 0;
        if ((data && seen_data) || (mt && seen_meta))
            return fail(s, "duplicate object key");
        if (!data && !mt && (rc = jansson_at(s, "{\"k\":0,", n, closed(key, n) ? ":0}" : "")))
            return rc; /* not a string jansson takes */
        if (!data && !mt) {
            char why[200];
            int k = n > 2 ? (int)n - 2 : 0;
            key++;
            snprintf(why, sizeof why,
                     "envelope: unexpected key \"%.*s\" (expected \"data\" and optional "
                     "\"meta\")",
                     acre_utf8_prefix(key, k < 60 ? k : 60), key);
            return refuse(s, "envelope", why);
        }
        advance(s, n);
        consume(s);
        skip_ws(s);
        if (at(s, 0) != ':')
            return structural(s, "{\"k\":0,\"d\"", "':' expected");
        advance(s, 1);
        consume(s);
        skip_ws(s);
        if (data) {
            seen_data = 1;
            if (at(s, 0) != '[')
                return s->rc ? s->rc : refuse(s, "envelope", "envelope: \"data\" is not an array");
            rc = array(s, 2, each, ctx);
        } else {
            seen_meta = 1;
            rc = meta(s);
        }
        if (rc)
            return rc;
        if ((c = separator(s)) == ',')
            continue;
        if (c == '}')
            break;
        return structural(s, "{\"k\":0 ", "'}' expected");
    }
    advance(s, 1);
    consume(s);
    if (!seen_data)
        return refuse(s, "envelope", "envelope: no \"data\" array");
    return 0;
}

int acre_jsplit(reader *rd, int env, acre_jsplit_fn each, void *ctx, acre_jsplit_err *e)
{
    scan s = {rd, 0, 1, 0, 0, e};
    int rc = env ? envelope(&s, each, ctx) : array(&s, 1, each, ctx);
    if (rc == 0) {
        skip_ws(&s);
        if (at(&s, 0) >= 0)
            rc = env ? refuse(&s, "envelope", "text follows the {\"data\":[...]} envelope")
                     : structural(&s, "0 ", "end of file expected");
    }
    if (rc == 0 && s.rc)
        rc = s.rc;
    if (rc == TOO_LARGE) {
        snprintf(e->text, sizeof e->text, "the record at line %ld is longer than %ld MiB", s.line,
                 MAX_LINE >> 20);
        e->rule = "too_large";
        rc = ACRE_EREJECTED;
    }
    return rc;
}

/* The index of the first byte from i on that is not white space. */
static size_t past_ws(scan *s, size_t i)
{
    int c;
    while ((c = at(s, i)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        i++;
    return i;
}

/* The index just past the JSON value at i (strings, escapes and nesting followed; nothing else
 * checked: jansson checks it later), or 0 when the input ends first. */
static size_t past_value(scan *s, size_t i)
{
    int depth = 0, c = at(s, i);
    if (c >= 0 && c != '"' && c != '{' && c != '[') { /* a number or a literal */
        while ((c = at(s, i)) >= 0 && !strchr(",}] \t\r\n", c))
            i++;
        return c < 0 ? 0 : i;
    }
    do {
        if ((c = at(s, i)) < 0)
            return 0;
        if (c == '"') {
            for (i++; (c = at(s, i)) != '"'; i += c == '\\' ? 2 : 1)
                if (c < 0)
                    return 0;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
        i++;
    } while (depth > 0);
    return i;
}

int acre_jsplit_is_envelope(reader *rd)
{
    scan s = {rd, 0, 1, 0, 0, NULL};
    char key[6];
    size_t i = past_ws(&s, 1);
    int yes = 0;
    for (int k = 0; k < 6; k++)
        key[k] = (char)at(&s, i + k);
    /* a first key "meta" is a sign only when "data" follows it: a bonus event has a "meta" too */
    if (memcmp(key, "\"meta\"", 6) == 0 && at(&s, i = past_ws(&s, i + 6)) == ':' &&
        (i = past_value(&s, past_ws(&s, i + 1))) && at(&s, i = past_ws(&s, i)) == ',') {
        i = past_ws(&s, i + 1);
        for (int k = 0; k < 6; k++)
            key[k] = (char)at(&s, i + k);
    }
    if (memcmp(key, "\"data\"", 6) == 0 && at(&s, i = past_ws(&s, i + 6)) == ':')
        yes = at(&s, past_ws(&s, i + 1)) == '[';
    return s.rc < 0 ? s.rc : yes;
}
