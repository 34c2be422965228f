/* tests/fuzz/fuzz_record.c — record validation, every kind (SPEC 3, engine/validate.c).
 *
 * Input: a kind's name, a newline, then one NDJSON line, as `acre ingest KIND` reads it:
 * jansson parses it, acre pairs each number node with its text (engine/jsonval.c), then
 * validates the record. A record that passes is written back in canonical form. Properties
 * checked besides the sanitizers: a refused record has at least one error naming a field and a
 * rule, and an accepted one has none. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "jsonval.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *nl = memchr(text, '\n', size);
    char name[64];
    const acre_kind *k;
    json_t *doc;
    acre_numtab t = {0};
    acre_rec rec;
    size_t n;

    if (!nl || (size_t)(nl - text) >= sizeof name)
        return 0;
    memcpy(name, text, (size_t)(nl - text));
    name[nl - text] = '\0';
    if (!(k = acre_kind_find(name)))
        return 0;
    n = size - (size_t)(nl + 1 - text);
    if (!(doc = json_loadb(nl + 1, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL)))
        return 0;
    acre_rec_init(&rec);
    if (acre_numtab_build(&t, doc, nl + 1, n) == 0) {
        int rc = acre_rec_validate(&rec, k, doc, &t);
        assert(rc == 0 ? rec.nerrors == 0 : rec.nerrors > 0);
        for (int i = 0; i < rec.nerrors && i < ACRE_MAX_ERRORS; i++)
            assert(rec.errors[i].rule[0] && rec.errors[i].message[0]);
        if (rc == 0) {
            acre_buf b = {0};
            acre_buf_json(&b, doc, &t, 1);
            acre_buf_free(&b);
        }
    }
    acre_numtab_free(&t);
    acre_rec_free(&rec);
    json_decref(doc);
    return 0;
}
