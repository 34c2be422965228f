/* tests/fuzz/fuzz_verify.c — `acre verify` of a ledger file (engine/verify.c).
 *
 * Input: any bytes as a ledger document. verify must report problems, never crash, whatever the
 * document holds; property checked: it reports a count, and a document it cannot read counts as
 * at least one problem. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "acre/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *out;
    acre_error err;
    int nbad = -1;
    if (!out && !(out = fopen("/dev/null", "w")))
        return 0;
    if (acre_verify((const char *)data, size, "fuzz.json", out, &nbad, &err) == 0) {
        json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        assert(nbad >= (doc ? 0 : 1));
        json_decref(doc);
    }
    return 0;
}
