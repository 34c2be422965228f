/* tools/replay.h — `acre replay DIR [--update] [--on-disk | --into STORE]`: run a fixture
 * (SPEC 7). */
#ifndef ACRE_TOOLS_REPLAY_H
#define ACRE_TOOLS_REPLAY_H

/* Returns the exit status: 0 every ledger equals its expected file, 1 a difference (printed),
 * 2 bad usage or a broken fixture, 4 a step failed unexpectedly. */
/* on_disk: replay into a temporary file store (removed after) instead of memory, so the close
 * takes the reader-thread path a real store takes. */
/* into: replay into a new store file at that path and keep it (to look at, audit or simulate). */
/* full_read: every close reads every record (acre_close_opts.full_read): the fixtures give the
 * same ledgers both ways (tests/CMakeLists.txt). */
#include "acre/store.h"

int acre_replay(const char *dir, int update, int on_disk, const char *into, int full_read,
                int usage_ok);

/* How replay opens its store: acre_store_open, or another backend's (tests/test_memstore.c). */
extern int (*acre_replay_open)(acre_store **s, const char *path, acre_error *err);

#endif
