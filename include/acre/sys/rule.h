/* acre/sys/rule.h — the interface a rule kind implements (for acre's own rules/; not part of
 * the umbrella header).
 *
 * A rule kind parses its section of a plan and computes its lines at a close. The close
 * (engine/close.c) drives the kinds in the order of acre_rule_kinds[]: phase 1 runs every kind
 * for each affiliate in affiliate_id order; phase 2 runs after all affiliates' own lines exist
 * (sub-affiliate commission reads its descendants' lines). Adding a kind is a file in rules/
 * and a row in the table (rules/rules.c). */
#ifndef ACRE_SYS_RULE_H
#define ACRE_SYS_RULE_H

#include <jansson.h>

#include "acre/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct acre_plan;
struct acre_numtab;
struct acre_close;
struct acre_aff;

typedef struct acre_rule_kind {
    const char *name;
    int phase; /* 1 or 2 */
    /* Reads this kind's part of the plan document into p; NULL when it has none. Returns 0 or
     * ACRE_EINVALID with err naming the key. */
    int (*parse)(struct acre_plan *p, const json_t *doc, const struct acre_numtab *t,
                 acre_error *err);
    /* Adds this kind's lines for one affiliate to the close. Returns 0 or an error code. */
    int (*run)(struct acre_close *c, struct acre_aff *a, acre_error *err);
} acre_rule_kind;

/* Every kind, in the order they run; NULL-terminated. */
extern const acre_rule_kind *const acre_rule_kinds[];

#ifdef __cplusplus
}
#endif

#endif
