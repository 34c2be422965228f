/* acre/error.h — the error a caller owns and passes in. */
#ifndef ACRE_ERROR_H
#define ACRE_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes, every one acre has. 0 is success; these are the failures a caller acts on. */
enum {
    ACRE_OK = 0,
    ACRE_ERROR = -1,      /* anything else: the message says what */
    ACRE_ENOMEM = -2,     /* out of memory */
    ACRE_EINVALID = -3,   /* a value or record is invalid */
    ACRE_EREJECTED = -4,  /* a file was refused whole; nothing of it was stored */
    ACRE_ENOTFOUND = -5,  /* a named thing does not exist */
    ACRE_EIO = -6,        /* reading a file or the store failed */
    ACRE_EUSAGE = -7,     /* the call's arguments are wrong */
    /* A close was refused and nothing was written: the period is not after the last closed
     * one, it would leave a month between the last closed one and it unclosed (rule "gap"),
     * an FX rate is missing (the message lists currency/date pairs), a plan is missing or its
     * currency is not its affiliate's, or a reported NGR is missing. */
    ACRE_EREFUSED = -8
};

/* Filled in by a failing call. `index` is the 0-based record position in the file, or -1;
 * `field` and `rule` are empty when they do not apply. */
typedef struct acre_error {
    int code;
    long index;
    char field[64];
    char rule[48];
    char message[512];
} acre_error;

/* Clears an error to "no error". */
void acre_error_clear(acre_error *err);

/* Sets an error; returns `code` so a caller can `return acre_error_set(...)`. */
int acre_error_set(acre_error *err, int code, const char *field, const char *rule,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#ifdef __cplusplus
}
#endif

#endif
