#!/bin/sh
# tests/pg.sh ACRE ACRE_GEN FIXTURES — the PostgreSQL store (SPEC 13, issue 22;
# docs/store-backends.md) on a real PostgreSQL 15: a throwaway cluster made by Debian's initdb
# in a temporary folder, run by the unprivileged user postgres on a loopback port, stopped at
# the end.
# 1. Every fixture replayed into a database of its own: each closed ledger the fixture's
#    expected bytes (acre replay compares them), and the store audits clean.
# 2. The demo's activity in monthly partitions (gaming_activity_2026_01 .. _03).
# 3. Several processes on one database at once: the benchmark operator at 1/100 (20,000
#    transactions, 30,000 activity rows) ingested by four processes together, two files each,
#    the transactions sent a second time whole by one of them; then two closes of 2026-03 at
#    once: every record stored once, one close made (the other refused, exit 4, saying the month
#    is closed), one ledger, the same bytes as the same records closed in SQLite.
# 4. acre copy from SQLite to PostgreSQL and back: the same rows, for that store and a sample of
#    the fixtures' (every fourth); a copy into a store that is not new refused.
# 5. The schema: missing, foreign, older (and made before acre_schema), newer.
# 6. The database server restarted under `acre serve`: the next requests succeed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
gen=$(realpath "$2")
fixtures=$(realpath "$3")
. "$here/check.sh"
scratch
. "$here/pg_cluster.sh"

# 1. every fixture
n=0
for dir in "$fixtures"/*/; do
    [ -f "$dir/case.json" ] || continue
    name=$(basename "$dir")
    u=$(db "f_$(echo "$name" | tr '-' '_')")
    "$acre" replay "$dir" --into "$u" >out 2>err
    check "$name: replayed on PostgreSQL, every ledger the expected bytes" 0 $?
    "$acre" --db "$u" audit >audit.out 2>&1
    check "$name: audits clean" "0 1" "$? $(grep -c ' 0 problems$' audit.out)"
    n=$((n + 1))
done
check "fixtures replayed" 1 "$([ "$n" -ge 30 ] && echo 1)"

# 2. the demo's months
check "activity by month" "gaming_activity_2026_01
gaming_activity_2026_02
gaming_activity_2026_03" "$(psql -X -At "$url/f_demo" -c "SELECT tablename FROM pg_tables WHERE
    tablename LIKE 'gaming_activity_%' ORDER BY 1")"

# 3. several processes at once
u=$(db concurrent)
operator "$acre" "$gen" 100 "$u"
split -n l/4 -d transactions.ndjson tx.
split -n l/4 -d activity.ndjson ga.
for k in 0 1 2 3; do
    ( "$acre" --db "$u" ingest igaming/transactions tx.0$k >/dev/null || echo "tx $k $?"
      "$acre" --db "$u" ingest igaming/gaming-activity ga.0$k >/dev/null || echo "ga $k $?" ) \
        >r.$k 2>&1 &
done
( "$acre" --db "$u" ingest igaming/transactions transactions.ndjson --again >/dev/null ||
    echo "tx whole $?" ) >r.w 2>&1 &
wait
check "four ingesting processes and one more: all succeeded" "" "$(cat r.0 r.1 r.2 r.3 r.w)"
check "every transaction stored once" "$(wc -l <transactions.ndjson)" \
    "$(psql -X -At "$u" -c "SELECT count(DISTINCT transaction_id) FROM txn")"
check "... in one version each" "$(wc -l <transactions.ndjson)" \
    "$(psql -X -At "$u" -c "SELECT count(*) FROM txn")"
check "every activity row stored once" "$(wc -l <activity.ndjson)" \
    "$(psql -X -At "$u" -c "SELECT count(*) FROM gaming_activity")"
"$acre" --db "$u" close 2026-03 >c1 2>e1 &
p1=$!
"$acre" --db "$u" close 2026-03 >c2 2>e2 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
check "two closes at once: one made, one refused" "0 4" "$(echo "$r1 $r2" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
check "... saying the month is closed" 1 "$(cat e1 e2 | grep -c 'is not after the last closed period 2026-03')"
check "one ledger" 1 "$(psql -X -At "$u" -c "SELECT count(*) FROM close")"
# the same records closed in SQLite: the same bytes
operator "$acre" "$gen" 100 s.db
"$acre" --db s.db ingest igaming/transactions transactions.ndjson >/dev/null
"$acre" --db s.db ingest igaming/gaming-activity activity.ndjson >/dev/null
"$acre" --db s.db close 2026-03 >/dev/null
"$acre" --db s.db ledger 2026-03 >s.json
"$acre" --db "$u" ledger 2026-03 >p.json
check "a ledger of the month's 2,000 customers" 1 "$([ "$(wc -c <s.json)" -gt 50000 ] && echo 1)"
check "the ledger SQLite closes from the same records" "$(sha256sum <s.json)" "$(sha256sum <p.json)"

# 4. acre copy: SQLite to PostgreSQL to SQLite, every row of every table the same (sqlite3's
#    .dump of both files: each version of each record with its seq and batch, the batches with
#    their times, plans, closes with their ledgers and digests, the close's state, counters)
u=$(db copied)
"$acre" copy --from s.db --to "$u" >copy.out
check "copied into PostgreSQL" 0 $?
"$acre" copy --from "$u" --to back.db >/dev/null
check "copied back into SQLite" 0 $?
check "the round trip: the same rows in every table" "$(sqlite3 s.db .dump | sha256sum)" \
    "$(sqlite3 back.db .dump | sha256sum)"
check "... the 20,000 transactions among them" "$(wc -l <transactions.ndjson)" \
    "$(sqlite3 back.db 'SELECT count(*) FROM txn')"
"$acre" --db "$u" audit >audit.out 2>&1
check "the PostgreSQL copy audits clean" "0 1" "$? $(grep -c ' 0 problems$' audit.out)"
check "... its ledger the same bytes" "$(sha256sum <s.json)" "$("$acre" --db "$u" ledger 2026-03 | sha256sum)"
"$acre" copy --from back.db --to "$u" >/dev/null 2>err
check "a copy into a store that is not new: refused" 2 $?
check "... saying so" 1 "$(grep -c 'is not new (its table affiliate has rows)' err)"
# (the same rows counted when it is copied again)
check "... and the store left as it was" "$(cat copy.out)" "$("$acre" copy --from "$u" --to again.db)"
# the stores of a sample of the fixtures (every fourth, by name, and the demo), with every
# version their late and corrected files made: a sample, as the 1/100 store above has every
# table already and the suite's time is bounded
n=0 k=0
for dir in "$fixtures"/*/; do
    [ -f "$dir/case.json" ] || continue
    name=$(basename "$dir")
    k=$((k + 1))
    [ $((k % 4)) -eq 1 ] || [ "$name" = demo ] || continue
    rm -f f.db f-back.db
    "$acre" replay "$dir" --into f.db >/dev/null 2>&1
    u=$(db "c_$(echo "$name" | tr '-' '_')")
    "$acre" copy --from f.db --to "$u" >/dev/null && "$acre" copy --from "$u" --to f-back.db >/dev/null
    check "$name: copied there and back" 0 $?
    check "$name: the same rows" "$(sqlite3 f.db .dump | sha256sum)" "$(sqlite3 f-back.db .dump | sha256sum)"
    n=$((n + 1))
done
check "fixtures copied" 1 "$([ "$n" -ge 8 ] && echo 1)"

# 5. the schema: a database without it is a missing store, one with other tables refused, a
#    store of an older version (or one made before acre_schema) migrated, a newer one refused
u=$(db empty)
"$acre" --db "$u" ledger 2026-03 >/dev/null 2>err
check "an empty database: a missing store (exit 2)" "2 1" "$? $(grep -c 'no store in the database empty' err)"
check "... nothing made in it" 0 "$(psql -X -At "$u" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
u=$(db other_app)
psql -X -q "$u" -c "CREATE TABLE plan(x int)"
"$acre" --db "$u" ingest affiliates "$fixtures/demo/affiliates.ndjson" >/dev/null 2>err
check "a database with tables of its own: refused (exit 2)" "2 1" "$? $(grep -c 'is not an acre store' err)"
check "... left as it was" plan "$(psql -X -At "$u" -c "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'")"
want=$("$acre" --db "$url/f_demo" ledger 2026-03 | sha256sum)
psql -X -q "$url/postgres" -c "CREATE DATABASE legacy TEMPLATE f_demo" -c "CREATE DATABASE older TEMPLATE f_demo" \
    -c "CREATE DATABASE newer TEMPLATE f_demo"
psql -X -q "$url/legacy" -c "DROP TABLE acre_schema"
check "a store made before acre_schema: opened, the same ledger" "$want" "$("$acre" --db "$url/legacy" ledger 2026-03 | sha256sum)"
check "... its version written" 9 "$(psql -X -At "$url/legacy" -c "SELECT version FROM acre_schema")"
psql -X -q "$url/older" -c "DROP TABLE event" -c "UPDATE acre_schema SET version = 8"
"$acre" --db "$url/older" status >/dev/null
check "an older version missing a table: the table made, the version 9" "9 event" \
    "$(psql -X -At "$url/older" -c "SELECT version, to_regclass('event') FROM acre_schema" | tr '|' ' ')"
psql -X -q "$url/newer" -c "UPDATE acre_schema SET version = 10"
"$acre" --db "$url/newer" status >/dev/null 2>err
check "a newer version: refused (exit 4)" "4 1" "$? $(grep -c 'has schema version 10; this acre knows up to 9' err)"

# 6. the server restarted under a running `acre serve` (one request thread, so that its handle,
#    used before the restart, meets the dropped connection): its connections are made again (at
#    the next transaction's start, or for a read outside one), and the next requests succeed
u=$(db served)
cred=$("$acre" --db "$u" clients add restart --scope ingest read)
id=$(echo "$cred" | sed 's/.*"client_id":"\([^"]*\)".*/\1/')
secret=$(echo "$cred" | sed 's/.*"client_secret":"\([^"]*\)".*/\1/')
"$acre" --db "$u" serve --listen 127.0.0.1:0 --threads 1 --deliver-every 0 >serve.out 2>serve.err &
sp=$!
trap 'kill "$sp" 2>/dev/null; pg_stop; cd /; rm -rf "$work"' EXIT
for i in $(seq 300); do [ -s serve.out ] && break; sleep 0.1; done
[ -s serve.out ] || cat serve.err
base=http://$(sed 's/.*"listening":"\([^"]*\)".*/\1/' serve.out)
token() { curl -s --max-time 30 -u "$id:$secret" -d grant_type=client_credentials "$base/oauth/token" |
          sed -n 's/.*"access_token":"\([0-9a-f]*\)".*/\1/p'; }
post() { curl -s --max-time 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
         -H 'Content-Type: application/json' -d "[{\"affiliate_id\":\"$2\"}]" "$base/api/v1/affiliates"; }
t1=$(token)
check "before the restart: a token" 1 "$(echo "$t1" | grep -Ecx '[0-9a-f]{64}')"
check "... and a write" 200 "$(post "$t1" before)"
su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$work/pg/data' -l '$work/pg/log' -m fast -w restart" \
    >restart.out 2>&1
r=$?
check "the database server restarted" 0 $r
[ $r -eq 0 ] || cat restart.out "$work/pg/log"
t2=$(token)
check "after it: a new token (its client read, the token written)" "1 1" \
    "$(echo "$t2" | grep -Ecx '[0-9a-f]{64}') $([ "$t2" != "$t1" ] && echo 1)"
check "... the old token still good, and a write" 200 "$(post "$t1" after)"
check "... and a write with the new one" 200 "$(post "$t2" later)"
kill "$sp"
wait "$sp"
check "serve: exit 0 on SIGTERM" 0 $?
check "every write stored" "after before later" \
    "$(psql -X -At "$u" -c "SELECT string_agg(affiliate_id, ' ' ORDER BY affiliate_id) FROM affiliate")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
