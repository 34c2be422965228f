/* engine/digest.h — SHA-256 as lower-case hex (internal). */
#ifndef ACRE_ENGINE_DIGEST_H
#define ACRE_ENGINE_DIGEST_H

#include <stddef.h>

/* Writes the 64 hex digits of a 32-byte digest, NUL-terminated. */
void acre_hex32(char out[65], const unsigned char md[32]);

/* out = hex SHA-256 of p[0..n). */
void acre_sha256_hex(char out[65], const void *p, size_t n);

/* The digest a ledger document's bytes give (docs/close.md): "sha256:" and the SHA-256 of
 * everything before its last ,\n"digest":" member, followed by "}". Returns 0, or -1 when the
 * document has no such member. */
int acre_ledger_digest(char out[72], const char *doc, size_t len);

#endif
