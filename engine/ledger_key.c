/* engine/ledger_key.c — the ledger key and the mac each ledger carries with it (SPEC 10).
 *
 * The mac is HMAC-SHA256 over the ledger's digest text ("sha256:…"), which covers the whole
 * document (period, previous_digest, every number), so whoever can write the store but does not
 * hold the key cannot make a ledger whose mac checks. It is written after the digest, outside the
 * digested bytes: ,\n"digest":"sha256:…","mac":"hmac-sha256:…"} (docs/close.md). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "acre/audit.h"
#include "digest.h"
#include "ledger_key.h"
#include "store_int.h"

int acre_store_set_ledger_key(acre_store *s, const void *key, size_t len, acre_error *err)
{
    if (len < ACRE_LEDGER_KEY_MIN)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "ledger_key",
                              "the ledger key has %zu bytes; it needs at least %d", len,
                              ACRE_LEDGER_KEY_MIN);
    if (len > sizeof s->ledger_key) {
        unsigned int n = 0;
        /* a failure must not leave the store unkeyed: no mac would be written or checked */
        if (!EVP_Digest(key, len, s->ledger_key, &n, EVP_sha256(), NULL) || n == 0)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                                  "out of memory (hashing the ledger key)");
        s->ledger_key_len = n;
    } else {
        memcpy(s->ledger_key, key, len);
        s->ledger_key_len = len;
    }
    return 0;
}

int acre_store_set_ledger_key_file(acre_store *s, const char *path, acre_error *err)
{
    unsigned char buf[4096];
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc, bad;
    if (!f)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "ledger_key",
                              "cannot read the ledger key file %s", path);
    n = fread(buf, 1, sizeof buf, f);
    bad = ferror(f) || (n == sizeof buf && fgetc(f) != EOF) || ferror(f); /* 4096 bytes fit */
    fclose(f);
    if (bad)
        rc = acre_error_set(err, ACRE_EUSAGE, NULL, "ledger_key",
                            "the ledger key file %s cannot be read whole (at most %zu bytes)", path,
                            sizeof buf);
    else if ((rc = acre_store_set_ledger_key(s, buf, n, err)))
        acre_error_set(err, ACRE_EUSAGE, NULL, "ledger_key",
                       "the ledger key file %s has %zu bytes; a key needs at least %d", path, n,
                       ACRE_LEDGER_KEY_MIN);
    memset(buf, 0, sizeof buf);
    return rc;
}

int acre_ledger_keyed(const acre_store *s)
{
    return s->ledger_key_len > 0;
}

int acre_ledger_mac(char out[ACRE_MAC_SIZE], const acre_store *s, const char *digest)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[65];
    if (!HMAC(EVP_sha256(), s->ledger_key, (int)s->ledger_key_len, (const unsigned char *)digest,
              strlen(digest), md, &n) ||
        n != 32) {
        out[0] = '\0';
        return ACRE_ENOMEM; /* OpenSSL could not allocate */
    }
    acre_hex32(hex, md);
    snprintf(out, ACRE_MAC_SIZE, "hmac-sha256:%s", hex);
    return 0;
}

void acre_ledger_mac_add(const acre_store *s, acre_buf *b, const char *digest)
{
    char mac[ACRE_MAC_SIZE];
    if (!acre_ledger_keyed(s))
        return;
    if (acre_ledger_mac(mac, s, digest)) {
        b->oom = 1; /* the close fails as out of memory, never stored without its mac */
        return;
    }
    acre_buf_printf(b, ",\"mac\":\"%s\"", mac);
}
