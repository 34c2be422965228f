#!/bin/sh
# tools/bench/ingest.sh [ROWS] [RUNS] — acre's ingest of ROWS gaming-activity records (default
# 1,000,000) beside SQLite's own `.import` of the same rows as CSV into the same table of the same
# schema, in the same run. Prints a Markdown table for docs/PERFORMANCE.md. Needs a built tree in
# build/ (tools/setup.sh demo) and GNU time (Debian package `time`) for peak memory. OLD_ACRE=path
# adds another build's ingest of the same file to each run, before this one's (interleaved, so
# both meet the same load).
set -eu
rows=${1:-1000000}
runs=${2:-3}
cd "$(dirname "$0")/../.."
acre=$PWD/build/acre
gen=$PWD/build/acre-gen
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null; }
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

"$gen" activity "$rows" "$work"
ndjson_mb=$(du -m "$work/activity.ndjson" | cut -f1)
csv_mb=$(du -m "$work/activity.csv" | cut -f1)

# measure LABEL COMMAND... -> "seconds maxrss_kib"
measure() {
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
        cat "$work/stderr" >&2
        exit 1
    }
    cat "$work/time"
}

if [ "${OLD_ACRE:-}" ]; then
    echo "| run | old acre ingest (s) | acre ingest (s) | acre peak RSS (MiB) | sqlite3 .import (s) | .import peak RSS (MiB) | ratio |"
    echo "|---|---|---|---|---|---|---|"
else
    echo "| run | acre ingest (s) | acre peak RSS (MiB) | sqlite3 .import (s) | .import peak RSS (MiB) | ratio |"
    echo "|---|---|---|---|---|---|"
fi
for r in $(seq 1 "$runs"); do
    old_s=
    if [ "${OLD_ACRE:-}" ]; then
        rm -f "$work"/o.db*
        "$OLD_ACRE" --db "$work/o.db" ingest affiliates "$work/affiliates.ndjson" >/dev/null
        "$OLD_ACRE" --db "$work/o.db" ingest igaming/customers "$work/customers.ndjson" >/dev/null
        set -- $(measure "$OLD_ACRE" --db "$work/o.db" ingest igaming/gaming-activity "$work/activity.ndjson")
        old_s="$1 | "
    fi
    # acre: a fresh store with the affiliates and customers the rows reference (not timed)
    rm -f "$work"/a.db*
    "$acre" --db "$work/a.db" ingest affiliates "$work/affiliates.ndjson" >/dev/null
    "$acre" --db "$work/a.db" ingest igaming/customers "$work/customers.ndjson" >/dev/null
    set -- $(measure "$acre" --db "$work/a.db" ingest igaming/gaming-activity "$work/activity.ndjson")
    acre_s=$1 acre_kb=$2
    # sqlite: the same schema (made by acre), the same rows as CSV, one .import
    rm -f "$work"/s.db*
    "$acre" --db "$work/s.db" ingest affiliates </dev/null >/dev/null # makes the schema: status no longer creates a store
    set -- $(measure sqlite3 "$work/s.db" ".import --csv $work/activity.csv gaming_activity")
    sql_s=$1 sql_kb=$2
    n=$(sqlite3 "$work/s.db" 'SELECT count(*) FROM gaming_activity')
    m=$(sqlite3 "$work/a.db" 'SELECT count(*) FROM gaming_activity')
    [ "$n" = "$rows" ] && [ "$m" = "$rows" ] || { echo "row counts differ: acre $m, sqlite $n" >&2; exit 1; }
    echo "| $r | $old_s$acre_s | $((acre_kb / 1024)) | $sql_s | $((sql_kb / 1024)) | $(printf "%.2f" "$(echo "scale=4; $acre_s / $sql_s" | bc)") |"
done
echo
echo "rows: $rows; NDJSON $ndjson_mb MB, CSV $csv_mb MB; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); SQLite $(sqlite3 --version | cut -d' ' -f1)"
