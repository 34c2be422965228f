/* engine/digest.h — SHA-256 as lower-case hex (internal). */
#ifndef ACRE_ENGINE_DIGEST_H
#define ACRE_ENGINE_DIGEST_H

#include <stddef.h>

#include "acre/ledger.h" /* acre_ledger_digest, made with these, is public */

/* Writes the 64 hex digits of a 32-byte digest, NUL-terminated. */
void acre_hex32(char out[65], const unsigned char md[32]);

/* out = hex SHA-256 of p[0..n). */
void acre_sha256_hex(char out[65], const void *p, size_t n);

/* n (at most 32) random bytes from OpenSSL as 2n hex digits, NUL-terminated. 0, or ACRE_ERROR
 * (err set) when OpenSSL has none. */
int acre_random_hex(char *out, size_t n, acre_error *err);

/* out = hex HMAC-SHA256 of p[0..n) with key[0..klen). 0, or ACRE_ENOMEM when OpenSSL could not
 * allocate (out is then ""). */
int acre_hmac_sha256_hex(char out[65], const void *key, size_t klen, const void *p, size_t n);

#endif
