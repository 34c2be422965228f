#!/bin/sh
# tests/with_pg.sh CMD ARGS... — runs a test suite against PostgreSQL stores (SPEC 13): a
# throwaway cluster (tests/pg_cluster.sh), its URL in ACRE_TEST_PG (tests/cli.sh makes its
# databases there) and one new database in ACRE_TEST_STORE (tests/api.py's), stopped when the
# suite ends. Exits with the suite's status.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/check.sh"
scratch
. "$here/pg_cluster.sh"
ACRE_TEST_STORE=$(db suite)
ACRE_TEST_PG=$url
export ACRE_TEST_STORE ACRE_TEST_PG
"$@"
