/* tests/fuzz/fuzz_case.c — a fixture's case.json (SPEC 7, tools/case.c).
 *
 * Input: any bytes as case.json. Property checked besides the sanitizers: a case the check
 * accepts has every value replay then reads (tools/replay.c) of the type replay reads it as, so
 * replay never meets a NULL string or a path leaving the fixture. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "case.h"

static void file_name(const json_t *f)
{
    const char *s = json_string_value(f);
    assert(s && s[0] && s[0] != '/' && !strstr(s, "/../") && strncmp(s, "../", 3) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *cs = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *step;
    char msg[300];
    size_t i;
    if (!cs)
        return 0;
    if (acre_case_check(cs, msg, sizeof msg) != 0) {
        assert(msg[0]);
        json_decref(cs);
        return 0;
    }
    assert(json_is_string(json_object_get(cs, "description")));
    json_array_foreach(json_object_get(cs, "steps"), i, step)
    {
        json_t *v, *f, *e;
        size_t k;
        if ((v = json_object_get(step, "ingest"))) {
            assert(json_string_value(v));
            assert(!json_object_get(step, "again") ||
                   json_is_boolean(json_object_get(step, "again")));
            json_array_foreach(json_object_get(step, "files"), k, f) file_name(f);
        } else if ((v = json_object_get(step, "plan"))) {
            if (json_is_array(v))
                json_array_foreach(v, k, f) file_name(f);
            else
                file_name(v);
        } else {
            const char *id, *field;
            json_t *want, *w;
            v = json_object_get(step, "close");
            if (!v)
                v = json_object_get(step, "preview");
            assert(json_string_value(v) && strlen(json_string_value(v)) == 7);
            assert(!json_object_get(step, "allow_gap") ||
                   json_is_boolean(json_object_get(step, "allow_gap")));
            if ((e = json_object_get(step, "expect")))
                json_object_foreach(e, id, want) json_object_foreach(want, field, w)
                {
                    if (strcmp(field, "lines") == 0)
                        json_array_foreach(w, k, f) assert(json_string_value(f));
                    else
                        assert(json_string_value(w));
                }
        }
    }
    json_decref(cs);
    return 0;
}
