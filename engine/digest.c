/* engine/digest.c — SHA-256 as hex, through OpenSSL's libcrypto. */
#include "digest.h"

#include <openssl/evp.h>

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
