#!/bin/sh
# tools/bench/compare.sh OLD_ACRE NEW_ACRE [RUNS] — two builds of acre side by side on the
# benchmark operator of tools/bench/close.sh (tools/gen.c, divisor 1): each ingests the six files
# into its own store (timed once), then `acre close 2026-03` runs RUNS times for each build,
# interleaved (old, new, old, new...) on fresh copies of each build's store (the same records,
# each in its build's schema), with SQLite's own
#   SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity GROUP BY customer_id
# after each pair as the reference; the two ledgers must be byte-identical. Each store's size is
# printed after the ingest. Last, one
# `acre simulate 2026-03` each (nothing replaced), whose outputs must be identical too.
# Interleaving is what makes the comparison fair on a shared machine: both builds meet the same
# load. BENCH_DIR keeps the generated files and stores between runs (SKIP_INGEST=1 reuses them;
# SKIP_SIM=1 leaves the simulation out). Needs GNU time and sqlite3.
set -eu
old=$(realpath "$1")
new=$(realpath "$2")
runs=${3:-3}
cd "$(dirname "$0")/../.."
gen=$PWD/build/acre-gen
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
W=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$W"
[ "${BENCH_DIR:-}" ] || trap 'rm -rf "$W"' EXIT
cd "$W"
[ -f affiliates.ndjson ] || "$gen" close "$W" 1
bin() { if [ "$1" = old ]; then echo "$old"; else echo "$new"; fi; }
if [ -z "${SKIP_INGEST:-}" ]; then
    for who in old new; do
        rm -f "$who".db*
        for step in "ingest affiliates affiliates.ndjson" "plan add plans.json" \
            "ingest assignments assignments.ndjson" "ingest igaming/customers customers.ndjson" \
            "ingest igaming/transactions transactions.ndjson" \
            "ingest igaming/gaming-activity activity.ndjson"; do
            # shellcheck disable=SC2086
            /usr/bin/time -f "$who $step: %e s, %M KB" "$(bin $who)" --db "$who.db" $step >/dev/null
        done
    done
fi
# each store's size, and its record tables' (SQLite's dbstat: the pages of each table and index)
for who in old new; do
    echo "store $who: $(sqlite3 "$who.db" 'SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()') bytes;" \
        "$(sqlite3 "$who.db" "SELECT group_concat(name || ' ' || n, ', ') FROM (SELECT name, SUM(pgsize) n FROM dbstat WHERE name IN ('txn', 'gaming_activity', 'customer', 'txn_date', 'txn_customer') GROUP BY name ORDER BY name)")"
done
q="SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity GROUP BY customer_id"
for r in $(seq 1 "$runs"); do
    for who in old new; do
        rm -f run.db*
        # each build its own store (the same records; a newer build's schema may be newer)
        sqlite3 "$who.db" ".backup run.db"
        /usr/bin/time -f "close $who run $r: %e s, CPU %U+%S s, %M KB" "$(bin $who)" --db run.db close 2026-03 >/dev/null
        "$(bin $who)" --db run.db ledger 2026-03 >"ledger-$who.json"
    done
    /usr/bin/time -f "sqlite3 GROUP BY run $r: %e s" sqlite3 run.db "$q" >/dev/null
done
cmp ledger-old.json ledger-new.json && echo "ledgers identical: $(wc -c <ledger-new.json) bytes"
[ "${SKIP_SIM:-}" ] && exit 0
for who in old new; do
    rm -f run.db*
    sqlite3 "$who.db" ".backup run.db"
    "$(bin $who)" --db run.db close 2026-03 >/dev/null
    /usr/bin/time -f "simulate $who: %e s, %M KB" "$(bin $who)" --db run.db simulate 2026-03 --format csv >"sim-$who.csv"
done
cmp sim-old.csv sim-new.csv && echo "simulations identical"
