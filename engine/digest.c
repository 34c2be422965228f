/* engine/digest.c — SHA-256 as hex, through OpenSSL's libcrypto. */
#include "digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

void acre_hex32(char out[65], const unsigned char md[32])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void acre_sha256_hex(char out[65], const void *p, size_t n)
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    acre_hex32(out, md);
}

int acre_ledger_digest(char out[ACRE_LEDGER_DIGEST_SIZE], const char *doc, size_t len)
{
    static const char key[] = ",\n\"digest\":\"";
    const size_t klen = sizeof key - 1;
    const char *d = NULL;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];
    EVP_MD_CTX *ctx;
    int ok;
    for (size_t i = 0; i + klen <= len; i++)
        if (doc[i] == ',' && memcmp(doc + i, key, klen) == 0)
            d = doc + i;
    if (!d || !(ctx = EVP_MD_CTX_new()))
        return ACRE_ERROR;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
         EVP_DigestUpdate(ctx, doc, (size_t)(d - doc)) && EVP_DigestUpdate(ctx, "}", 1) &&
         EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ACRE_ERROR;
    acre_hex32(hex, md);
    snprintf(out, ACRE_LEDGER_DIGEST_SIZE, "sha256:%s", hex);
    return 0;
}

int acre_random_hex(char *out, size_t n, acre_error *err)
{
    unsigned char b[32];
    static const char hex[] = "0123456789abcdef";
    if (n > sizeof b || RAND_bytes(b, (int)n) != 1)
        return acre_error_set(err, ACRE_ERROR, NULL, NULL, "no random bytes from OpenSSL");
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = 0;
    return 0;
}

int acre_hmac_sha256_hex(char out[65], const void *key, size_t klen, const void *p, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, p, n, md, &len) || len != 32) {
        out[0] = '\0';
        return ACRE_ENOMEM;
    }
    acre_hex32(out, md);
    return 0;
}
