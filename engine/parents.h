/* engine/parents.h — which affiliate records of a file break the parent rules (internal). */
#ifndef ACRE_ENGINE_PARENTS_H
#define ACRE_ENGINE_PARENTS_H

#include "acre/error.h"

/* The stored parent of affiliate `id`: returns 1 and sets *parent (new, the caller frees; NULL
 * for none) when the affiliate is stored, 0 when it is not, or a negative code (err set). */
typedef int (*acre_stored_parent_fn)(void *ctx, const char *id, char **parent, acre_error *err);

/* The file's n affiliate records: ids[i] and parents[i] (NULL: no parent) for each record that
 * passed validation (valid[i]). Sets verdict[i] to `unknown` for a record whose parent is
 * neither stored nor a live record of the file, and to `cycle` for one whose chain of parents,
 * as the file would leave the store, comes back to it; a rejection can orphan others or expose
 * an earlier version of the same id, so this repeats to the fixed point. Exact whatever the
 * length of the chains; each round is linear in the records and the stored affiliates their
 * chains reach (each looked up once). Returns 0, ACRE_ENOMEM or the lookup's error. */
int acre_parents_resolve(long n, char *const *ids, char *const *parents, const int *valid,
                         const char **verdict, const char *unknown, const char *cycle,
                         acre_stored_parent_fn stored, void *ctx, acre_error *err);

#endif
