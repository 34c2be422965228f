/* engine/reader.c — an input file (or buffer) read in chunks, hashed as it is read (internal). */
#include "reader.h"

#include <string.h>

#include "acre/error.h"
#include "alloc.h"

int acre_reader_fill(reader *r, size_t limit)
{
    size_t got;
    if (r->eof)
        return 0;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    /* a buffer's bytes are all there: room for what is left of them (a request body of 250
     * KiB is not given 2 MiB, which costs a fresh mapping and its page faults every time) */
    if (!r->in && r->mempos == r->memlen) {
        r->eof = 1;
        return 0;
    }
    size_t want = r->in || r->memlen - r->mempos > READ_CHUNK ? READ_CHUNK : r->memlen - r->mempos;
    if (r->cap - r->end < want) {
        size_t cap = r->cap ? r->cap * 2 : r->in ? 2 * READ_CHUNK : want;
        char *g;
        if (cap < r->end + want)
            cap = r->end + want;
        if (r->cap >= limit + READ_CHUNK)
            return 1; /* the caller's limit is passed */
        g = acre_realloc(r->buf, cap + 1);
        if (!g)
            return ACRE_ENOMEM;
        r->buf = g;
        r->cap = cap;
    }
    if (r->in) {
        got = fread(r->buf + r->end, 1, r->cap - r->end, r->in);
    } else {
        got = r->memlen - r->mempos < r->cap - r->end ? r->memlen - r->mempos : r->cap - r->end;
        if (got > 0)
            memcpy(r->buf + r->end, r->mem + r->mempos, got);
        r->mempos += got;
    }
    if (got > 0)
        EVP_DigestUpdate(r->sha, r->buf + r->end, got);
    r->end += got;
    if (got == 0) {
        r->eof = 1;
        r->ioerr = r->in && ferror(r->in);
    }
    return 0;
}

/* Next line (without its newline) in line and len; returns 1 at end of file, 0 for a line, 2 when
 * the line is longer than MAX_LINE, or a negative code. */
int acre_reader_line(reader *r, char **line, size_t *len)
{
    for (;;) {
        char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        if (nl) {
            *line = r->buf + r->start;
            *len = (size_t)(nl - *line);
            r->start += *len + 1;
            r->line++;
            return 0;
        }
        if (r->end - r->start > (size_t)MAX_LINE)
            return 2;
        if (r->eof) {
            if (r->start == r->end)
                return 1;
            *line = r->buf + r->start;
            *len = r->end - r->start;
            r->start = r->end;
            r->line++;
            return 0;
        }
        int rc = acre_reader_fill(r, MAX_LINE);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return 2;
    }
}

/* Reads the rest of the input; the whole unread text is then buf[start..end). */
int acre_reader_all(reader *r)
{
    while (!r->eof) {
        int rc = acre_reader_fill(r, MAX_DOC);
        if (rc)
            return rc < 0 ? rc : 2;
    }
    return 0;
}

int acre_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}
