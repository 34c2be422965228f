/* engine/payouts.h — an affiliate's payout row of a ledger, for the payout file and the summary
 * (engine/payouts.c, engine/ledger.c; internal). */
#ifndef ACRE_ENGINE_PAYOUTS_H
#define ACRE_ENGINE_PAYOUTS_H

#include <jansson.h>
#include <stdio.h>

#include "acre/error.h"
#include "acre/store.h"

/* One affiliate of a ledger: the ledger's own texts (borrowed from its JSON), its name (from
 * names, "" when not there), and what SPEC 10 adds: total = earned + brought_forward and
 * min_payout at the affiliate's scale (new strings), and the status: "paid" (payable), else
 * "negative" (total < 0), "zero" (total = 0) or "below_min_payout". */
typedef struct acre_payout_row {
    const char *affiliate_id, *name, *currency;
    const char *earned, *brought_forward, *payable, *carried_forward;
    char *total, *min_payout;
    const char *status;
} acre_payout_row;

/* Fills r for the ledger's affiliate object aff; 0 or ACRE_ENOMEM. */
int acre_payout_fill(acre_payout_row *r, const json_t *aff, const json_t *names);
void acre_payout_row_free(acre_payout_row *r);

/* The sign of a decimal text acre wrote (-1, 0, 1; 0 for NULL or one that does not parse). */
int acre_text_sign(const char *s);

/* Columns of s on a terminal: its UTF-8 characters. */
int acre_text_columns(const char *s);

/* s, then spaces to `width` columns (left-aligned), or spaces then s (right-aligned). */
void acre_text_cell(FILE *out, const char *s, int width, int right);

/* Writes s as one CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break),
 * then a comma, or a line break when it is the last. */
void acre_csv_field(FILE *out, const char *s, int last);

/* *out: an object of affiliate_id -> name of every stored affiliate's current version. */
int acre_payout_names(acre_store *s, json_t **out, acre_error *err);

#endif
