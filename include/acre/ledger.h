/* acre/ledger.h — a closed ledger: reading it from the store, writing it out, its digest. */
#ifndef ACRE_LEDGER_H
#define ACRE_LEDGER_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The stored ledger of a closed period (new string), or ACRE_ENOTFOUND. */
int acre_ledger_get(acre_store *s, const char *period, char **ledger, acre_error *err);

/* Writes a ledger document as `format` ("json", "csv", "hledger", "beancount" or "summary"),
 * keeping only affiliate `only` when it is not NULL: nothing of another affiliate. As JSON that
 * is an extract, not the stored document: its "affiliates" and "unassigned" hold `only`'s
 * entries, and the whole ledger's digest is its "extract_of" (no "digest", no "mac"). */
int acre_ledger_write(FILE *out, const char *ledger, const char *format, const char *only,
                      acre_error *err);

/* As acre_ledger_write, and the summary names each affiliate beside its ID, from s's stored
 * affiliates (their current versions). */
int acre_ledger_write_named(FILE *out, acre_store *s, const char *ledger, const char *format,
                            const char *only, acre_error *err);

/* Writes what finance pays of a ledger document (SPEC 10) as `format`, "csv" or "json": per
 * affiliate, in the ledger's order, affiliate_id, name (from s's stored affiliates; "" with s
 * NULL), currency, earned, brought_forward, total (payable + carried_forward, one of them 0:
 * earned + brought_forward by SPEC 5.5, taken from what is paid and carried so that a row agrees
 * with itself when plans of two scales round its parts apart), min_payout, payable,
 * carried_forward and status: "paid" (payable > 0), "negative" (total < 0), "zero" (total = 0)
 * or "below_min_payout", as the ledger's rounded totals tell; then one total per currency, in
 * code order (csv: a row with no affiliate_id, the name "total", no min_payout and no status;
 * json: "totals", with the count of affiliates and of those paid). In csv a name that begins
 * with = + - @ is written after an apostrophe (a spreadsheet would run it as a formula). With
 * `only`, that affiliate's row alone, and its totals. Amounts are the ledger's texts, or their
 * exact sums. Returns 0, ACRE_EUSAGE for another format, ACRE_ERROR for a document that is not
 * JSON. */
int acre_payouts_write(FILE *out, acre_store *s, const char *ledger, const char *format,
                       const char *only, acre_error *err);

/* Writes the statement of affiliate `affiliate_id` for the closed `period` (SPEC 10), as
 * `format`, "html" (one self-contained file: print CSS, an inline SVG chart, no network) or
 * "text": each ledger line with its detail (per customer, the CPA's first deposit and
 * qualification, bands, late contributions), the totals and payout status of acre_payouts_write,
 * and the affiliate's earned, payable and carried forward in the last 12 closed periods up to
 * `period`, each read from its stored ledger. Returns 0; ACRE_ENOTFOUND when the period is not
 * closed or the affiliate has no entry in its ledger; ACRE_EUSAGE for another format. */
int acre_statement_write(FILE *out, acre_store *s, const char *period, const char *affiliate_id,
                         const char *format, acre_error *err);

/* Bytes of a ledger digest's text: "sha256:", 64 hex digits, NUL. */
#define ACRE_LEDGER_DIGEST_SIZE 72

/* The digest a ledger document's bytes give (docs/close.md): "sha256:" and the SHA-256 of
 * everything before its last ,\n"digest":" member, followed by "}". Returns 0, or ACRE_ERROR
 * when the document has no such member (or OpenSSL failed); out is then unset. */
int acre_ledger_digest(char out[ACRE_LEDGER_DIGEST_SIZE], const char *doc, size_t len);

#ifdef __cplusplus
}
#endif

#endif
