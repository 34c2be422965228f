/* engine/spool.c — reading a pipe to its end before ingest takes the write lock.
 *
 * SQLite has one writer at a time, and an ingest is one write transaction. Reading stdin inside
 * that transaction let a slow producer ((sleep 40; cat f) | acre ingest ...) hold every other
 * writer until their busy timeout. The input that is not a regular file is therefore copied to
 * disk first (memory stays bounded), and the transaction reads the copy. */
#include "spool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

#define CHUNK (1 << 16)

int acre_spool(FILE *in, FILE **out, int *tmp, acre_error *err)
{
    struct stat st;
    const char *dir = getenv("TMPDIR");
    char *path = NULL, *buf = NULL;
    FILE *f = NULL;
    int fd = -1, rc = 0;
    size_t got;

    *out = in;
    *tmp = 0;
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
        return 0;
    if (!dir || !*dir)
        dir = "/tmp";
    if (!(path = acre_malloc(strlen(dir) + sizeof "/acre-spool-XXXXXX")) ||
        !(buf = acre_malloc(CHUNK))) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    strcpy(path, dir);
    strcat(path, "/acre-spool-XXXXXX");
    if ((fd = mkstemp(path)) < 0) { /* mkstemp creates it 0600 */
        rc = acre_error_set(err, ACRE_EIO, NULL, NULL,
                            "cannot make a temporary file in %s to read the input into: %s", dir,
                            strerror(errno));
        goto out;
    }
    unlink(path);
    if (!(f = fdopen(fd, "w+b"))) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    fd = -1;
    while ((got = fread(buf, 1, CHUNK, in)) > 0)
        if (fwrite(buf, 1, got, f) != got) {
            rc = acre_error_set(err, ACRE_EIO, NULL, NULL,
                                "writing the input to a temporary file in %s failed: %s", dir,
                                strerror(errno));
            goto out;
        }
    if (ferror(in)) {
        rc = acre_error_set(err, ACRE_EIO, NULL, NULL, "read error; nothing of it is stored");
        goto out;
    }
    if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = acre_error_set(err, ACRE_EIO, NULL, NULL,
                            "writing the input to a temporary file in %s failed: %s", dir,
                            strerror(errno));
        goto out;
    }
    *out = f;
    *tmp = 1;
    f = NULL;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    free(path);
    free(buf);
    return rc;
}
