#!/bin/sh
# tools/bench/events.sh [DIVISOR] [RUNS] — what qualification at ingest (SPEC 12, docs/events.md)
# costs: the benchmark operator's month (tools/gen.c, each count divided by DIVISOR, default 1:
# 200,000 customers, 2,000,000 transactions, 3,000,000 activity rows, with its plans) ingested by
# this build and by OLD_ACRE (a build without it), interleaved, and beside SQLite's own time for
#   SELECT customer_id, MIN(transaction_date) FROM txn GROUP BY customer_id
# (every customer's first transaction: the least a qualification reads) on the same store, in the
# same run. Prints a Markdown table for docs/PERFORMANCE.md. Needs build/ and GNU time.
set -eu
div=${1:-1}
runs=${2:-3}
cd "$(dirname "$0")/../.."
acre=$PWD/build/acre
gen=$PWD/build/acre-gen
old=${OLD_ACRE:?OLD_ACRE names an acre built without qualification at ingest}
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
"$gen" close "$work" "$div" >/dev/null

measure() { # measure COMMAND... -> "seconds maxrss_kib"
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
        cat "$work/stderr" >&2
        exit 1
    }
    cat "$work/time"
}
base() { # base ACRE DB: a store with the affiliates, plans, assignments and customers
    rm -f "$2"*
    "$1" --db "$2" ingest affiliates "$work/affiliates.ndjson" >/dev/null
    "$1" --db "$2" plan add "$work/plans.json" >/dev/null
    "$1" --db "$2" ingest assignments "$work/assignments.ndjson" >/dev/null
    "$1" --db "$2" ingest igaming/customers "$work/customers.ndjson" >/dev/null
}

echo "| run | old: transactions (s) | new: transactions (s) | new peak RSS (MiB) | old: activity (s) | new: activity (s) | events made | sqlite3 GROUP BY (s) |"
echo "|---|---|---|---|---|---|---|---|"
for r in $(seq 1 "$runs"); do
    base "$old" "$work/o.db"
    set -- $(measure "$old" --db "$work/o.db" ingest igaming/transactions "$work/transactions.ndjson")
    ot=$1
    set -- $(measure "$old" --db "$work/o.db" ingest igaming/gaming-activity "$work/activity.ndjson")
    oa=$1
    base "$acre" "$work/n.db"
    set -- $(measure "$acre" --db "$work/n.db" ingest igaming/transactions "$work/transactions.ndjson")
    nt=$1 nkb=$2
    set -- $(measure "$acre" --db "$work/n.db" ingest igaming/gaming-activity "$work/activity.ndjson")
    na=$1
    ev=$(sqlite3 "$work/n.db" "SELECT count(*) FROM event")
    set -- $(measure sqlite3 "$work/n.db" "SELECT customer_id, MIN(transaction_date) FROM txn GROUP BY customer_id")
    echo "| $r | $ot | $nt | $((nkb / 1024)) | $oa | $na | $ev | $1 |"
done
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); SQLite $(sqlite3 --version | cut -d' ' -f1)"
