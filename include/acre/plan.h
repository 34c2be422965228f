/* acre/plan.h — storing and reading plans (SPEC 4). */
#ifndef ACRE_PLAN_H
#define ACRE_PLAN_H

#include <stdio.h>

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads one plan or an array of plans from f (named `name` in messages), checks each strictly
 * and stores them in one transaction. A plan_id@version already stored with equal content is
 * left as it is; with other content it is refused. On refusal nothing of the file is stored
 * (ACRE_EREJECTED, err names the plan and the key). *added counts new versions. */
int acre_plan_add(acre_store *s, FILE *f, const char *name, int *added, int *unchanged,
                  acre_error *err);

typedef struct acre_plan_info {
    const char *plan_id; /* borrowed for the call */
    long version;
    const char *name;
    const char *currency;
    const char *sha256;
} acre_plan_info;

/* Calls fn for each stored plan version, by plan_id then version. */
int acre_plan_list(acre_store *s, int (*fn)(void *ctx, const acre_plan_info *p), void *ctx,
                   acre_error *err);

/* The stored JSON of plan `id` at `version` (0: the newest); new string. */
int acre_plan_show(acre_store *s, const char *id, long version, char **json, acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
