#!/bin/sh
# tools/bench/pg_profile.sh [DIVISOR] — where PostgreSQL's time goes in the benchmark month
# (tools/gen.c's operator at 1/DIVISOR, default 100): each step's wall, user and system seconds,
# then its statements from pg_stat_statements (calls, planning and execution milliseconds on the
# server, rows), most costly first. What the server does not spend of a step's wall time is
# round trips and acre's own work (docs/PERFORMANCE.md "PostgreSQL"). Run as root; needs build/
# and Debian's postgresql. PG_OPTS adds server settings (PG_OPTS="-c shared_buffers=4GB").
set -eu
div=${1:-100}
cd "$(dirname "$0")/../.."
PG_OPTS="${PG_OPTS:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on -c pg_stat_statements.max=1000"
. tools/bench/pg_env.sh
u=$(db profile)
psql -X -q "$u" -c "CREATE EXTENSION pg_stat_statements"
"$gen" close . "$div" >/dev/null
"$acre" --db "$u" ingest affiliates affiliates.ndjson >/dev/null
"$acre" --db "$u" plan add plans.json >/dev/null
"$acre" --db "$u" ingest assignments assignments.ndjson >/dev/null
"$acre" --db "$u" ingest igaming/customers customers.ndjson >/dev/null

step() { # step LABEL CMD...: the step timed, then its statements
    label=$1
    shift
    psql -X -q "$u" -c "SELECT pg_stat_statements_reset()" >/dev/null
    /usr/bin/time -f "$label: %e s wall, %U s user, %S s system" "$@" >/dev/null
    psql -X -q "$u" -c "SELECT calls, round(total_plan_time::numeric) AS plan_ms,
        round(total_exec_time::numeric) AS exec_ms, rows,
        left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
        FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
        ORDER BY total_plan_time + total_exec_time DESC LIMIT 12"
}
step "ingest of $(wc -l <transactions.ndjson) transactions" "$acre" --db "$u" ingest igaming/transactions transactions.ndjson
step "ingest of $(wc -l <activity.ndjson) activity rows" "$acre" --db "$u" ingest igaming/gaming-activity activity.ndjson
step "close 2026-03" "$acre" --db "$u" close 2026-03
