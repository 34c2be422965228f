#!/bin/sh
# tests/cli.sh ACRE FIXTURES — the acre program as a user runs it: exit codes, stdin, option
# order, --rejects, --atomic, several files. Each expected summary is counted from the records
# written inline below.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
. "$here/check.sh"

# The stores: SQLite files NAME.db, or with ACRE_TEST_PG (a throwaway cluster's URL, set by
# tests/with_pg.sh) PostgreSQL databases NAME on it (SPEC 13: the same commands, the same bytes).
# st NAME: the store's --db (a database is made empty when missing: a missing store to acre);
# q NAME SQL: a query on it; dump NAME: all it holds, to compare; cp_store FROM TO.
st() {
    if [ -n "${ACRE_TEST_PG:-}" ]; then
        psql -X -q "$ACRE_TEST_PG/postgres" -c "CREATE DATABASE \"$1\"" >/dev/null 2>&1
        echo "$ACRE_TEST_PG/$1"
    else
        echo "$1.db"
    fi
}
q() {
    if [ -n "${ACRE_TEST_PG:-}" ]; then psql -X -q -At "$ACRE_TEST_PG/$1" -c "$2"; else sqlite3 "$1.db" "$2"; fi
}
dump() {
    # (without pg_dump's \restrict and \unrestrict lines: a new random key each dump)
    if [ -n "${ACRE_TEST_PG:-}" ]; then pg_dump --data-only "$ACRE_TEST_PG/$1" | grep -v '^\\\(un\)\{0,1\}restrict '; else sqlite3 "$1.db" .dump; fi
}
cp_store() {
    if [ -n "${ACRE_TEST_PG:-}" ]; then
        psql -X -q "$ACRE_TEST_PG/postgres" -c "DROP DATABASE IF EXISTS \"$2\"" -c "CREATE DATABASE \"$2\" TEMPLATE \"$1\"" >/dev/null 2>&1
    else
        cp "$1.db" "$2.db"
    fi
}

printf '{"affiliate_id":"a1"}\n{"affiliate_id":"a2","currency":"EUR"}\n' >aff.ndjson
printf '{"customer_id":"c1","signup_date":"2026-01-05T10:00:00Z","affiliate_id":"a1","tracking_data":"t"}\n' >cust.ndjson
good='{"transaction_id":"t1","customer_id":"c1","transaction_type":"deposit","amount_currency":20,"currency":"EUR","transaction_date":"2026-01-06T12:00:00Z","status":"approved"}'
bad='{"transaction_id":"t2","customer_id":"c1","transaction_type":"deposit","amount_currency":1234567890.123456,"currency":"EUR","transaction_date":"2026-01-06T12:00:00Z","status":"approved"}'
printf '%s\n%s\n' "$good" "$bad" >mixed.ndjson

# usage errors: exit 2, nothing created beyond an empty store
"$acre" --db "$(st s)" 2>/dev/null; check "no command" 2 $?
"$acre" --db "$(st s)" ingest 2>/dev/null; check "no kind" 2 $?
"$acre" --db "$(st s)" ingest players aff.ndjson 2>/dev/null; check "unknown kind" 2 $?
"$acre" --db "$(st s)" frobnicate 2>/dev/null; check "unknown command" 2 $?
"$acre" --db "$(st s)" ingest affiliates --bogus aff.ndjson 2>/dev/null; check "unknown option" 2 $?
"$acre" --db "$(st s)" ingest affiliates aff.ndjson missing.ndjson 2>err; check "missing file" 2 $?
check "missing file message" "acre: ingest: cannot open missing.ndjson" "$(cat err)"
# the good first file was not stored either: every file is opened before anything is stored
out=$("$acre" --db "$(st s)" ingest affiliates aff.ndjson)
check "nothing stored by the refused command" '{"kind":"affiliates","received":2,"inserted":2,"updated":0,"unchanged":0,"rejected":0}' "$out"

# options after positionals; the store from $ACRE_DB
out=$(ACRE_DB="$(st s)" "$acre" ingest igaming/customers cust.ndjson); check "ACRE_DB" 0 $?
check "customers" '{"kind":"igaming/customers","received":1,"inserted":1,"updated":0,"unchanged":0,"rejected":0}' "$out"

# stdin, with - and with no file
out=$(printf '%s\n' "$good" | "$acre" ingest igaming/transactions - --db "$(st s)"); check "stdin exit" 0 $?
check "stdin" '{"kind":"igaming/transactions","received":1,"inserted":1,"updated":0,"unchanged":0,"rejected":0}' "$out"
out=$(printf '%s\n' "$good" | "$acre" ingest igaming/transactions --db "$(st s)" --again)
check "stdin again: unchanged" '{"kind":"igaming/transactions","received":1,"inserted":0,"updated":0,"unchanged":1,"rejected":0}' "$out"

# a mixed file: exit 3, the good record stored, one reject line naming file, index, field, rule
out=$("$acre" --db "$(st m)" ingest affiliates aff.ndjson && "$acre" --db "$(st m)" ingest igaming/customers cust.ndjson >/dev/null &&
      "$acre" --db "$(st m)" ingest igaming/transactions mixed.ndjson --rejects rej.ndjson)
check "mixed exit" 3 $?
check "mixed summary" '{"kind":"igaming/transactions","received":2,"inserted":1,"updated":0,"unchanged":0,"rejected":1}' "$(echo "$out" | tail -n 1)"
check "reject line" "{\"file\":\"mixed.ndjson\",\"index\":1,\"line\":2,\"record\":$bad,\"errors\":[{\"field\":\"amount_currency\",\"rule\":\"max_significant_digits\",\"message\":\"amount_currency: 16 significant digits (max 15): 1234567890.123456\"}]}" "$(cat rej.ndjson)"
# --explain: the same, for a person
"$acre" --db "$(st m)" ingest igaming/transactions mixed.ndjson --explain --again 2>err >/dev/null
check "explain" "mixed.ndjson record 1: amount_currency: 16 significant digits (max 15): 1234567890.123456" "$(cat err)"

# --atomic: the whole file refused, exit 3, the store as it was
"$acre" --db "$(st a)" ingest affiliates aff.ndjson >/dev/null && "$acre" --db "$(st a)" ingest igaming/customers cust.ndjson >/dev/null
before=$(dump a)
out=$("$acre" --db "$(st a)" ingest --atomic igaming/transactions mixed.ndjson 2>err); check "atomic exit" 3 $?
check "atomic summary" '{"kind":"igaming/transactions","received":2,"inserted":0,"updated":0,"unchanged":0,"rejected":2}' "$out"
check "atomic store unchanged" "$before" "$(dump a)"
check "atomic message" "acre: mixed.ndjson: 1 of 2 records are invalid; with --atomic the file is refused and nothing of it is stored" "$(grep '^acre:' err)"

# a truncated file: refused whole with the line named, store unchanged. The cut line
# {"transaction_id":"t3","custo is 29 characters; the input ends at column 29.
printf '%s\n{"transaction_id":"t3","custo' "$good" >trunc.ndjson
"$acre" --db "$(st a)" ingest igaming/transactions trunc.ndjson --rejects /dev/null 2>err >/dev/null; check "truncated exit" 3 $?
check "truncated message" "acre: trunc.ndjson: line 2, column 29: invalid JSON: premature end of input near '\"custo'; the file is refused and nothing of it is stored" "$(cat err)"
check "truncated store unchanged" "$before" "$(dump a)"
# --rejects naming what is not a regular file keeps its mode (as root, /dev/null was made 0600,
# and every other user's writes to it failed): a pipe of mode 0644 stays 0644
mkfifo rej.fifo && chmod 644 rej.fifo
cat rej.fifo >/dev/null &
reader=$!
"$acre" --db "$(st m)" ingest igaming/transactions mixed.ndjson --again --rejects rej.fifo 2>/dev/null >/dev/null
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
check "--rejects into a pipe: its mode kept" 644 "$(stat -c %a rej.fifo)"
# a binary file
printf '\000\001\002\377' >bin.dat
"$acre" --db "$(st a)" ingest igaming/transactions bin.dat --rejects /dev/null 2>err >/dev/null; check "binary exit" 3 $?
check "binary store unchanged" "$before" "$(dump a)"

# several files: one summary line for all, each file its own transaction
printf '{"date":"2026-01-31","currency":"EUR","usd_rate":1.08}\n' >fx1.ndjson
printf '[{"date":"2026-01-31","currency":"GBP","usd_rate":1.27},{"date":"2026-01-31","currency":"EUR","usd_rate":"1.080"}]' >fx2.json
out=$("$acre" --db "$(st f)" ingest fx-rates fx1.ndjson fx2.json)
check "two files" '{"kind":"fx-rates","received":3,"inserted":2,"updated":0,"unchanged":1,"rejected":0}' "$out"
check "two batches" 2 "$(q f 'SELECT count(*) FROM ingest_batch')"

# the status command lists every kind
"$acre" --db "$(st f)" status >out; check "status exit" 0 $?
check "status fx" "  fx-rates                               2         2" "$(grep '^  fx-rates' out)"

# a --db that is not a store: exit 4, the file named, the file untouched
if [ -z "${ACRE_TEST_PG:-}" ]; then
    echo hello >notdb.txt
    "$acre" --db notdb.txt ingest affiliates aff.ndjson 2>err >/dev/null; check "not a store exit" 4 $?
    check "not a store message" "acre: opening the store notdb.txt: file is not a database" "$(cat err)"
    check "not a store untouched" "hello" "$(cat notdb.txt)"
else
    # a database with tables of its own: refused (exit 2), left as it was
    st other >/dev/null
    q other "CREATE TABLE plan(x int)"
    "$acre" --db "$(st other)" ingest affiliates aff.ndjson 2>err >/dev/null; check "not a store exit" 2 $?
    check "not a store message" "acre: the database other is not an acre store (it has tables and no acre schema); acre leaves it as it is: name an acre store, or a new database, with --db" "$(cat err)"
    check "not a store untouched" "plan" "$(q other "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'")"
fi

# plans: refused whole with the key named (exit 3), immutable, unchanged when equal
printf '[{"plan_id":"p","version":1,"currency":"USD","revshare":{"rate":"25%%"}},\n {"plan_id":"q","version":1,"currency":"USD","cpa":{"amount":"10","bonus":1}}]\n' >bad-plans.json
"$acre" --db "$(st p)" plan add bad-plans.json 2>err >/dev/null; check "plan refused exit" 3 $?
check "plan refused message" "acre: bad-plans.json plan 1: cpa.bonus: unknown key" "$(cat err)"
check "nothing of a refused plan file" "" "$("$acre" --db "$(st p)" plan list)"
printf '{"plan_id":"p","version":1,"currency":"USD","revshare":{"rate":"25%%"}}\n' >p1.json
printf '{"revshare":{"rate":"25%%"},"currency":"USD","version":1,"plan_id":"p"}\n' >p1-again.json
printf '{"plan_id":"p","version":1,"currency":"USD","revshare":{"rate":"30%%"}}\n' >p1-changed.json
check "plan add" '{"file":"p1.json","added":1,"unchanged":0}' "$("$acre" --db "$(st p)" plan add p1.json)"
check "same plan, keys reordered" '{"file":"p1-again.json","added":0,"unchanged":1}' "$("$acre" --db "$(st p)" plan add p1-again.json)"
"$acre" --db "$(st p)" plan add p1-changed.json 2>/dev/null >/dev/null; check "plan immutable" 3 $?
check "plan show" '{"currency":"USD","plan_id":"p","revshare":{"rate":"25%"},"version":1}' "$("$acre" --db "$(st p)" plan show p@1)"

# closes in order only; a refused close exits 4 and writes nothing
"$acre" --db "$(st p)" close 2026-02 >/dev/null; check "close" 0 $?
"$acre" --db "$(st p)" close 2026-01 2>err >/dev/null; check "close out of order" 4 $?
"$acre" --db "$(st p)" preview 2026-02 2>/dev/null >/dev/null; check "preview of a closed period" 4 $?
check "one close stored" 1 "$(q p 'SELECT count(*) FROM close')"
"$acre" --db "$(st p)" ledger 2026-02 >l1; "$acre" --db "$(st p)" ledger 2026-02 >l2
check "ledger is stable" "" "$(cmp l1 l2)"
"$acre" --db "$(st p)" ledger 2026-05 2>/dev/null; check "ledger of an open period" 4 $?

# acre copy: into a new store with the same ledger bytes; refused (exit 2) into a store that
# holds anything, from one that does not exist (nothing made), without --to, onto itself
"$acre" copy --from "$(st p)" --to "$(st pc)" >/dev/null; check "copy" 0 $?
check "copy: the same ledger" "" "$("$acre" --db "$(st pc)" ledger 2026-02 | cmp - l1)"
"$acre" copy --from "$(st p)" --to "$(st pc)" 2>err >/dev/null; check "copy into a store that is not new" 2 $?
check "... says so" 1 "$(grep -c 'is not new (its table' err)"
"$acre" copy --from "$(st nosuch)" --to "$(st made)" 2>err >/dev/null; check "copy from no store" 2 $?
if [ -n "${ACRE_TEST_PG:-}" ]; then
    check "... nothing made" 0 "$(q made "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
else
    check "... nothing made" "" "$(ls made.db* 2>/dev/null)"
fi
"$acre" copy --from "$(st p)" 2>/dev/null >/dev/null; check "copy without --to" 2 $?
"$acre" copy --from "$(st p)" --to "$(st p)" 2>/dev/null >/dev/null; check "copy onto itself" 2 $?

# the SPEC 6 example as CSV: one row per line (150 by_country:DE, 25% of 1,250 = 312.50)
ex=$2/spec-worked-example
"$acre" --db "$(st x)" ingest affiliates "$ex/affiliates.ndjson" >/dev/null
"$acre" --db "$(st x)" plan add "$ex/plans/casino-hybrid.json" >/dev/null
"$acre" --db "$(st x)" ingest assignments "$ex/assignments.ndjson" >/dev/null
"$acre" --db "$(st x)" ingest igaming/customers "$ex/customers.ndjson" >/dev/null
"$acre" --db "$(st x)" ingest igaming/transactions "$ex/transactions.ndjson" >/dev/null
"$acre" --db "$(st x)" ingest igaming/gaming-activity "$ex/activity.ndjson" >/dev/null
"$acre" --db "$(st x)" close 2026-03 >/dev/null; check "example close" 0 $?
check "ledger csv" "period,affiliate_id,currency,kind,plan,customer_id,descendant_id,depth,amount,exact
2026-03,aff_1,EUR,cpa,casino-hybrid@1,c_9,,,150.00,150
2026-03,aff_1,EUR,revshare,casino-hybrid@1,,,,312.50,312.5" "$("$acre" --db "$(st x)" ledger 2026-03 --format csv)"
check "stored ledger is the expected file" "" "$("$acre" --db "$(st x)" ledger 2026-03 | cmp - "$ex/expected/2026-03.json")"

# a file store closes on two threads (engine/close_read.c); fixtures replay in memory on one:
# the ledgers must be the same bytes. Then audit, and audit after edits made with sqlite3.
fx=$2/clawback-by-flag
"$acre" --db "$(st f)" ingest affiliates "$fx/affiliates.ndjson" >/dev/null
"$acre" --db "$(st f)" plan add "$fx/plans/cpa.json" >/dev/null
"$acre" --db "$(st f)" ingest assignments "$fx/assignments.ndjson" >/dev/null
"$acre" --db "$(st f)" ingest igaming/customers "$fx/customers.ndjson" >/dev/null
"$acre" --db "$(st f)" ingest igaming/transactions "$fx/transactions.ndjson" >/dev/null
"$acre" --db "$(st f)" close 2026-01 --anchor anchor >close.out
"$acre" --db "$(st f)" ingest flags "$fx/flag.ndjson" >/dev/null
"$acre" --db "$(st f)" close 2026-02 --anchor anchor >>close.out
"$acre" --db "$(st f)" close 2026-03 --anchor anchor >>close.out
for p in 2026-01 2026-02 2026-03; do
    check "threaded close $p is the expected file" "" "$("$acre" --db "$(st f)" ledger $p | cmp - "$fx/expected/$p.json")"
done
"$acre" --db "$(st f)" audit >out; check "audit of an untouched store" 0 $?
check "audit lists every period" "3" "$(grep -c '	ok	sha256:' out)"
# close prints the new head, {"period":…,"digest":…}, and appends the same line to its anchor
# (SPEC 10); the digest is the one the expected file carries
check "close prints the period and the new head" "{\"period\":\"2026-03\",\"digest\":\"$(sed -n 's/^"digest":"\(.*\)"}$/\1/p' "$fx/expected/2026-03.json")\"}" "$(tail -n 1 close.out)"
check "close --anchor appends what close printed" "$(cat close.out)" "$(cat anchor)"
"$acre" --db "$(st f)" audit --anchor anchor --head "$(tail -n 1 close.out | sed 's/.*"digest":"\(.*\)"}/\1/')" >out
check "audit with the anchor and the head" 0 $?
"$acre" --db "$(st f)" close 2026-04 --anchor nosuchdir/anchor 2>err; check "an anchor that cannot be written: refused" 2 $?
check "an anchor that cannot be written: nothing closed" 3 "$(q f 'SELECT count(*) FROM close')"
"$acre" --db "$(st f)" audit --anchor nosuchfile >out 2>err; check "an anchor that cannot be read" 2 $?
# the anchor is written after the commit: a full disk then exits 4, says so and gives the line
cp_store f full
"$acre" --db "$(st full)" close 2026-04 --anchor /dev/full >out 2>err; check "an anchor on a full disk" 4 $?
check "an anchor on a full disk: the close is stored" 4 "$(q full 'SELECT count(*) FROM close')"
check "an anchor on a full disk: the line to append" "acre: close: 2026-04 is closed, but the anchor file /dev/full could not be written; append this line to it: {\"period\":\"2026-04\",\"digest\":\"$(q full "SELECT digest FROM close WHERE period_text = '2026-04'")\"}" "$(cat err)"
cp_store f t
q t "UPDATE close SET ledger = replace(ledger, '\"amount\":\"100.00\"', '\"amount\":\"100.01\"') WHERE period_text = '2026-01'"
"$acre" --db "$(st t)" audit >out; check "audit after a cent changed" 1 $?
check "audit names the period and the hash" "2026-01	FAIL	the ledger's content does not hash to the digest written in it" \
    "$(grep FAIL out | head -n 1 | cut -d'(' -f1 | sed 's/ $//')"
check "audit names the line" "2026-01	FAIL	affiliate aff_f, line 1 (cpa cpa100@1): amount is \"100.01\"; exact rounded half_even to 2 decimals gives 100.00" \
    "$(grep FAIL out | sed -n 2p)"
cp_store f t
q t "UPDATE close SET previous_digest = NULL WHERE period_text = '2026-03'"
"$acre" --db "$(st t)" audit >out; check "audit after a broken chain" 1 $?
check "audit names the broken link" "2026-03	FAIL	the close's previous_digest is not the digest of the period closed before it" \
    "$(grep FAIL out | cut -d'(' -f1 | sed 's/ $//')"
cp_store f t
q t "DELETE FROM close WHERE period_text = '2026-02'"
"$acre" --db "$(st t)" audit >out; check "audit after a deleted period" 1 $?
# the chain breaks at 2026-03; the state 2026-02 left stays behind (its close_affiliate rows),
# 2026-03's brought_forward -100.00 no longer follows from 2026-01's carried_forward 0, and f_1's
# CPA paid in 2026-01 is marked clawed back by a ledger that is gone (SPEC 10 "Audit")
check "audit names the period after the gap" "2026-03" "$(grep FAIL out | grep previous_digest | cut -f1 | sort -u)"
check "audit names the state the deleted period left" "2026-01	FAIL	settled f_1: clawed_period is set; no ledger claws back its paid CPA
2026-02	FAIL	close_affiliate has 1 row for 2026-02, which is not closed
2026-03	FAIL	affiliate aff_f: brought_forward is -100.00; the carried_forward 0 left by 2026-01 gives 0.00
2026-03	FAIL	close_affiliate aff_f: carried_forward is -100; the ledgers give 0" "$(grep FAIL out | grep -v previous_digest | sort)"

# The keyed mac (SPEC 10): the same fixture closed with a 32-byte key. The mac is HMAC-SHA256
# over the digest text, worked out here with Python's hmac; the bytes before it are the expected
# file's, so the digest is the same as without a key.
printf 'k%.0s' $(seq 32) >key    # 32 bytes "kkk…k"
printf 'k%.0s' $(seq 31) >short
"$acre" --db "$(st k)" ingest affiliates "$fx/affiliates.ndjson" >/dev/null
"$acre" --db "$(st k)" plan add "$fx/plans/cpa.json" >/dev/null
"$acre" --db "$(st k)" ingest assignments "$fx/assignments.ndjson" >/dev/null
"$acre" --db "$(st k)" ingest igaming/customers "$fx/customers.ndjson" >/dev/null
"$acre" --db "$(st k)" ingest igaming/transactions "$fx/transactions.ndjson" >/dev/null
"$acre" --db "$(st k)" close 2026-01 --key-file short 2>err; check "a 31-byte key: refused" 2 $?
check "a 31-byte key: the message" "acre: the ledger key file short has 31 bytes; a key needs at least 32" "$(cat err)"
check "a 31-byte key: nothing closed" 0 "$(q k 'SELECT count(*) FROM close')"
"$acre" --db "$(st k)" close 2026-01 --key-file key >/dev/null
ACRE_LEDGER_KEY_FILE=key "$acre" --db "$(st k)" ingest flags "$fx/flag.ndjson" >/dev/null
ACRE_LEDGER_KEY_FILE=key "$acre" --db "$(st k)" close 2026-02 >/dev/null
"$acre" --db "$(st k)" ledger 2026-01 >k1.json
mac=$(python3 -c "import hmac, hashlib, sys; d = open('$fx/expected/2026-01.json').read().split('\"digest\":\"')[1][:71]; print('hmac-sha256:' + hmac.new(b'k' * 32, d.encode(), hashlib.sha256).hexdigest())")
check "a keyed ledger: the expected bytes, then the mac" "$(sed 's/"}$/","mac":"'$mac'"}/' "$fx/expected/2026-01.json")" "$(cat k1.json)"
"$acre" verify k1.json >/dev/null; check "a keyed ledger verifies" 0 $?
"$acre" --db "$(st k)" audit --key-file key >out; check "audit with the key" 0 $?
# --recompute closes again without the key and compares without the mac (issue 17: the closes
# run in the store itself now, which holds the key)
"$acre" --db "$(st k)" audit --recompute --key-file key >out; check "audit --recompute with the key" 0 $?
printf 'x%.0s' $(seq 40) >other
"$acre" --db "$(st k)" audit --key-file other >out; check "audit with another key" 1 $?
check "audit with another key: each mac named" "2026-01	FAIL	the ledger's mac is not the key's HMAC of its digest (forged, or another key)
2026-02	FAIL	the ledger's mac is not the key's HMAC of its digest (forged, or another key)" "$(grep FAIL out)"
"$acre" --db "$(st k)" close 2026-03 >/dev/null   # without the key
"$acre" --db "$(st k)" audit --key-file key >out; check "a ledger closed without the key" 1 $?
check "a ledger closed without the key: named" "2026-03	FAIL	the ledger has no mac (closed without the key, or the mac removed)" "$(grep FAIL out)"
# 2026-02 resealed by a writer without the key: min_payout 0 -> 1 changes no number (aff_f's
# -100.00 stays carried forward), and its digests are recomputed; only the key shows it
cp_store k t
q t "UPDATE close SET ledger = replace(ledger, '\"min_payout\":\"0\"', '\"min_payout\":\"1\"') WHERE period_text = '2026-02'"
python3 - <<'PY'
import hashlib, os, sqlite3, subprocess
pg = os.environ.get("ACRE_TEST_PG")
db = None if pg else sqlite3.connect('t.db')
def get(sql):
    if db:
        return db.execute(sql).fetchone()[0]
    return subprocess.run(["psql", "-X", "-q", "-At", pg + "/t", "-c", sql], check=True,
                          capture_output=True, text=True).stdout[:-1]  # psql's newline
def put(sql, params):
    if db:
        db.execute(sql, params)
        return
    for v in params:  # SQL's own quoting: the texts are a ledger and digests
        sql = sql.replace("?", "'" + v.replace("'", "''") + "'", 1)
    subprocess.run(["psql", "-X", "-q", pg + "/t", "-c", sql], check=True)
doc = get("SELECT ledger FROM close WHERE period_text = '2026-02'")
body, tail = doc[:doc.rindex(',\n"digest":')], doc[doc.rindex(',\n"digest":'):]
d = 'sha256:' + hashlib.sha256((body + '}').encode()).hexdigest()
doc = body + ',\n"digest":"' + d + tail[len(',\n"digest":"') + 71:]
put("UPDATE close SET ledger = ?, digest = ? WHERE period_text = '2026-02'", (doc, d))
nxt = get("SELECT ledger FROM close WHERE period_text = '2026-03'")
body = nxt[:nxt.rindex(',\n"digest":')]
old = body[body.index('"previous_digest":"') + 19:][:71]
body = body.replace(old, d)
d3 = 'sha256:' + hashlib.sha256((body + '}').encode()).hexdigest()
put("UPDATE close SET ledger = ?, digest = ?, previous_digest = ? WHERE period_text = '2026-03'",
    (body + ',\n"digest":"' + d3 + '"}\n', d3, d))
if db:
    db.commit()
PY
"$acre" --db "$(st t)" audit >out; check "resealed by a writer without the key: the store alone passes" 0 $?
"$acre" --db "$(st t)" audit --key-file key >out; check "resealed by a writer without the key: the key fails it" 1 $?
check "resealed by a writer without the key: named" "2026-02	FAIL	the ledger's mac is not the key's HMAC of its digest (forged, or another key)
2026-03	FAIL	the ledger has no mac (closed without the key, or the mac removed)" "$(grep FAIL out)"

# The close reads activity in one query per day, shared by two reader threads, and must still
# report the refusal that one thread reading the table in order meets first (engine/close_read.c).
# Plan: 25% of reported NGR. 9,000 customers have a row on 2026-01-09, every one with an ngr but
# the last one's (r_8999, in the day's last chunk); r_0000's row of the 10th has none either and
# is read at once by the other thread. Every run names r_8999's row.
fx=$2/reported-ngr-missing-refused
"$acre" --db "$(st n)" ingest affiliates "$fx/affiliates.ndjson" >/dev/null
"$acre" --db "$(st n)" plan add "$fx/plans/plan.json" >/dev/null
"$acre" --db "$(st n)" ingest assignments "$fx/assignments.ndjson" >/dev/null
awk 'BEGIN { for (c = 0; c < 9000; c++)
    printf "{\"customer_id\":\"r_%04d\",\"signup_date\":\"2026-01-01T00:00:00Z\",\"affiliate_id\":\"aff_r\",\"tracking_data\":{}}\n", c }' >n-cust.ndjson
awk 'BEGIN { for (c = 0; c < 9000; c++)
    printf "{\"date\":\"2026-01-09\",\"customer_id\":\"r_%04d\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"ggr\":\"2\"%s}\n", c, c == 8999 ? "" : ",\"ngr\":\"1\""
    printf "{\"date\":\"2026-01-10\",\"customer_id\":\"r_0000\",\"game_type\":\"slots\",\"currency\":\"EUR\",\"ggr\":\"2\"}\n" }' >n-act.ndjson
"$acre" --db "$(st n)" ingest igaming/customers n-cust.ndjson >/dev/null
"$acre" --db "$(st n)" ingest igaming/gaming-activity n-act.ndjson >/dev/null
for run in 1 2 3 4 5; do
    "$acre" --db "$(st n)" close 2026-01 2>err; check "refused close, run $run" 4 $?
    check "the first refusal in table order, run $run" 1 "$(grep -c '2026-01-09/r_8999/slots/EUR has no ngr' err)"
done
check "nothing stored by the refused closes" "0" "$(q n 'SELECT count(*) FROM close')"

# verify: a ledger file on its own. clawback-by-flag 2026-02 claws back f_1's 100 paid in
# 2026-01: exact -100. One cent more on the amount fails twice: the amount is no longer exact
# -100 rounded, and the digest no longer matches.
"$acre" --db "$(st f)" ledger 2026-02 >l.json
"$acre" verify l.json >out; check "verify a stored ledger" 0 $?
check "verify says what it checked" "l.json: 2026-02: ok, 1 affiliates, 1 lines re-derived, digest $(sed -n 's/^"digest":"\(.*\)"}$/\1/p' l.json)" "$(cat out)"
sed 's/"amount":"-100.00"/"amount":"-99.99"/' l.json >e.json
"$acre" verify e.json >out; check "verify after a cent changed" 1 $?
check "verify names the line" 'e.json: affiliate aff_f, line 1 (cpa_clawback cpa100@1): amount is "-99.99"; exact rounded half_even to 2 decimals gives -100.00' "$(sed -n 1p out)"
check "verify names the digest" 1 "$(grep -c 'does not hash to its digest' out)"
"$acre" verify missing.json 2>/dev/null; check "verify of a missing file" 2 $?

# a refusal raised while records are still being read (the reader thread must stop cleanly)
rx=$2/reported-ngr-missing-refused
"$acre" --db "$(st r)" ingest affiliates "$rx/affiliates.ndjson" >/dev/null
"$acre" --db "$(st r)" plan add "$rx/plans/plan.json" >/dev/null
"$acre" --db "$(st r)" ingest assignments "$rx/assignments.ndjson" >/dev/null
"$acre" --db "$(st r)" ingest igaming/customers "$rx/customers.ndjson" >/dev/null
"$acre" --db "$(st r)" ingest igaming/gaming-activity "$rx/activity.ndjson" >/dev/null
"$acre" --db "$(st r)" close 2026-01 2>err >/dev/null; check "close refused for a missing reported ngr" 4 $?
check "the refusal names the record" "1" "$(grep -c 'gaming activity 2026-01-10/r_1/slots/EUR has no ngr' err)"
check "nothing closed" 0 "$(q r 'SELECT count(*) FROM close')"

# a broken case.json is refused before anything runs (tools/case.c), naming the step and key
mkdir -p bad-case
printf '{"description":"d","steps":[{"plan":"p.json"},{"ingest":"affiliates","files":"a.ndjson"}]}' >bad-case/case.json
"$acre" replay bad-case 2>err; check "case: files not an array" 2 $?
check "case: the message" 'acre: replay: bad-case/case.json: step 1: "files" must be a non-empty array of file names inside the fixture' "$(cat err)"
printf '{"description":"d","steps":[{"plan":"../../etc/passwd"}]}' >bad-case/case.json
"$acre" replay bad-case 2>err; check "case: a path leaving the fixture" 2 $?
printf '{"description":"d","steps":[{"close":"2026-13"}]}' >bad-case/case.json
"$acre" replay bad-case 2>err; check "case: a bad period" 'acre: replay: bad-case/case.json: step 0: "close" must be a period YYYY-MM' "$(cat err)"
printf '{"description":"d","steps":[{"close":"2026-01","expect":{"a1":{"payable":1}}}]}' >bad-case/case.json
"$acre" replay bad-case 2>err; check "case: an expected number not as text" 'acre: replay: bad-case/case.json: step 0: expect.a1.payable must be a string' "$(cat err)"

# --affiliate as JSON is that affiliate's extract: nothing of another affiliate (the revenue of
# aff_orphan, which has no plan, is listed under "unassigned" in the whole ledger), and the whole
# ledger's digest as "extract_of" instead of a digest the extract would not have
fx=${2:-}/unassigned-revenue/expected/2026-01.json
full_digest=$(grep -o '"digest":"sha256:[0-9a-f]*"' "$fx" | cut -d'"' -f4)
"$acre" ledger --file "$fx" --affiliate aff_paid >extract.json
check "extract: no other affiliate's entry" 0 "$(grep -c aff_orphan extract.json)"
check "extract: its own affiliate" 1 "$(grep -c '"affiliate_id":"aff_paid"' extract.json)"
check "extract: the whole ledger's digest as extract_of" "$full_digest" \
    "$(grep -o '"extract_of":"sha256:[0-9a-f]*"' extract.json | cut -d'"' -f4)"
check "extract: no digest of its own" 0 "$(grep -c '"digest"' extract.json)"
"$acre" ledger --file "$fx" --affiliate aff_orphan >extract.json
check "extract: the unassigned revenue of that affiliate only" 1 "$(grep -c '"unassigned":\[{"affiliate_id":"aff_orphan","customers":2,"records":4}\]' extract.json)"

# An ingest reads ahead: each 2,048 records' current versions and unknown references are read
# together before the records are judged (engine/ingest_store.h), and a version stored meanwhile
# replaces the one read. Counted from the lines written: 4,000 new transactions t0..t3999; then
# t0..t499 again with another amount (500 updates of versions read two chunks before); 100 keys
# twice in a row, the second with another amount (100 inserts, then 100 updates of a version
# stored in the same chunk); 100 twice the same (100 inserts, 100 unchanged); and c_none, a
# customer not stored, twice in different chunks (2 rejects): 4,902 received, 4,200 inserted,
# 600 updated, 100 unchanged, 2 rejected; 4,800 versions of 4,200 transactions.
"$acre" --db "$(st ra)" ingest affiliates aff.ndjson >/dev/null
"$acre" --db "$(st ra)" ingest igaming/customers cust.ndjson >/dev/null
tx() { # tx ID CUSTOMER AMOUNT
    printf '{"transaction_id":"%s","customer_id":"%s","transaction_type":"deposit","amount_currency":%s,"currency":"EUR","transaction_date":"2026-01-06T12:00:00Z","status":"approved"}\n' "$1" "$2" "$3"
}
{
    i=0
    while [ $i -lt 4000 ]; do tx "t$i" c1 10; [ $i -eq 1000 ] && tx none1 c_none 1; i=$((i + 1)); done
    i=0
    while [ $i -lt 500 ]; do tx "t$i" c1 11; i=$((i + 1)); done
    i=0
    while [ $i -lt 100 ]; do tx "d$i" c1 5; tx "d$i" c1 6; tx "s$i" c1 7; tx "s$i" c1 7; i=$((i + 1)); done
    tx none2 c_none 1
} >ahead.ndjson
out=$("$acre" --db "$(st ra)" ingest igaming/transactions ahead.ndjson)
check "read ahead: the counts" '{"kind":"igaming/transactions","received":4902,"inserted":4200,"updated":600,"unchanged":100,"rejected":2}' "$out"
check "read ahead: the versions" "4800" "$(q ra "SELECT count(*) FROM txn")"
# the current versions are the last of each key: t0..t499 at 11, d0..d99 at 6
{ i=0; while [ $i -lt 500 ]; do tx "t$i" c1 11; i=$((i + 1)); done
  i=0; while [ $i -lt 100 ]; do tx "d$i" c1 6; i=$((i + 1)); done; } >current.ndjson
out=$("$acre" --db "$(st ra)" ingest igaming/transactions current.ndjson)
check "read ahead: the current versions" '{"kind":"igaming/transactions","received":600,"inserted":0,"updated":0,"unchanged":600,"rejected":0}' "$out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
