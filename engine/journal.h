/* engine/journal.h — a ledger document as an hledger or beancount journal (internal). */
#ifndef ACRE_ENGINE_JOURNAL_H
#define ACRE_ENGINE_JOURNAL_H

#include <jansson.h>
#include <stdio.h>

#include "acre/error.h"

/* Writes the ledger `doc` (SPEC 6) as a journal, beancount when nonzero, else hledger; only
 * the affiliate `only` when not NULL. Returns 0, or an error code with err set (a period that
 * is not a month; two affiliates whose IDs make one beancount account name). */
int acre_journal_write(FILE *out, const json_t *doc, int beancount, const char *only,
                       acre_error *err);

#endif
