/* tests/memstore.h — an in-memory storage backend for the tests (tests/memstore.c). */
#ifndef ACRE_TESTS_MEMSTORE_H
#define ACRE_TESTS_MEMSTORE_H

#include "acre/store.h"
#include "acre/sys/store.h"

/* A new, empty store in memory. */
int memstore_backend(acre_store_backend **out, acre_error *err);
/* acre_store_open's shape, over memstore_backend (path is ignored). */
int memstore_open(acre_store **out, const char *path, acre_error *err);

#endif
