#!/bin/sh
# tools/bench/close.sh [DIVISOR] [RUNS] — `acre close` of the benchmark operator (tools/gen.c:
# 1,000 affiliates, 200,000 customers, 2,000,000 transactions, 3,000,000 activity rows in one
# month, each count divided by DIVISOR, default 1) beside SQLite's own time for
#   SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity GROUP BY customer_id
# over the same rows of the same store, measured in the same run. Prints a Markdown table for
# docs/PERFORMANCE.md. Needs build/ (tools/setup.sh demo) and GNU time for peak memory.
set -eu
div=${1:-1}
runs=${2:-3}
cd "$(dirname "$0")/../.."
acre=$PWD/build/acre
gen=$PWD/build/acre-gen
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

"$gen" close "$work" "$div"
db=$work/base.db
t0=$(date +%s)
"$acre" --db "$db" ingest affiliates "$work/affiliates.ndjson" >/dev/null
"$acre" --db "$db" plan add "$work/plans.json" >/dev/null
"$acre" --db "$db" ingest assignments "$work/assignments.ndjson" >/dev/null
"$acre" --db "$db" ingest igaming/customers "$work/customers.ndjson" >/dev/null
"$acre" --db "$db" ingest igaming/transactions "$work/transactions.ndjson" >/dev/null
"$acre" --db "$db" ingest igaming/gaming-activity "$work/activity.ndjson" >/dev/null
echo "ingest (not timed below): $(( $(date +%s) - t0 )) s" >&2

measure() {
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/stderr" || {
        cat "$work/stderr" >&2
        exit 1
    }
    cat "$work/time"
}

q="SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity GROUP BY customer_id"
echo "| run | acre close (s) | close peak RSS (MiB) | sqlite3 GROUP BY (s) | ratio |"
echo "|---|---|---|---|---|"
for r in $(seq 1 "$runs"); do
    rm -f "$work"/run.db*
    sqlite3 "$db" ".backup $work/run.db"
    set -- $(measure "$acre" --db "$work/run.db" close 2026-03)
    close_s=$1 close_kb=$2
    set -- $(measure sqlite3 "$work/run.db" "$q")
    sql_s=$1
    echo "| $r | $close_s | $((close_kb / 1024)) | $sql_s | $(echo "scale=2; $close_s / $sql_s" | bc) |"
done
"$acre" --db "$work/run.db" ledger 2026-03 >"$work/ledger.json"
echo
echo "ledger: $(wc -c <"$work/ledger.json") bytes, $(grep -c '"kind":"cpa"' "$work/ledger.json") cpa lines;" \
     "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); SQLite $(sqlite3 --version | cut -d' ' -f1)"
