/* engine/ledger_key.h — the keyed mac of a ledger (internal; SPEC 10 "Audit"). */
#ifndef ACRE_ENGINE_LEDGER_KEY_H
#define ACRE_ENGINE_LEDGER_KEY_H

#include "acre/store.h"
#include "jsonval.h"

/* "hmac-sha256:" and 64 hex digits, NUL-terminated. */
#define ACRE_MAC_SIZE 77

/* Whether s has a ledger key. */
int acre_ledger_keyed(const acre_store *s);

/* out = "hmac-sha256:" + hex HMAC-SHA256(key, digest text). s must have a key. Returns 0, or
 * ACRE_ENOMEM (out empty) when OpenSSL fails. */
int acre_ledger_mac(char out[ACRE_MAC_SIZE], const acre_store *s, const char *digest);

/* With a key, appends ,"mac":"hmac-sha256:…" (the member after "digest"); nothing without. */
void acre_ledger_mac_add(const acre_store *s, acre_buf *b, const char *digest);

#endif
