#!/bin/sh
# tests/safeguards.sh ACRE FIXTURES — SPEC 10's month-end safeguards and the store's own
# (docs/RELIABILITY.md): a close that skips months, a period not yet ended, a store that does not
# exist, a file sent again, a foreign SQLite file, the modes of the files acre creates, and
# `acre backup`. Each expected message and count is worked out from the records written below.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
fixtures=$(realpath "$2")
. "$here/check.sh"
scratch
umask 022 # what most shells have: without care, SQLite would make the store 0644

printf '{"affiliate_id":"a1"}\n{"affiliate_id":"a2","currency":"EUR"}\n' >aff.ndjson
closes() { sqlite3 "$1" 'SELECT group_concat(period_text, " ") FROM close'; }

# --- gaps: 2026-05 closed, then 2026-08 would leave June and July unclosable ---
"$acre" --db g.db ingest affiliates aff.ndjson >/dev/null
"$acre" --db g.db close 2026-05 >/dev/null; check "the first close of a store has no gap" 0 $?
"$acre" --db g.db close 2026-08 2>err >/dev/null; check "gap: close refused" 4 $?
check "gap: the months named" "acre: close: 2026-08 is not the month after the last closed period 2026-05: it would leave 2026-06, 2026-07 unclosed (2 months), and a month before a closed one can never be closed; close 2026-06, 2026-07 first, or allow the gap (--allow-gap)" "$(cat err)"
check "gap: nothing closed" "2026-05" "$(closes g.db)"
"$acre" --db g.db preview 2026-08 2>/dev/null >/dev/null; check "gap: preview refused" 4 $?
"$acre" --db g.db preview 2026-08 --allow-gap >/dev/null; check "gap: preview --allow-gap" 0 $?
"$acre" --db g.db preview 2026-06 >/dev/null; check "no gap: the next month previews" 0 $?
"$acre" --db g.db close 2026-08 --allow-gap >/dev/null; check "gap: close --allow-gap" 0 $?
check "gap: closed with the gap" "2026-05 2026-08" "$(closes g.db)"
"$acre" --db g.db close 2026-09 >/dev/null; check "no gap: the month after closes" 0 $?
# 2026-09 to 2028-01 skips 2026-10 .. 2027-12: 15 months, the first 12 named
"$acre" --db g.db close 2028-01 --early 2>err >/dev/null; check "a long gap: refused" 4 $?
check "a long gap: 12 named, the rest counted" 1 \
    "$(grep -c 'leave 2026-10, 2026-11, 2026-12, 2027-01, 2027-02, 2027-03, 2027-04, 2027-05, 2027-06, 2027-07, 2027-08, 2027-09 and 3 more unclosed (15 months)' err)"

# the fixture step: {"close": PERIOD, "allow_gap": true}; without it the replay fails
mkdir gapcase
cp aff.ndjson gapcase/
printf '{"description":"d","steps":[{"ingest":"affiliates","files":["aff.ndjson"]},{"close":"2026-01"},{"close":"2026-03"}]}' >gapcase/case.json
"$acre" replay gapcase --update >out 2>&1; check "replay: a gap without allow_gap fails" 1 $?
check "replay: says why" 1 "$(grep -c 'step 2: close 2026-03: 2026-03 is not the month after the last closed period 2026-01' out)"
printf '{"description":"d","steps":[{"ingest":"affiliates","files":["aff.ndjson"]},{"close":"2026-01"},{"close":"2026-03","allow_gap":true}]}' >gapcase/case.json
"$acre" replay gapcase --update >/dev/null; check "replay: allow_gap" 0 $?
check "replay: both ledgers" "2026-01.json 2026-03.json" "$(ls gapcase/expected | tr '\n' ' ' | sed 's/ $//')"
"$acre" replay gapcase; check "replay: allow_gap replays" 0 $?
printf '{"description":"d","steps":[{"close":"2026-01","allow_gap":"yes"}]}' >gapcase/case.json
"$acre" replay gapcase 2>err; check "case: allow_gap not a boolean" 'acre: replay: gapcase/case.json: step 0: "allow_gap" must be true or false' "$(cat err)"

# --- early: a period that has not ended by the UTC clock needs --early (the program's rule) ---
"$acre" --db e.db ingest affiliates aff.ndjson >/dev/null
"$acre" --db e.db close 9999-12 2>err >/dev/null; check "early: 9999-12 refused" 4 $?
check "early: the message" 1 "$(grep -c '^acre: close: 9999-12 has not ended (the UTC clock says [0-9T:-]*Z): a period is closed after its last day; --early closes it now$' err)"
"$acre" --db e.db close "$(date -u +%Y-%m)" 2>/dev/null >/dev/null; check "early: this month refused" 4 $?
check "early: nothing closed" "" "$(closes e.db)"
"$acre" --db e.db preview 9999-12 >/dev/null; check "early: a preview needs no --early" 0 $?
"$acre" --db e.db close 9999-12 --early >/dev/null; check "early: --early closes" 0 $?
check "early: closed" "9999-12" "$(closes e.db)"

# --- a store that does not exist: only ingest, plan add and replay --into make one ---
for cmd in "close 2026-05" "preview 2026-05" "ledger 2026-05" "audit" "status" "plan list" \
    "plan show p" "simulate 2026-05" "backup b.db"; do
    "$acre" --db my.bd $cmd 2>err >/dev/null; check "no store: $cmd exits 2" 2 $?
    check "no store: $cmd creates nothing" "" "$(ls my.bd* b.db 2>/dev/null)"
done
check "no store: the message" "acre: no store my.bd: only ingest, plan add and replay --into create one (name the store with --db PATH or \$ACRE_DB)" "$(cat err)"
ACRE_DB=env.bd "$acre" status 2>/dev/null >/dev/null; check "no store from \$ACRE_DB: exit 2" 2 $?
check "no store from \$ACRE_DB: nothing made" "" "$(ls env.bd* 2>/dev/null)"
printf '{"plan_id":"p","version":1,"currency":"USD","revshare":{"rate":"25%%"}}\n' >p.json
"$acre" --db new1.db plan add p.json >/dev/null; check "plan add makes a store" 0 $?
"$acre" --db new2.db ingest affiliates aff.ndjson >/dev/null; check "ingest makes a store" 0 $?
check "the stores made" "new1.db new2.db" "$(ls new1.db new2.db | tr '\n' ' ' | sed 's/ $//')"

# --- a file sent again (same kind, same SHA-256) is refused unless --again ---
"$acre" --db r.db ingest affiliates aff.ndjson >/dev/null
before=$(sqlite3 r.db .dump)
out=$("$acre" --db r.db ingest affiliates aff.ndjson 2>err); check "resent: exit 3" 3 $?
check "resent: nothing stored" '{"kind":"affiliates","received":2,"inserted":0,"updated":0,"unchanged":0,"rejected":2}' "$out"
check "resent: the store unchanged" "$before" "$(sqlite3 r.db .dump)"
sha=$(sha256sum aff.ndjson | cut -c1-12)
at=$(sqlite3 r.db 'SELECT stored_at FROM ingest_batch WHERE batch = 1')
check "resent: names the batch and when it was stored" "acre: aff.ndjson: the same bytes (sha256 $sha) were already ingested as affiliates batch 1 (aff.ndjson) at $at; sending a file again would roll later updates back, so nothing of it is stored (--again ingests it anyway)" "$(cat err)"
check "resent: stored_at is UTC ISO 8601" 1 "$(echo "$at" | grep -c '^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z$')"
cp aff.ndjson same-bytes.ndjson
"$acre" --db r.db ingest affiliates same-bytes.ndjson 2>err >/dev/null; check "resent under another name: exit 3" 3 $?
check "resent under another name: the earlier file named" 1 "$(grep -c 'batch 1 (aff.ndjson)' err)"
"$acre" --db r.db ingest affiliates - <aff.ndjson 2>err >/dev/null; check "resent on stdin: exit 3" 3 $?
out=$("$acre" --db r.db ingest affiliates aff.ndjson --again); check "resent --again: exit 0" 0 $?
check "resent --again: stored, unchanged" '{"kind":"affiliates","received":2,"inserted":0,"updated":0,"unchanged":2,"rejected":0}' "$out"
check "resent --again: a second batch" 2 "$(sqlite3 r.db 'SELECT count(*) FROM ingest_batch')"
# several FILEs: each file is judged alone; the new one is stored, the re-sent one refused
printf '{"affiliate_id":"a3"}\n' >aff3.ndjson
out=$("$acre" --db r.db ingest affiliates aff3.ndjson aff.ndjson 2>err); check "several files, one re-sent: exit 3" 3 $?
check "several files: the new file stored" '{"kind":"affiliates","received":3,"inserted":1,"updated":0,"unchanged":0,"rejected":2}' "$out"
# an empty file changes nothing and is never refused as re-sent
: >empty.ndjson
"$acre" --db r.db ingest affiliates empty.ndjson >/dev/null && "$acre" --db r.db ingest affiliates empty.ndjson >/dev/null
check "an empty file twice" 0 $?
# a store of schema 2 (before stored_at, plan.seq and the late-version log): migrated on open to
# schema 5, its batches stored "at an unknown time", its plans at seq 0, its log complete only
# from now on (counter log_from: the sequence number when it was migrated)
"$acre" --db old.db ingest affiliates aff.ndjson >/dev/null
sqlite3 old.db 'DROP INDEX ingest_batch_sha; ALTER TABLE ingest_batch DROP COLUMN stored_at; ALTER TABLE plan DROP COLUMN seq; DROP TABLE late_version; DROP TABLE txn_versions; DROP TABLE api_client; DROP TABLE api_token; DROP TABLE api_idempotency; DROP TABLE affiliate_secret; DROP TABLE event; DROP INDEX gaming_activity_customer; DROP INDEX trading_activity_customer; ALTER TABLE affiliate DROP COLUMN postback_url; DROP INDEX txn_date; DROP INDEX txn_customer; DROP INDEX bonus_event_time; DROP INDEX bonus_event_user; DELETE FROM counter WHERE name IN ('"'log_from', 'log_after'"'); PRAGMA user_version = 2'
"$acre" --db old.db ingest affiliates aff.ndjson 2>err >/dev/null; check "schema 2: resent refused" 3 $?
check "schema 2: migrated to 9" 9 "$(sqlite3 old.db 'PRAGMA user_version')"
check "schema 2: plans at seq 0" 0 "$(sqlite3 old.db 'SELECT count(*) FROM plan WHERE seq <> 0')"
check "schema 2: the log from the migration" 1 "$(sqlite3 old.db "SELECT value = (SELECT value FROM counter WHERE name = 'seq') AND value > 0 FROM counter WHERE name = 'log_from'")"
check "schema 2: at an unknown time" 1 "$(grep -c 'affiliates batch 1 (aff.ndjson) at an unknown time; sending' err)"
# a store of schema 4 with transactions in several versions: the migration to 5 writes the
# txn_versions rows ingest would have written (a late reversal, a date moved to February)
for f in demo transaction-moved-month; do
    "$acre" replay "$fixtures/$f" --into v4-$f.db >/dev/null 2>&1
    want=$(sqlite3 v4-$f.db 'SELECT * FROM txn_versions ORDER BY 1, 2, 3')
    sqlite3 v4-$f.db 'DROP TABLE late_version; DROP TABLE txn_versions; DROP TABLE api_client; DROP TABLE api_token; DROP TABLE api_idempotency; DROP TABLE affiliate_secret; DROP TABLE event; DROP INDEX gaming_activity_customer; DROP INDEX trading_activity_customer; ALTER TABLE affiliate DROP COLUMN postback_url; DROP INDEX txn_date; DROP INDEX txn_customer; DROP INDEX bonus_event_time; DROP INDEX bonus_event_user; DELETE FROM counter WHERE name IN ('"'log_from', 'log_after'"'); PRAGMA user_version = 4'
    # audit as the first command: it migrates, then checks (quick_check inside its
    # transaction, after the migration's table rebuild opened SQLite's temporary database)
    "$acre" --db v4-$f.db audit >/dev/null; check "schema 4, $f: migrated and audited" 0 $?
    check "schema 4, $f: txn_versions as ingest writes it" "$want" "$(sqlite3 v4-$f.db 'SELECT * FROM txn_versions ORDER BY 1, 2, 3')"
    check "schema 4, $f: some rows" 1 "$(sqlite3 v4-$f.db 'SELECT count(*) > 0 FROM txn_versions')"
done
# the close after a migration reads every record: the last close was made by an older acre,
# which left other state (it remembered no value for a transaction whose date moved: its
# counted row is deleted here to make the same store). c1 qualifies in January (CPA 20, so its
# history is not read again); a bonus of 100 counted in January is re-sent as 150 dated
# February; February closes; the store goes back to schema 4 and migrates. March must be what
# a full read gives (which takes 100 back and counts 150 again: the older acre's state).
printf '{"affiliate_id": "a1", "currency": "USD"}\n' >m-aff.ndjson
printf '{"plan_id": "rs", "version": 1, "currency": "USD", "qualification": {"min_first_amount": "10"}, "cpa": {"amount": "20"}, "revshare": {"rate": "50%%"}}\n' >m-plan.json
printf '{"affiliate_id": "a1", "plan_id": "rs", "effective_from": "2026-01"}\n' >m-asg.ndjson
printf '{"customer_id": "c1", "signup_date": "2026-01-02T00:00:00Z", "affiliate_id": "a1", "tracking_data": {}}\n' >m-cust.ndjson
printf '{"transaction_id": "d1", "customer_id": "c1", "transaction_type": "deposit", "amount_currency": "50", "currency": "USD", "transaction_date": "2026-01-05T10:00:00Z", "status": "approved"}\n' >m-t1.ndjson
printf '{"transaction_id": "t1", "customer_id": "c1", "transaction_type": "bonus", "amount_currency": "100", "currency": "USD", "transaction_date": "2026-01-15T10:00:00Z", "status": "approved"}\n' >>m-t1.ndjson
printf '{"transaction_id": "t1", "customer_id": "c1", "transaction_type": "bonus", "amount_currency": "150", "currency": "USD", "transaction_date": "2026-02-15T10:00:00Z", "status": "approved"}\n' >m-t2.ndjson
for m in 01 02 03; do printf '{"date": "2026-%s-10", "customer_id": "c1", "game_type": "slots", "currency": "USD", "ggr": "1000"}\n' $m >m-g$m.ndjson; done
"$acre" --db m.db ingest affiliates m-aff.ndjson >/dev/null && "$acre" --db m.db plan add m-plan.json >/dev/null &&
    "$acre" --db m.db ingest assignments m-asg.ndjson >/dev/null && "$acre" --db m.db ingest igaming/customers m-cust.ndjson >/dev/null &&
    "$acre" --db m.db ingest igaming/transactions m-t1.ndjson >/dev/null && "$acre" --db m.db ingest igaming/gaming-activity m-g01.ndjson >/dev/null &&
    "$acre" --db m.db close 2026-01 --early >/dev/null && "$acre" --db m.db ingest igaming/transactions m-t2.ndjson >/dev/null &&
    "$acre" --db m.db ingest igaming/gaming-activity m-g02.ndjson >/dev/null && "$acre" --db m.db close 2026-02 --early >/dev/null
check "migrated after a close: the store" 0 $?
sqlite3 m.db "DELETE FROM counted WHERE rkey = 't1'; DROP TABLE late_version; DROP TABLE txn_versions; DROP TABLE api_client; DROP TABLE api_token; DROP TABLE api_idempotency; DROP TABLE affiliate_secret; DROP TABLE event; DROP INDEX gaming_activity_customer; DROP INDEX trading_activity_customer; ALTER TABLE affiliate DROP COLUMN postback_url; DROP INDEX txn_date; DROP INDEX txn_customer; DROP INDEX bonus_event_time; DROP INDEX bonus_event_user; DELETE FROM counter WHERE name IN ('log_from', 'log_after'); PRAGMA user_version = 4"
"$acre" --db m.db ingest igaming/gaming-activity m-g03.ndjson >/dev/null
check "migrated after a close: the last close before it" 24313 "$(sqlite3 m.db "SELECT value FROM counter WHERE name = 'log_after'")"
check "migrated after a close: March as the full read gives it" "$("$acre" --db m.db preview 2026-03 --full-read)" "$("$acre" --db m.db preview 2026-03)"

# replay: a file sent again fails the replay (exit 4) unless its step says "again": true
mkdir resentcase
cp aff.ndjson resentcase/
printf '{"description":"d","steps":[{"ingest":"affiliates","files":["aff.ndjson"]},{"ingest":"affiliates","files":["aff.ndjson"]},{"close":"2026-01"}]}' >resentcase/case.json
"$acre" replay resentcase --update 2>err >/dev/null; check "replay: a re-sent file fails" 4 $?
check "replay: names it" 1 "$(grep -c 'step 1: resentcase/aff.ndjson: aff.ndjson: the same bytes' err)"
printf '{"description":"d","steps":[{"ingest":"affiliates","files":["aff.ndjson"]},{"ingest":"affiliates","files":["aff.ndjson"],"again":true},{"close":"2026-01"}]}' >resentcase/case.json
"$acre" replay resentcase --update >/dev/null; check "replay: again" 0 $?
printf '{"description":"d","steps":[{"ingest":"affiliates","files":["aff.ndjson"],"again":1}]}' >resentcase/case.json
"$acre" replay resentcase 2>err; check "case: again not a boolean" 'acre: replay: resentcase/case.json: step 0: "again" must be true or false' "$(cat err)"

# --- a foreign SQLite file: refused, untouched (no acre schema, not switched to WAL) ---
sqlite3 foreign.db 'CREATE TABLE invoices(id INTEGER PRIMARY KEY, total TEXT); INSERT INTO invoices VALUES(1, "9.99")'
cp foreign.db foreign.orig
"$acre" --db foreign.db ingest affiliates aff.ndjson 2>err >/dev/null; check "foreign: ingest refused" 2 $?
check "foreign: the message" "acre: foreign.db is an SQLite database but not an acre store (it has tables and no acre schema); acre leaves it as it is: name an acre store, or a new file, with --db" "$(cat err)"
"$acre" --db foreign.db status 2>/dev/null >/dev/null; check "foreign: status refused" 2 $?
check "foreign: the bytes as they were" "" "$(cmp foreign.db foreign.orig)"
check "foreign: still in rollback-journal mode, its tables only" "delete invoices" \
    "$(sqlite3 foreign.db 'PRAGMA journal_mode' 'SELECT group_concat(name) FROM sqlite_master' | tr '\n' ' ' | sed 's/ $//')"
sqlite3 foreign7.db 'CREATE TABLE t(x); PRAGMA user_version = 3'
"$acre" --db foreign7.db ingest affiliates aff.ndjson 2>err >/dev/null; check "foreign with acre's version number: refused" 2 $?
check "foreign with acre's version number: why" 1 "$(grep -c "its schema version is acre's but acre's tables are missing" err)"

# --- modes: the store, its -wal and -shm, rejects and backups are 0600 whatever the umask ---
check "the store 0600 under umask 022" 600 "$(stat -c %a new2.db)"
# -wal and -shm exist while a connection is open: hold one (python's sqlite3) while acre writes
python3 - "$acre" <<'PY' >modes
import sqlite3, subprocess, sys, os
c = sqlite3.connect("new2.db")
c.execute("SELECT count(*) FROM counter").fetchall()
subprocess.run([sys.argv[1], "--db", "new2.db", "ingest", "affiliates", "aff3.ndjson"], stdout=subprocess.DEVNULL, check=True)
print(" ".join(oct(os.stat(f).st_mode & 0o777)[2:] for f in ("new2.db", "new2.db-wal", "new2.db-shm")))
c.close()
PY
check "the store, -wal and -shm 0600" "600 600 600" "$(cat modes)"
(umask 277 && "$acre" --db strict.db ingest affiliates aff.ndjson >/dev/null); check "umask 277: the store works" 0 $?
check "umask 277: the store 0600 (not 0400)" 600 "$(stat -c %a strict.db)"
(umask 000 && "$acre" --db open.db ingest affiliates aff.ndjson >/dev/null)
check "umask 000: the store 0600 (not 0666)" 600 "$(stat -c %a open.db)"
printf '{"affiliate_id":""}\n' >bad.ndjson
(umask 000 && "$acre" --db open.db ingest affiliates bad.ndjson --rejects rej.ndjson >/dev/null 2>&1)
check "rejects 0600 (umask 000)" 600 "$(stat -c %a rej.ndjson)"
check "rejects written" 1 "$(wc -l <rej.ndjson)"
touch old-rej.ndjson && chmod 644 old-rej.ndjson
"$acre" --db open.db ingest affiliates bad.ndjson --rejects old-rej.ndjson --again >/dev/null 2>&1
check "an existing rejects file made 0600" 600 "$(stat -c %a old-rej.ndjson)"

# --- backup: a consistent copy of a store, 0600, never over an existing file ---
"$acre" replay "$fixtures/demo" --into live.db 2>/dev/null
(umask 000 && "$acre" --db live.db backup copy.db); check "backup: exit 0" 0 $?
check "backup: 0600" 600 "$(stat -c %a copy.db)"
for p in 2026-01 2026-02 2026-03; do
    "$acre" --db live.db ledger $p >want.json
    check "backup: $p's ledger the same bytes" "" "$("$acre" --db copy.db ledger $p | cmp - want.json 2>&1)"
done
"$acre" --db copy.db audit >out; check "backup: audit passes" 0 $?
check "backup: audit saw the three closes" "3 closed periods, 0 problems" "$(tail -n 1 out)"
check "backup: the demo ledgers" "" "$("$acre" --db copy.db ledger 2026-03 | cmp - "$fixtures/demo/expected/2026-03.json")"
echo keep >exists.db
"$acre" --db live.db backup exists.db 2>err; check "backup over a file: exit 2" 2 $?
check "backup over a file: the message" "acre: backup: exists.db exists: a backup is written to a new file, never over one" "$(cat err)"
check "backup over a file: untouched" keep "$(cat exists.db)"
# a backup taken while another process writes the store is one committed state
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{\"affiliate_id\":\"w%05d\"}\n", i }' >many.ndjson
"$acre" --db live.db ingest affiliates many.ndjson >/dev/null &
writer=$!
"$acre" --db live.db backup during.db; check "backup during a write: exit 0" 0 $?
wait $writer
check "backup during a write: sound" ok "$(sqlite3 during.db 'PRAGMA integrity_check')"
n=$(sqlite3 during.db "SELECT count(*) FROM affiliate WHERE affiliate_id LIKE 'w%'")
check "backup during a write: all of the file or none ($n)" yes "$([ "$n" = 0 ] || [ "$n" = 20000 ] && echo yes)"
"$acre" --db during.db audit >/dev/null; check "backup during a write: audit passes" 0 $?
# a writer holding an open transaction (a close or an ingest in progress, here python's sqlite3
# with one uncommitted affiliate): the backup does not wait for it and has none of its rows
python3 - "$acre" <<'PY' >held
import sqlite3, subprocess, sys
c = sqlite3.connect("live.db", isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("INSERT INTO affiliate(affiliate_id, seq, batch) VALUES('uncommitted', 999999, 999999)")
rc = subprocess.run([sys.argv[1], "--db", "live.db", "backup", "held.db"], timeout=20).returncode
c.execute("COMMIT")
print(rc)
PY
check "backup beside an open write transaction: exit 0, without waiting" 0 "$(cat held)"
check "backup beside an open write transaction: none of its rows" 0 \
    "$(sqlite3 held.db "SELECT count(*) FROM affiliate WHERE affiliate_id = 'uncommitted'")"
check "the writer's row committed after" 1 "$(sqlite3 live.db "SELECT count(*) FROM affiliate WHERE affiliate_id = 'uncommitted'")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
