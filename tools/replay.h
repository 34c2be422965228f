/* tools/replay.h — `acre replay DIR [--update]`: run a fixture (SPEC 7). */
#ifndef ACRE_TOOLS_REPLAY_H
#define ACRE_TOOLS_REPLAY_H

/* Returns the exit status: 0 every ledger equals its expected file, 1 a difference (printed),
 * 2 bad usage or a broken fixture, 4 a step failed unexpectedly. */
int acre_replay(const char *dir, int update, int usage_ok);

#endif
