/* tests/fuzz/fuzz_plan.c — plan parsing (SPEC 4, engine/plan.c).
 *
 * Input: a plan file as `acre plan add` reads it, one plan object or an array of them. Each
 * object is parsed strictly; a refusal must name a key and a rule. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>

#include "jsonval.h"
#include "plan.h"

static void one(const json_t *obj, const acre_numtab *t)
{
    acre_plan *p = NULL;
    acre_error err;
    acre_error_clear(&err);
    if (acre_plan_parse(&p, obj, t, &err) == 0) {
        assert(p);
        acre_plan_free(p);
    } else {
        assert(!p && err.message[0] && err.rule[0]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *v;
    acre_numtab t = {0};
    size_t i;
    if (!doc)
        return 0;
    if (acre_numtab_build(&t, doc, (const char *)data, size) == 0) {
        if (json_is_array(doc))
            json_array_foreach(doc, i, v) one(v, &t);
        else
            one(doc, &t);
    }
    acre_numtab_free(&t);
    json_decref(doc);
    return 0;
}
