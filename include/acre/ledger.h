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
