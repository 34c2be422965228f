#!/bin/sh
# tests/with_pg.sh CMD ARGS... — runs a test suite against a PostgreSQL store (SPEC 13): a
# throwaway cluster (tests/pg_cluster.sh) with one new database, named to the suite by
# ACRE_TEST_STORE (tests/api.py and tests/cli.sh read it), stopped when the suite ends. Exits
# with the suite's status.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/check.sh"
scratch
. "$here/pg_cluster.sh"
ACRE_TEST_STORE=$(db suite)
export ACRE_TEST_STORE
"$@"
