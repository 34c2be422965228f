#!/bin/sh
# tests/concurrency.sh ACRE ACRE_GEN — several acre processes on one store at once (issue 5,
# docs/RELIABILITY.md). SQLite's write lock serialises them (each ingest file and each close is
# one BEGIN IMMEDIATE transaction, and a process waits up to 30 s for the lock), so every
# command must succeed or be refused with its own message, and afterwards nothing is lost or
# broken: every record of every file is stored, the audit passes, each ledger verifies.
# The data is the benchmark operator's generator at 1/50 scale: 1,000 affiliates, 4,000
# customers, 40,000 transactions and 60,000 activity rows in 2026-03, each file cut in four.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
gen=$(realpath "$2")
. "$here/check.sh"
scratch

operator "$acre" "$gen" 50 s.db
split -n l/4 -d transactions.ndjson tx.
split -n l/4 -d activity.ndjson ga.

# round 1: three writers at once, one of them sending the transactions a second time whole
( for f in tx.0*; do "$acre" --db s.db ingest igaming/transactions "$f" >/dev/null || echo "tx $f $?"; done ) >r1.a 2>&1 &
( for f in ga.0*; do "$acre" --db s.db ingest igaming/gaming-activity "$f" >/dev/null || echo "ga $f $?"; done ) >r1.b 2>&1 &
( "$acre" --db s.db ingest igaming/transactions transactions.ndjson >/dev/null || echo "tx whole $?" ) >r1.c 2>&1 &
wait
check "round 1: every ingest succeeded" "" "$(cat r1.a r1.b r1.c)"
check "every transaction stored once" "$(wc -l <transactions.ndjson)" \
    "$(sqlite3 s.db "SELECT count(*) FROM txn")"
check "every activity row stored once" "$(wc -l <activity.ndjson)" \
    "$(sqlite3 s.db "SELECT count(*) FROM gaming_activity")"

# round 2: the same month closed by two processes at once while a third ingests a later month's
# activity: one close wins, the other is refused (exit 4) saying the month is closed
sed 's/"2026-03-/"2026-04-/' ga.00 >april.ndjson
"$acre" --db s.db close 2026-03 >c1 2>e1 &
p1=$!
"$acre" --db s.db close 2026-03 >c2 2>e2 &
p2=$!
"$acre" --db s.db ingest igaming/gaming-activity april.ndjson >/dev/null 2>e3 &
p3=$!
wait $p1; r1=$?
wait $p2; r2=$?
wait $p3; r3=$?
check "round 2: one close succeeded, one was refused" "0 4" "$(printf '%s\n%s\n' $r1 $r2 | sort | tr '\n' ' ' | sed 's/ $//')"
check "round 2: the refusal says why" "acre: close: 2026-03 is not after the last closed period 2026-03: periods are closed in order and closed periods never change" \
    "$(cat e1 e2)"
check "round 2: the ingest beside them succeeded" "0" "$r3"
check "april's rows stored" "$(( $(wc -l <activity.ndjson) + $(wc -l <april.ndjson) ))" \
    "$(sqlite3 s.db "SELECT count(*) FROM gaming_activity")"

"$acre" --db s.db audit >out; check "audit after the concurrent runs" 0 $?
"$acre" --db s.db ledger 2026-03 >l.json
"$acre" verify l.json >/dev/null; check "the concurrent close's ledger verifies" 0 $?
# and it equals a close of the same records made alone
"$acre" --db s.db simulate 2026-03 --format csv >sim.csv 2>/dev/null
check "recomputed alone, 2026-03 is the same for every affiliate" "0" \
    "$(awk -F, 'NR > 1 && $6 != "0.00"' sim.csv | wc -l)"
check "recomputed alone: every affiliate compared" "$(wc -l <affiliates.ndjson)" "$(($(wc -l <sim.csv) - 1))"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
