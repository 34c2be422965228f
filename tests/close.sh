#!/bin/sh
# tests/close.sh ACRE FIXTURES — the close as a user meets it.
# 1. Values the store keeps (balances, deficits, remembered amounts) are read back exactly, and one
#    that does not parse fails the close (exit 4), naming the table, the field and the row, with
#    the store as it was: it never becomes 0 (SPEC 9 "Late data"). A rule kind's state table
#    missing from the store is made again when acre opens it.
# 2. Revenue of an affiliate without a plan: one warning line per affiliate on stderr from close
#    and preview, the exit status unchanged (SPEC 10 "Unassigned revenue").
# 3. Every fixture's closes, made again at their own watermarks (audit --recompute), give the
#    same bytes: what a close reads (plans' newest versions, skipped months, exact state) does
#    not change with what arrived after it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$1
fixtures=$2
. "$here/check.sh"
scratch

# exact-stored-digits closes January (deficit -1000000000.000001) and February (paid, balance 0)
"$acre" replay "$fixtures/exact-stored-digits" --into s.db >/dev/null; check "replay" 0 $?
printf '{"date":"2026-03-15","customer_id":"c_1","game_type":"slots","currency":"EUR","ggr":"10"}\n' >mar.ndjson
"$acre" --db s.db ingest igaming/gaming-activity mar.ndjson >/dev/null; check "ingest march" 0 $?

damaged() { # damaged NAME SQL MESSAGE: the close refused, naming what is damaged; store unchanged
    cp s.db d.db
    sqlite3 d.db "$2"
    before=$(sqlite3 d.db .dump)
    "$acre" --db d.db close 2026-03 >/dev/null 2>err; check "$1: close exit" 4 $?
    check "$1: message" "$3" "$(cat err)"
    check "$1: store unchanged" "$before" "$(sqlite3 d.db .dump)"
    "$acre" --db d.db preview 2026-03 >/dev/null 2>err; check "$1: preview exit" 4 $?
    rm -f d.db d.db-wal d.db-shm
}
feb=$((2026 * 12 + 1))
damaged "balance" "UPDATE close_affiliate SET carried_forward='12,5' WHERE period=$feb" \
    "acre: close: the store is damaged: close_affiliate.carried_forward of affiliate aff_1 is 12,5, not an exact number"
damaged "balance 1/0" "UPDATE close_affiliate SET carried_forward='1/0' WHERE period=$feb" \
    "acre: close: the store is damaged: close_affiliate.carried_forward of affiliate aff_1 is 1/0, not an exact number"
damaged "layer" "INSERT INTO close_layer VALUES($feb,'aff_1','rs50-carry','rs50-carry@1',$feb,'-1e3')" \
    "acre: close: the store is damaged: close_layer.amount of affiliate aff_1, origin $feb is -1e3, not an exact number"

# a clean March close: 50% of 10 = 5.00, the February balance 0 read as 0
out=$("$acre" --db s.db ledger 2026-02 --format csv | grep -c 1000000000.00); check "february paid" 1 "$out"
# a rule kind's state table (carryover's close_layer) missing from a store is made again from
# its descriptor when acre opens the store, as schema_v2 wrote it, and the close stores layers
cp s.db l.db
layer_ddl=$(sqlite3 l.db ".schema close_layer")
sqlite3 l.db "DROP TABLE close_layer"
printf '{"date":"2026-03-15","customer_id":"c_1","game_type":"poker","currency":"EUR","ggr":"-100"}\n' >deficit.ndjson
"$acre" --db l.db ingest igaming/gaming-activity deficit.ndjson >/dev/null; check "no close_layer: ingest" 0 $?
check "no close_layer: made again, as before" "$layer_ddl" "$(sqlite3 l.db ".schema close_layer")"
"$acre" --db l.db close 2026-03 >/dev/null; check "no close_layer: close march" 0 $?
check "no close_layer: the layer stored" "24314|aff_1|24314|-90" \
    "$(sqlite3 l.db "SELECT period, affiliate_id, origin, amount FROM close_layer")"
"$acre" --db s.db close 2026-03 >/dev/null; check "close march" 0 $?

# exact-stored-fraction remembers the 01-10 GBP day at 1270/9 EUR (120 GBP x 127/108) after March
"$acre" replay "$fixtures/exact-stored-fraction" --into f.db >/dev/null; check "replay fraction" 0 $?
check "remembered exactly" "1270/9" "$(sqlite3 f.db "SELECT a FROM counted ORDER BY period DESC LIMIT 1")"
printf '{"date":"2026-01-10","customer_id":"c_2","game_type":"slots","currency":"GBP","ggr":"130"}\n' >apr.ndjson
"$acre" --db f.db ingest igaming/gaming-activity apr.ndjson >/dev/null; check "ingest april" 0 $?
cp f.db g.db
sqlite3 g.db "UPDATE counted SET a='1270/9x'"
"$acre" --db g.db close 2026-04 >/dev/null 2>err; check "counted: close exit" 4 $?
check "counted: message names the record" "acre: close: the store is damaged: counted.a of gaming_activity/2026-01-10/c_2/slots/GBP is 1270/9x, not an exact number" "$(cat err)"
cp f.db g.db
# (a key part is NOT NULL in acre's table: a hostile one made without the constraint)
sqlite3 g.db "CREATE TABLE c2(tbl TEXT, rkey TEXT, period INTEGER, seq INTEGER, a TEXT, b TEXT); INSERT INTO c2 SELECT tbl, NULL, period, seq, a, b FROM counted; DROP TABLE counted; ALTER TABLE c2 RENAME TO counted"
"$acre" --db g.db close 2026-04 >/dev/null 2>err; check "counted key not a text: close exit" 4 $?
check "counted key not a text: the message" "acre: close: the store is damaged: a counted row's rkey is not a text" "$(cat err)"
# undamaged: April counts 130 - 120 = 10 GBP = 635/54 EUR, 50% = 5.88
"$acre" --db f.db close 2026-04 >/dev/null; check "close april" 0 $?
check "april revshare" '"5.88"' "$("$acre" --db f.db ledger 2026-04 --affiliate aff_resent | grep -o '"amount":"[^"]*"' | head -n 1 | cut -d: -f2)"
# fixtures/unassigned-revenue: aff_orphan has no plan and 4 January records of 2 customers
warning="acre: close: warning: affiliate aff_orphan has 4 records of 2 customers in 2026-01 but no plan: nothing is paid on them"
u=$fixtures/unassigned-revenue
unassigned_store() { # unassigned_store DB: the fixture's records, nothing closed
    "$acre" --db "$1" ingest affiliates "$u/affiliates.ndjson" >/dev/null &&
        "$acre" --db "$1" plan add "$u/plans/plan.json" >/dev/null &&
        "$acre" --db "$1" ingest assignments "$u/assignments.ndjson" >/dev/null &&
        "$acre" --db "$1" ingest igaming/customers "$u/customers.ndjson" >/dev/null &&
        "$acre" --db "$1" ingest igaming/transactions "$u/transactions.ndjson" >/dev/null &&
        "$acre" --db "$1" ingest igaming/gaming-activity "$u/activity.ndjson" >/dev/null
}
unassigned_store v.db; check "unassigned store" 0 $?
"$acre" --db v.db preview 2026-01 --format summary >/dev/null 2>err; check "preview exit" 0 $?
check "preview warning" "$(echo "$warning" | sed 's/close:/preview:/')" "$(cat err)"
"$acre" --db v.db close 2026-01 >/dev/null 2>err; check "close exit" 0 $?
check "close warning" "$warning" "$(cat err)"
# the next month has no records of aff_orphan: no list, no warning
"$acre" --db v.db close 2026-02 >/dev/null 2>err; check "february: no warning" "" "$(cat err)"
check "february: no list" 0 "$("$acre" --db v.db ledger 2026-02 | grep -c unassigned)"

# 4. Bytes added after a ledger's digest (or its mac), which neither covers, are found by audit,
#    with and without the key.
head -c 48 /dev/zero | tr '\0' k >key
unassigned_store k.db
"$acre" --db k.db close 2026-01 --key-file key >/dev/null 2>&1; check "keyed close" 0 $?
"$acre" --db k.db audit --key-file key >/dev/null; check "keyed audit" 0 $?
sqlite3 k.db "UPDATE close SET ledger = substr(ledger, 1, length(ledger) - 2) || ',\"note\":\"paid in full\"}' || char(10)"
"$acre" --db k.db audit --key-file key >out; check "bytes after the mac: audit exit" 1 $?
check "bytes after the mac: named" 1 "$(grep -c 'does not end with its digest (and mac)' out)"
"$acre" --db k.db audit >out; check "bytes after the mac, no key: audit exit" 1 $?

for dir in "$fixtures"/*/; do
    name=$(basename "$dir")
    "$acre" replay "$dir" --into "r-$name.db" >/dev/null 2>&1
    "$acre" --db "r-$name.db" audit --recompute >out 2>&1
    check "$name: audit --recompute" "0 problems" "$(tail -n 1 out | sed 's/.*, //')"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
