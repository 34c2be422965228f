#!/bin/bash
# tests/oom.sh ACRE FIXTURES [STEP] [MODES] [COMMANDS] — out of memory is an error, never a crash or a
# half-written store (issue 5, docs/RELIABILITY.md).
#
# The store is the demo operator's (fixtures/demo) with January closed and February's records
# ingested except its igaming transactions. Each command below first runs with the
# failing-allocator switch counting only (ACRE_FAIL_ALLOC=0), which gives N, the allocations
# acre, SQLite and jansson make for it, and the output and store of a run with nothing failed.
# Then it runs again with allocation n failed, for n = 1, 1 + STEP, ... up to N (STEP 1: every
# allocation), on a fresh copy of the store, once per MODE ("" the nth allocation alone,
# ",repeat" every allocation from the nth on). Every run must
#   - end by itself: exit 0, or exit 4 saying "out of memory", never a signal;
#   - leave the store as it was (exit 4) or as the run with nothing failed left it (exit 0),
#     compared as the sqlite3 shell dumps it;
#   - when it exits 0, print what the run with nothing failed printed.
# COMMANDS names the sweeps to run (default "ledger"; "all" for every one): ingest close plan
# preview ledger hledger (ledger --format hledger) summary (ledger --format summary) payouts
# (payouts --format json) payouts-csv statement audit verify simulate status.
# jansson 2.14's lexer crashes when the growth of its token buffer fails (akheron/jansson#362;
# acre/sys/alloc.h), so those growths are spared (",spare-lexer"); SPARE= (empty) fails them too.
# With KEEP=DIR set, the stores (base.db) and the last run's files are left in DIR, to replay a
# failure by hand: cp DIR/base.db x.db; ACRE_FAIL_ALLOC=N,spare-lexer acre --db x.db ...
# GMP's allocations are not failed here: GMP aborts on a failed allocation (acre/sys/alloc.h); the
# last part fails a few of them (",gmp") and checks only that the store is left whole.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
demo=$(realpath "$2")/demo
step=${3:-1}
modes=${4:-", ,repeat"}
only=" ${5:-ledger} "
spare=${SPARE-,spare-lexer}
. "$here/check.sh"
if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP" && cd "$KEEP" || exit 1
else
    scratch
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 # leaks on a failure path are not the point

ingest() { "$acre" --db base.db ingest "$1" "$demo/$2" >/dev/null 2>&1; }
"$acre" --db base.db plan add "$demo"/plans/*.json >/dev/null
ingest affiliates affiliates.ndjson
ingest assignments assignments.ndjson
ingest fx-rates fx-rates.ndjson
ingest igaming/customers igaming-customers.ndjson
ingest prop-trading/customers prop-customers.ndjson
ingest igaming/transactions jan-igaming-transactions.ndjson
ingest igaming/transactions jan-mistakes.ndjson
ingest prop-trading/transactions jan-prop-transactions.json
ingest igaming/gaming-activity jan-gaming-activity.ndjson
ingest prop-trading/trading-activity jan-trading-activity.ndjson
ingest bonus-events jan-bonus-events.ndjson
ingest flags jan-flags.ndjson
"$acre" --db base.db close 2026-01 >/dev/null
ingest igaming/transactions feb-late-reversal.ndjson
ingest prop-trading/transactions feb-prop-transactions.json
ingest igaming/gaming-activity feb-gaming-activity.ndjson
"$acre" --db base.db ledger 2026-01 >jan.json
check "the base store closed January" 0 $?

# the store's content but the clock's readings: the time each batch was stored (ingest_batch's
# last column) and when each event was made and is due (two runs a second apart differ there)
dump() { sqlite3 "$1" .dump | sed -E "s/,'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'\);$/,'T');/; /^INSERT INTO (event|affiliate_secret) /s/,1[0-9]{9}(,|\))/,T\1/g" | sha256sum; }
base=$(dump base.db)
runs=0

# sweep NAME ARGS...: one command, every STEPth allocation failed, if NAME is in COMMANDS
sweep() {
    local n total want_out want_store got rc mode
    case "$only" in *" $1 "* | " all ") ;; *) return ;; esac
    shift
    cp base.db run.db # the same name as the runs below: status prints it
    rm -f run.db-wal run.db-shm
    ACRE_FAIL_ALLOC=0$spare "$acre" --db run.db "$@" >want.out 2>count.err
    rc=$?
    total=$(sed -n 's/.*: \([0-9]*\) allocations counted$/\1/p' count.err)
    check "$* runs with nothing failed" 0 "$rc"
    want_store=$(dump run.db)
    for mode in $modes; do
        [ "$mode" = , ] && mode=
        for ((n = 1; n <= total; n += step)); do
            cp base.db run.db
            rm -f run.db-wal run.db-shm
            (ACRE_FAIL_ALLOC=$n$mode$spare "$acre" --db run.db "$@" >run.out 2>run.err) 2>/dev/null
            rc=$?
            runs=$((runs + 1))
            got=$(dump run.db)
            if [ "$rc" = 0 ]; then
                check "$* with allocation $n$mode failed: the store of a run with nothing failed" \
                    "$want_store" "$got"
                check "$* with allocation $n$mode failed: the output of a run with nothing failed" \
                    "$(sha256sum <want.out)" "$(sha256sum <run.out)"
            else
                check "$* with allocation $n$mode failed: exit 4, out of memory" \
                    "4 yes" "$rc $(grep -q 'out of memory' run.err && echo yes || head -c 300 run.err)"
                check "$* with allocation $n$mode failed: the store as it was" "$base" "$got"
            fi
        done
    done
    echo "$*: $total allocations counted"
}

sweep ingest ingest igaming/transactions "$demo/feb-igaming-transactions.ndjson"
sweep close close 2026-02
sweep plan plan add "$demo/plans/sports-hybrid.json"
sweep preview preview 2026-02
sweep ledger ledger 2026-01
sweep hledger ledger 2026-01 --format hledger
sweep summary ledger 2026-01 --format summary
sweep payouts payouts 2026-01 --format json
sweep payouts-csv payouts 2026-01
sweep statement statement 2026-01 --affiliate aff_nordic
sweep audit audit
sweep verify verify jan.json
sweep simulate simulate 2026-01 --plan "$demo/plans/casino-revshare.json"
sweep status status

# GMP: a failed allocation aborts the process (SIGABRT, exit 134); the store stays whole
cp base.db clean.db
"$acre" --db clean.db close 2026-02 >/dev/null
closed=$(dump clean.db)
for n in 1 50 200 1000 3000; do
    cp base.db run.db
    rm -f run.db-wal run.db-shm
    (ACRE_FAIL_ALLOC=$n,gmp$spare "$acre" --db run.db close 2026-02 >/dev/null 2>&1) 2>/dev/null
    rc=$?
    runs=$((runs + 1))
    got=$(dump run.db)
    if [ "$rc" = 0 ]; then
        check "close with GMP allocation $n failed: nothing failed, all closed" "$closed" "$got"
    else
        check "close with GMP allocation $n failed: aborted or out of memory, the store whole" \
            "$base" "$(echo "$rc" | grep -qx '134\|4' && echo "$got")"
    fi
done

echo "$runs runs; $pass passed, $fail failed"
[ "$fail" -eq 0 ]
