#!/bin/sh
# tools/bench/pg.sh [DIVISOR] — the benchmark month (tools/gen.c's operator: 200,000 customers,
# 2,000,000 transactions, 3,000,000 activity rows, each divided by DIVISOR, default 10) ingested
# and closed on PostgreSQL beside SQLite, and beside PostgreSQL's own COPY of the same activity
# rows and GROUP BY of them, measured in one run (SPEC 13, issue 22; docs/PERFORMANCE.md,
# docs/SCALING.md). The cluster is a throwaway one (tests/pg_cluster.sh) with fsync on, as
# SQLite's synchronous=FULL. Run as root; needs build/ and Debian's postgresql.
set -eu
div=${1:-10}
cd "$(dirname "$0")/../.."
. tools/bench/pg_env.sh
"$gen" close . "$div" >/dev/null

measure() { # measure LABEL CMD...: prints "LABEL seconds peak-MiB"
    label=$1
    shift
    /usr/bin/time -f '%e %M' -o time.out "$@" >cmd.out 2>cmd.err || { cat cmd.err >&2; exit 1; }
    set -- $(cat time.out)
    echo "$label $1 $(($2 / 1024))"
}

run() { # run NAME DB: the operator's ingest and close on one store, each step timed
    db=$2
    "$acre" --db "$db" ingest affiliates affiliates.ndjson >/dev/null
    "$acre" --db "$db" plan add plans.json >/dev/null
    "$acre" --db "$db" ingest assignments assignments.ndjson >/dev/null
    "$acre" --db "$db" ingest igaming/customers customers.ndjson >/dev/null
    measure "$1-ingest-transactions" "$acre" --db "$db" ingest igaming/transactions transactions.ndjson
    measure "$1-ingest-activity" "$acre" --db "$db" ingest igaming/gaming-activity activity.ndjson
    measure "$1-close" "$acre" --db "$db" close 2026-03
    "$acre" --db "$db" ledger 2026-03 | sha256sum >"$1.ledger"
}

run sqlite s.db >results
run postgresql "$(db bench)" >>results
# PostgreSQL's own: the activity rows as CSV, COPY'd into a table with numeric money, then the
# close's aggregation as one GROUP BY
python3 -c '
import json, sys
for line in open("activity.ndjson"):
    r = json.loads(line, parse_float=str)
    print(",".join(str(r[k]) for k in ("date", "customer_id", "game_type", "currency",
                                        "bets_count", "total_bets", "wins")))' >activity.csv
ref=$(db reference)
psql -X -q "$ref" -c "CREATE TABLE activity(date date, customer_id text COLLATE \"C\",
    game_type text, currency text, bets_count bigint, total_bets numeric, wins numeric,
    PRIMARY KEY(customer_id, date, game_type, currency))"
measure postgresql-COPY-activity psql -X -q "$ref" -c "\\copy activity FROM 'activity.csv' CSV" >>results
measure postgresql-GROUP-BY psql -X -q "$ref" -c "SELECT customer_id, sum(total_bets - wins) FROM activity GROUP BY customer_id" >>results
measure sqlite-GROUP-BY sqlite3 s.db "SELECT customer_id, SUM(total_bets - wins) FROM gaming_activity GROUP BY customer_id" >>results

echo "| step | SQLite (s) | SQLite peak (MiB) | PostgreSQL (s) | PostgreSQL peak (MiB) |"
echo "|---|---|---|---|---|"
for step in ingest-transactions ingest-activity close; do
    set -- $(grep "^sqlite-$step " results) $(grep "^postgresql-$step " results)
    echo "| acre $step | $2 | $3 | $5 | $6 |"
done
set -- $(grep '^postgresql-COPY-activity ' results)
echo "| PostgreSQL's COPY of the activity rows | | | $2 | |"
set -- $(grep '^sqlite-GROUP-BY ' results) $(grep '^postgresql-GROUP-BY ' results)
echo "| GROUP BY customer of the activity rows | $2 | | $5 | |"
echo
echo "at 1/$div: $(wc -l <transactions.ndjson) transactions, $(wc -l <activity.ndjson) activity rows," \
     "$(wc -l <customers.ndjson) customers; the same ledger on both: $(cmp -s sqlite.ledger postgresql.ledger && echo yes || echo NO);" \
     "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
     "SQLite $(sqlite3 --version | cut -d' ' -f1), PostgreSQL $("$bin/postgres" --version | awk '{print $3}')"
