/* engine/reader.h — an input file (or buffer) read in chunks, hashed as it is read (internal). */
#ifndef ACRE_ENGINE_READER_H
#define ACRE_ENGINE_READER_H

#include <openssl/evp.h>
#include <stdio.h>

#define MAX_LINE                                                                                   \
    (16L << 20)               /* an NDJSON line (or an array element) longer than this refuses     \
                               * the file */
#define MAX_DOC (1024L << 20) /* a pretty-printed record read whole: larger refuses the file */
#define READ_CHUNK (1L << 20)

/* The unread text is buf[start..end); every byte read is fed to sha. The input is `in`, or,
 * when in is NULL, the bytes mem[0..memlen), read in the same chunks, so that limits and lines
 * come out as for a file of those bytes. */
typedef struct reader {
    FILE *in;
    const char *mem;
    size_t memlen, mempos;
    char *buf;
    size_t cap, start, end;
    int eof, ioerr;
    long line; /* lines handed out so far */
    EVP_MD_CTX *sha;
} reader;

/* Reads more (moving the unread text to the front); returns 0, 1 when the buffer would pass
 * limit + READ_CHUNK, or ACRE_ENOMEM. At end of input eof is set (and ioerr on a read error). */
int acre_reader_fill(reader *r, size_t limit);
/* Next line (without its newline) in line and len; returns 1 at end of file, 0 for a line, 2 when
 * the line is longer than MAX_LINE, or a negative code. */
int acre_reader_line(reader *r, char **line, size_t *len);
/* Reads the rest of the input (2 when it passes MAX_DOC); the unread text is buf[start..end). */
int acre_reader_all(reader *r);

/* 1 when s[0..n) is only white space (a blank NDJSON line). */
int acre_blank(const char *s, size_t n);

#endif
