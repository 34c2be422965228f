#!/bin/sh
# tools/bench/history_pg.sh [DIVISOR] [MONTHS] — the twelve-month history (tools/bench/history.sh's
# operator and months: 200,000 customers, each month 2,000,000 transactions and 3,000,000
# activity rows plus 1% late versions, every count divided by DIVISOR, default 100) ingested and
# closed month by month on SQLite and on PostgreSQL side by side, each month's close timed beside
# the database's own GROUP BY of that month's activity in the same store, and the two ledgers
# compared (SPEC 13, issue 22; docs/SCALING.md). PostgreSQL is a throwaway cluster
# (tests/pg_cluster.sh) with fsync on. Run as root; needs build/ and Debian's postgresql.
set -eu
div=${1:-100}
months=${2:-12}
cd "$(dirname "$0")/../.."
. tools/bench/pg_env.sh
pg=$(db history)
"$gen" close . "$div" >/dev/null
for s in s.db "$pg"; do
    "$acre" --db "$s" ingest affiliates affiliates.ndjson >/dev/null
    "$acre" --db "$s" plan add plans.json >/dev/null
    "$acre" --db "$s" ingest assignments assignments.ndjson >/dev/null
    "$acre" --db "$s" ingest igaming/customers customers.ndjson >/dev/null
done

wall() { # wall CMD...: its wall seconds
    /usr/bin/time -f '%e' -o time.out "$@" >/dev/null 2>cmd.err || { cat cmd.err >&2; exit 1; }
    cat time.out
}
ingest() { # ingest STORE MONTH: both files, wall seconds
    a=$(wall "$acre" --db "$1" ingest igaming/transactions "transactions-$2.ndjson")
    b=$(wall "$acre" --db "$1" ingest igaming/gaming-activity "activity-$2.ndjson")
    echo "$a + $b" | bc
}
ym() { m=$((2 + $1)); printf '%04d-%02d' $((2026 + m / 12)) $((m % 12 + 1)); }
echo "| month | SQLite ingest (s) | SQLite close (s) | SQLite GROUP BY (s) | PostgreSQL ingest (s) | PostgreSQL close (s) | PostgreSQL GROUP BY (s) | same ledger |"
echo "|---|---|---|---|---|---|---|---|"
for i in $(seq 0 $((months - 1))); do
    p=$(ym "$i")
    n=$(ym $((i + 1)))
    "$gen" month . "$div" "$p"
    si=$(ingest s.db "$p")
    pi=$(ingest "$pg" "$p")
    # --early: the later months are in the future of the clock that runs the benchmark
    sc=$(wall "$acre" --db s.db close "$p" --early)
    pc=$(wall "$acre" --db "$pg" close "$p" --early)
    sg=$(wall sqlite3 s.db "SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity WHERE date >= '$p-01' AND date < '$n-01' GROUP BY customer_id")
    # money is text in acre's PostgreSQL tables (the exact decimal written): numeric to sum
    pgq=$(wall psql -X -q "$pg" -c "SELECT customer_id, sum(total_bets::numeric - wins::numeric) FROM gaming_activity WHERE date >= '$p-01' AND date < '$n-01' GROUP BY customer_id")
    same=no
    [ "$("$acre" --db s.db ledger "$p" | sha256sum)" = "$("$acre" --db "$pg" ledger "$p" | sha256sum)" ] && same=yes
    rm -f "transactions-$p.ndjson" "activity-$p.ndjson"
    echo "| $p | $si | $sc | $sg | $pi | $pc | $pgq | $same |"
done
echo
echo "at 1/$div: stores SQLite $(($(stat -c %s s.db) / 1048576)) MiB, PostgreSQL" \
     "$(psql -X -At "$pg" -c "SELECT pg_database_size(current_database()) / 1048576") MiB;" \
     "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
     "SQLite $(sqlite3 --version | cut -d' ' -f1), PostgreSQL $("$bin/postgres" --version | awk '{print $3}')"
