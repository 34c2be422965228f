/* engine/kind_rules.h — the record kinds' rules that read the store or the whole batch: the
 * hooks of engine/validate.c's kind rows (engine/record.h says what each hook does) (internal). */
#ifndef ACRE_ENGINE_KIND_RULES_H
#define ACRE_ENGINE_KIND_RULES_H

#include "record.h"

/* gaming activity (fields): ggr, or both total_bets and wins (SPEC 3). */
void acre_gaming_ggr(const acre_kind *k, acre_rec *r);

/* assignments (fields): effective_to is not before effective_from. */
void acre_assignment_dates(const acre_kind *k, acre_rec *r);

/* fx-rates (fields): no rate for USD, whose usd_rate is always 1. */
void acre_fx_not_usd(const acre_kind *k, acre_rec *r);

/* assignments (check): an affiliate holds one plan at a time (SPEC 3, SPEC 9 "Assignments"). */
int acre_assignment_overlap(const acre_kind *k, acre_rec *r, acre_istore *is, acre_error *err);

/* customers (supersedes): an update whose last_modified_date is older than the stored one's is
 * ignored (SPEC 3 "Upserts"; only when both carry one). */
int acre_customer_supersedes(const acre_kind *k, const acre_cell *old, const acre_cell *neu);

/* affiliates (across): a parent must be stored or a live record of the same batch, and parents
 * may not form a cycle (SPEC 3 "References", engine/parents.c). */
int acre_affiliate_parents(const acre_kind *k, long n, acre_batch_rec_fn rec, void *ctx,
                           acre_istore *is, const acre_fielderr **verdict, acre_error *err);

#endif
