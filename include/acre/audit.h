/* acre/audit.h — checking every stored ledger, and what the next close starts from (SPEC 10). */
#ifndef ACRE_AUDIT_H
#define ACRE_AUDIT_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the audit checks besides the ledgers, their chain and the state the ledgers determine. */
typedef struct acre_audit_opts {
    int recompute;      /* close every period again from the stored records and compare bytes */
    const char *head;   /* a digest the last closed ledger must have, or NULL */
    const char *anchor; /* a file of {"period":…,"digest":…} lines (close --anchor), or NULL */
} acre_audit_opts;

/* Checks the store: SQLite's quick_check first (a corrupt store stops there); then every closed
 * period in order: its ledger hashes to its digest, its previous_digest is the digest of the
 * period closed before it, its numbers add up (acre_verify's arithmetic, naming the affiliate
 * and line), and, when the store has a ledger key, its mac; then every state row a later close
 * reads that the ledgers determine (docs/RELIABILITY.md lists them); then o's head, anchor and
 * recompute. Writes one line per period ("PERIOD\tok\tDIGEST"), one "WHERE\tFAIL\twhat" line per
 * problem and a summary to out; sets *nbad to the number of problems. o may be NULL. Returns 0,
 * or an error when the store (or the anchor file) cannot be read. */
int acre_audit_run(acre_store *s, const acre_audit_opts *o, FILE *out, int *nbad, acre_error *err);

/* acre_audit_run without options. */
int acre_audit(acre_store *s, FILE *out, int *nbad, acre_error *err);

/* Fewest bytes a ledger key may have. */
#define ACRE_LEDGER_KEY_MIN 32

/* Gives s a ledger key: every close made through s then writes "mac":"hmac-sha256:…" after its
 * digest, and the audit checks each ledger's. Fewer than ACRE_LEDGER_KEY_MIN bytes is
 * ACRE_EUSAGE. */
int acre_store_set_ledger_key(acre_store *s, const void *key, size_t len, acre_error *err);

/* The same with the bytes of a file (at most 4096). ACRE_EUSAGE when it cannot be read or is
 * too short. */
int acre_store_set_ledger_key_file(acre_store *s, const char *path, acre_error *err);

#ifdef __cplusplus
}
#endif

#endif
