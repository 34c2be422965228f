/* tools/case.c — checking a fixture's case.json before replaying it. */
#include "case.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Only the keys listed (NULL-terminated) may appear in obj; returns the first other one. */
static const char *other_key(const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(key, *a) == 0;
        if (!ok)
            return key;
    }
    return NULL;
}

/* A file name inside the fixture: not empty, not absolute, no ".." component, no NUL. */
static int file_ok(const json_t *v)
{
    const char *s = json_string_value(v), *p, *q;
    if (!s || !s[0] || s[0] == '/' || strlen(s) != json_string_length(v) || strlen(s) > 1000)
        return 0;
    for (p = s;; p = q + 1) {
        q = strchr(p, '/');
        if ((q ? q - p : (long)strlen(p)) == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        if (!q)
            return 1;
    }
}

static int files_ok(const json_t *v)
{
    size_t i;
    json_t *f;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return 0;
    json_array_foreach(v, i, f) if (!file_ok(f)) return 0;
    return 1;
}

static int month_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 7 || s[4] != '-')
        return 0;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return 0;
    return (s[5] == '0' && s[6] >= '1') || (s[5] == '1' && s[6] <= '2');
}

/* printable text for a message: at most 40 bytes of s */
#define SHOW(s) 40, (s)

static int expect_ok(const json_t *e, size_t step, char *msg, size_t n)
{
    const char *id, *field;
    json_t *want, *w, *l;
    size_t i;
    if (!json_is_object(e))
        return fail(msg, n, "step %zu: \"expect\" must be an object of affiliate IDs", step);
    json_object_foreach((json_t *)e, id, want)
    {
        if (!json_is_object(want))
            return fail(msg, n, "step %zu: expect.%.*s must be an object of ledger fields", step,
                        SHOW(id));
        json_object_foreach(want, field, w)
        {
            if (strcmp(field, "lines") != 0) {
                if (!json_is_string(w))
                    return fail(msg, n, "step %zu: expect.%.*s.%.*s must be a string", step,
                                SHOW(id), SHOW(field));
                continue;
            }
            if (!json_is_array(w))
                return fail(msg, n, "step %zu: expect.%.*s.lines must be an array of strings",
                            step, SHOW(id));
            json_array_foreach(w, i, l) if (!json_is_string(l)) return fail(
                msg, n, "step %zu: expect.%.*s.lines must be an array of strings", step,
                SHOW(id));
        }
    }
    return 0;
}

static int step_ok(const json_t *s, size_t i, char *msg, size_t n)
{
    const json_t *v;
    const char *bad;
    if (!json_is_object(s))
        return fail(msg, n, "step %zu: must be an object", i);
    if ((v = json_object_get(s, "ingest"))) {
        const json_t *again = json_object_get(s, "again");
        if ((bad = other_key(s, (const char *const[]){"ingest", "files", "again", NULL})))
            return fail(msg, n, "step %zu: %.*s: not a key of an ingest step", i, SHOW(bad));
        if (again && !json_is_boolean(again))
            return fail(msg, n, "step %zu: \"again\" must be true or false", i);
        if (!json_is_string(v) || !json_string_value(v)[0])
            return fail(msg, n, "step %zu: \"ingest\" must name a kind", i);
        if (!files_ok(json_object_get(s, "files")))
            return fail(msg, n,
                        "step %zu: \"files\" must be a non-empty array of file names inside "
                        "the fixture",
                        i);
        return 0;
    }
    if ((v = json_object_get(s, "plan"))) {
        if ((bad = other_key(s, (const char *const[]){"plan", NULL})))
            return fail(msg, n, "step %zu: %.*s: not a key of a plan step", i, SHOW(bad));
        if (!file_ok(v) && !files_ok(v))
            return fail(msg, n,
                        "step %zu: \"plan\" must be a file name inside the fixture or a "
                        "non-empty array of them",
                        i);
        return 0;
    }
    if ((v = json_object_get(s, "close")) || (v = json_object_get(s, "preview"))) {
        int close = json_object_get(s, "close") != NULL;
        const json_t *refused = json_object_get(s, "refused"), *e = json_object_get(s, "expect"),
                     *gap = json_object_get(s, "allow_gap");
        if ((bad = other_key(
                 s,
                 close ? (const char *const[]){"close", "expect", "refused", "allow_gap", NULL}
                       : (const char *const[]){"preview", "expect", "refused", "allow_gap", NULL})))
            return fail(msg, n, "step %zu: %.*s: not a key of a %s step", i, SHOW(bad),
                        close ? "close" : "preview");
        if (gap && !json_is_boolean(gap))
            return fail(msg, n, "step %zu: \"allow_gap\" must be true or false", i);
        if (!month_ok(v))
            return fail(msg, n, "step %zu: \"%s\" must be a period YYYY-MM", i,
                        close ? "close" : "preview");
        if (refused && (!json_is_string(refused) || !json_string_value(refused)[0] || e))
            return fail(msg, n,
                        "step %zu: \"refused\" names the rule of the refusal, without \"expect\"",
                        i);
        return e ? expect_ok(e, i, msg, n) : 0;
    }
    return fail(msg, n, "step %zu: unknown step: one of ingest, plan, close or preview", i);
}

int acre_case_check(const json_t *cs, char *msg, size_t n)
{
    const json_t *steps = json_object_get(cs, "steps"), *s;
    const char *bad;
    size_t i;
    if (!json_is_object(cs))
        return fail(msg, n, "must be an object with \"description\" and \"steps\"");
    if ((bad = other_key(cs, (const char *const[]){"description", "steps", NULL})))
        return fail(msg, n, "%.*s: not a key of a case (description, steps)", SHOW(bad));
    if (!json_is_string(json_object_get(cs, "description")))
        return fail(msg, n, "\"description\" must be a string: the case's arithmetic");
    if (!json_is_array(steps) || json_array_size(steps) == 0)
        return fail(msg, n, "\"steps\" must be a non-empty array");
    json_array_foreach(steps, i, s) if (step_ok(s, i, msg, n)) return -1;
    return 0;
}
