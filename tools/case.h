/* tools/case.h — the shape of a fixture's case.json (SPEC 7), checked before anything runs. */
#ifndef ACRE_TOOLS_CASE_H
#define ACRE_TOOLS_CASE_H

#include <jansson.h>
#include <stddef.h>

/* Checks that cs is a fixture case: an object with a "description" string and a non-empty
 * "steps" array, each step exactly one of
 *   {"ingest": KIND, "files": [FILE, ...]}
 *   {"plan": FILE} or {"plan": [FILE, ...]}
 *   {"close" or "preview": "YYYY-MM"}, with "expect": {...} or "refused": RULE
 * where FILE is a relative path inside the fixture (no "..", not absolute) and "expect" maps
 * affiliate IDs to objects of ledger fields: strings, and "lines" an array of strings. Nothing
 * else is accepted. Returns 0, or -1 with msg (of n bytes) naming the step and the key. The
 * kind names are checked by ingest when the step runs. */
int acre_case_check(const json_t *cs, char *msg, size_t n);

#endif
