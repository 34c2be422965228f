/* engine/spool.h — an input read to its end before the store's write lock is taken (internal). */
#ifndef ACRE_ENGINE_SPOOL_H
#define ACRE_ENGINE_SPOOL_H

#include <stdio.h>

#include "acre/error.h"

/* Sets *out to a stream holding what `in` holds, read from the start. A regular file is its own
 * spool (*out = in, *tmp = 0). Anything else (a pipe, a terminal, a socket) is copied to its end
 * into an anonymous temporary file (mode 0600 in $TMPDIR, else /tmp, unlinked at once), so a
 * slow producer never keeps the store locked: *tmp = 1 and the caller fcloses *out.
 * Returns 0, ACRE_EIO (a read or write failed, the temporary file could not be made) or
 * ACRE_ENOMEM. */
int acre_spool(FILE *in, FILE **out, int *tmp, acre_error *err);

#endif
