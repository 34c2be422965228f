/* engine/digest.h — SHA-256 as lower-case hex (internal). */
#ifndef ACRE_ENGINE_DIGEST_H
#define ACRE_ENGINE_DIGEST_H

#include <stddef.h>

#include "acre/ledger.h" /* acre_ledger_digest, made with these, is public */

/* Writes the 64 hex digits of a 32-byte digest, NUL-terminated. */
void acre_hex32(char out[65], const unsigned char md[32]);

/* out = hex SHA-256 of p[0..n). */
void acre_sha256_hex(char out[65], const void *p, size_t n);

#endif
