#!/bin/sh
# tools/bench/history.sh [DIVISOR] [MONTHS] [ACRE] — closing months in order: does a close cost
# what its month costs, or what the whole history costs? The benchmark operator (tools/gen.c
# `close`: 1,000 affiliates, four hybrid plans, 200,000 customers, every count divided by
# DIVISOR, default 10) gets MONTHS months (default 12) from 2026-03 on, each 2,000,000/DIVISOR
# transactions and 3,000,000/DIVISOR activity rows plus late data (new versions of 1% of the
# previous month's activity: tools/gen.c `month`). Each month is ingested, then closed; the close
# is timed (CPU, wall, peak RSS) beside SQLite's own GROUP BY over that month's activity rows in
# the same store, measured right after it:
#   SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity
#   WHERE date >= 'YYYY-MM-01' AND date < 'next month' GROUP BY customer_id
# Prints a Markdown table for docs/PERFORMANCE.md. ACRE is the acre binary (default build/acre).
# BENCH_DIR keeps the files and the store. Needs build/ (tools/setup.sh demo), GNU time, sqlite3.
set -eu
div=${1:-10}
months=${2:-12}
cd "$(dirname "$0")/../.."
acre=$(realpath "${3:-build/acre}")
gen=$PWD/build/acre-gen
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
W=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$W"
[ "${BENCH_DIR:-}" ] || trap 'rm -rf "$W"' EXIT
db=$W/history.db
rm -f "$db"*
"$gen" close "$W" "$div"
"$acre" --db "$db" ingest affiliates "$W/affiliates.ndjson" >/dev/null
"$acre" --db "$db" plan add "$W/plans.json" >/dev/null
"$acre" --db "$db" ingest assignments "$W/assignments.ndjson" >/dev/null
"$acre" --db "$db" ingest igaming/customers "$W/customers.ndjson" >/dev/null

# month i (0-based) from 2026-03
ym() { m=$((2 + $1)); printf '%04d-%02d' $((2026 + m / 12)) $((m % 12 + 1)); }
echo "| month | close CPU (s) | close wall (s) | close peak RSS (MiB) | GROUP BY of the month (s) | CPU / month 1's |"
echo "|---|---|---|---|---|---|"
first=
for i in $(seq 0 $((months - 1))); do
    p=$(ym "$i")
    n=$(ym $((i + 1)))
    "$gen" month "$W" "$div" "$p"
    "$acre" --db "$db" ingest igaming/transactions "$W/transactions-$p.ndjson" >/dev/null
    "$acre" --db "$db" ingest igaming/gaming-activity "$W/activity-$p.ndjson" >/dev/null
    rm -f "$W/transactions-$p.ndjson" "$W/activity-$p.ndjson"
    # --early: the later months are in the future of the clock that runs the benchmark
    /usr/bin/time -f '%U %S %e %M' -o "$W/time" "$acre" --db "$db" close "$p" --early >/dev/null
    set -- $(cat "$W/time")
    cpu=$(echo "$1 + $2" | bc) wall=$3 rss=$(($4 / 1024))
    /usr/bin/time -f '%e' -o "$W/time" sqlite3 "$db" \
        "SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity WHERE date >= '$p-01' AND date < '$n-01' GROUP BY customer_id" >/dev/null
    sql=$(cat "$W/time")
    [ "$first" ] || first=$cpu
    echo "| $p | $cpu | $wall | $rss | $sql | $(printf "%.2f" "$(echo "scale=4; $cpu / $first" | bc)") |"
done
echo
echo "store: $(($(stat -c %s "$db") / 1048576)) MiB; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); SQLite $(sqlite3 --version | cut -d' ' -f1)"
