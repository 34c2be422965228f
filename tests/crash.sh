#!/bin/sh
# tests/crash.sh ACRE ACRE_GEN [KILLS] [SEED] — SIGKILL in the middle of `acre ingest` and
# `acre close` (issue 5, docs/RELIABILITY.md). SPEC 8: an ingest file and a close are each one
# transaction, so a crash leaves all of it or none of it.
#
# The operator is the benchmark generator's at 1/20 scale (1,000 affiliates, 10,000 customers,
# 100,000 transactions, 150,000 activity rows in 2026-03). Each ingest attempt sends 20,000
# transactions whose IDs carry the attempt's own prefix and is killed after a delay drawn (from
# SEED) between 0 and 1.2 times an uninterrupted run's time; then the store must hold all 20,000
# of that attempt with its ingest_batch row, or none and no row, and every earlier file whole.
# Each close attempt runs on a fresh copy of the ingested store and is killed the same way; then
# 2026-03 is closed with its ledger, affiliates and settled customers, or nothing of it is,
# and the audit passes; a killed store is closed again to the same ledger as an unkilled one.
# Stops by itself after KILLS attempts of each (default 12).
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
gen=$(realpath "$2")
kills=${3:-12}
seed=${4:-20261121}
. "$here/check.sh"
scratch

operator "$acre" "$gen" 20 s.db
"$acre" --db s.db ingest igaming/gaming-activity activity.ndjson >/dev/null
head -n 20000 transactions.ndjson >part.ndjson

ms() { date +%s%3N; }
# delays: KILLS numbers from SEED, each a fraction of 1.2
awk -v n="$kills" -v seed="$seed" 'BEGIN { srand(seed); for (i = 0; i < 2 * n; i++) printf "%.3f\n", rand() * 1.2 }' >fractions

# kill_after SECONDS CMD...: runs CMD, SIGKILLs it after SECONDS unless it ended; prints
# "killed" or "done"
kill_after() {
    secs=$1
    shift
    "$@" >/dev/null 2>&1 &
    pid=$!
    sleep "$secs"
    if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        echo killed
    else
        wait "$pid" 2>/dev/null
        echo done
    fi
}

# --- ingest ---
sed 's/"transaction_id":"t_/"transaction_id":"base_/' part.ndjson >attempt.ndjson
t0=$(ms)
"$acre" --db s.db ingest igaming/transactions attempt.ndjson >/dev/null
full_ms=$(($(ms) - t0))
stored=20000 # transactions stored so far, all from whole files
ing_mid=0 ing_late=0 ing_done=0 # killed before the commit, killed after it, not killed
i=0
while [ "$i" -lt "$kills" ]; do
    i=$((i + 1))
    frac=$(sed -n "${i}p" fractions)
    secs=$(awk -v f="$frac" -v t="$full_ms" 'BEGIN { printf "%.3f", f * t / 1000 }')
    sed "s/\"transaction_id\":\"t_/\"transaction_id\":\"k${i}_/" part.ndjson >"k$i.ndjson"
    how=$(kill_after "$secs" "$acre" --db s.db ingest igaming/transactions "k$i.ndjson")
    n=$(sqlite3 s.db "SELECT count(*) FROM txn WHERE transaction_id LIKE 'k${i}\_%' ESCAPE '\\'")
    b=$(sqlite3 s.db "SELECT count(*) FROM ingest_batch WHERE source = 'k$i.ndjson'")
    case "$how $n $b" in
    "killed 20000 1") stored=$((stored + 20000)) ing_late=$((ing_late + 1)) ;;
    "done 20000 1") stored=$((stored + 20000)) ing_done=$((ing_done + 1)) ;;
    "killed 0 0") ing_mid=$((ing_mid + 1)) ;;
    *) check "ingest attempt $i ($how after ${secs}s): all or nothing" "20000 1 or 0 0" "$n $b" ;;
    esac
    check "ingest attempt $i: nothing earlier lost" "$stored" "$(sqlite3 s.db "SELECT count(*) FROM txn")"
done
check "ingest: the store is sound" ok "$(sqlite3 s.db "PRAGMA integrity_check")"

# --- close ---
sqlite3 s.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp s.db ref.db
"$acre" --db ref.db close 2026-03 >/dev/null
"$acre" --db ref.db ledger 2026-03 >ref.json
t0=$(ms)
cp s.db run.db
"$acre" --db run.db close 2026-03 >/dev/null
full_ms=$(($(ms) - t0))
cl_mid=0 cl_late=0 cl_done=0
i=0
while [ "$i" -lt "$kills" ]; do
    i=$((i + 1))
    frac=$(sed -n "$((kills + i))p" fractions)
    secs=$(awk -v f="$frac" -v t="$full_ms" 'BEGIN { printf "%.3f", f * t / 1000 }')
    rm -f run.db run.db-wal run.db-shm
    cp s.db run.db
    how=$(kill_after "$secs" "$acre" --db run.db close 2026-03)
    state=$(sqlite3 run.db "SELECT (SELECT count(*) FROM close), (SELECT count(*) FROM close_affiliate) > 0, (SELECT count(*) FROM settled) > 0")
    case "$how $state" in
    "killed 1|1|1") cl_late=$((cl_late + 1)) ;;
    "done 1|1|1") cl_done=$((cl_done + 1)) ;;
    "killed 0|0|0") cl_mid=$((cl_mid + 1)) ;;
    *) check "close attempt $i ($how after ${secs}s): all or nothing" "1|1|1 or 0|0|0" "$state" ;;
    esac
    "$acre" --db run.db audit >/dev/null
    check "close attempt $i: audit passes" 0 $?
    # finish what the kill interrupted: the same ledger as an uninterrupted close
    [ "$state" = "0|0|0" ] && "$acre" --db run.db close 2026-03 >/dev/null
    check "close attempt $i: the ledger of an uninterrupted close" "" \
        "$("$acre" --db run.db ledger 2026-03 | cmp - ref.json)"
done

echo "crash: ingest: $ing_mid killed before the commit (nothing stored), $ing_late killed after it (all stored), $ing_done ended first"
echo "crash: close: $cl_mid killed before the commit (nothing closed), $cl_late killed after it (all closed), $cl_done ended first"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
