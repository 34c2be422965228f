#!/bin/sh
# tests/tamper.sh ACRE FIXTURES — `acre audit` after edits made with the sqlite3 shell (issue 5,
# docs/RELIABILITY.md): a line amount, a total, a deleted line, two periods swapped, an edit
# whose digests were recomputed. The store is the demo fixture replayed (three closed months);
# each edit is made on a fresh copy, and the audit must exit 1 and name the period and what
# changed. The values edited are the demo's (fixtures/demo/case.json works them out): aff_bets
# earned 55.35 in 2026-02 from a 40.00 CPA and a 15.35 revshare line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
fixtures=$(realpath "$2")
. "$here/check.sh"
scratch

"$acre" replay "$fixtures/demo" --into base.db 2>/dev/null
"$acre" --db base.db audit >out; check "untouched: audit passes" 0 $?

# edit NAME SQL: a fresh copy, the edit, the audit (exit 1 wanted); its output in `out`
edit() {
    cp base.db t.db
    sqlite3 t.db "$2"
    "$acre" --db t.db audit >out
    check "$1: audit fails" 1 $?
}
failed() { grep FAIL out | sed 's/ (sha256:.*//'; }

edit "a line amount" "UPDATE close SET ledger = replace(ledger, '\"amount\":\"15.35\"', '\"amount\":\"15.36\"') WHERE period_text = '2026-02'"
check "a line amount: what changed" "2026-02	FAIL	the ledger's content does not hash to the digest written in it
2026-02	FAIL	affiliate aff_bets, line 2 (revshare sports-hybrid@1): amount is \"15.36\"; exact rounded half_even to 2 decimals gives 15.35" "$(failed)"

edit "a total" "UPDATE close SET ledger = replace(ledger, '\"earned\":\"55.35\"', '\"earned\":\"55.36\"') WHERE period_text = '2026-02'"
check "a total: what changed" yes "$(grep -q '^2026-02	FAIL	affiliate aff_bets: earned is "55.36"' out && echo yes || cat out)"

edit "a deleted line" "UPDATE close SET ledger = substr(ledger, 1, instr(ledger, '{\"kind\":\"cpa\",\"plan\":\"sports-hybrid@1\"') - 1) || substr(ledger, instr(ledger, '{\"kind\":\"revshare\",\"plan\":\"sports-hybrid@1\"')) WHERE period_text = '2026-02'"
check "a deleted line: the digest" yes "$(grep -q "^2026-02	FAIL	the ledger's content does not hash" out && echo yes || cat out)"
check "a deleted line: the total no longer adds up" yes "$(grep -q '^2026-02	FAIL	affiliate aff_bets: earned is "55.35"' out && echo yes || cat out)"

# the logs an incremental close reads (docs/design.md "An incremental close"): the demo's late
# reversal of t_5004 (stored after January closed, dated in January) is logged in late_version,
# and, as a second version of t_5004, in txn_versions under January. Without the first row the
# next close would not read the reversal; without the second it would count both versions.
edit "a late version's log row deleted" "DELETE FROM late_version WHERE k1 = 't_5004'"
check "a late version's log row deleted: named" "store	FAIL	late_version has no row for txn t_5004 (seq 42), a version stored dated in a month closed before it: an incremental close would not read it" "$(failed)"
edit "a version row deleted" "DELETE FROM txn_versions WHERE transaction_id = 't_5004'"
check "a version row deleted: named" "store	FAIL	txn_versions has no row (2026-01, t_5004, seq 42) for a transaction stored in several versions: an incremental close would count two of them" "$(failed)"
edit "a log row added" "INSERT INTO late_version VALUES(3, 'txn', 't_5001', NULL, NULL, NULL)"
check "a log row added: named" "store	FAIL	late_version has a row for txn t_5001 (seq 3), which is not a version stored dated in a closed month" "$(failed)"

# 2026-01 and 2026-02 swap places (period is the month's number, year * 12 + month - 1): each
# ledger now sits under the other's period, and the chain runs backwards
edit "two periods swapped" "UPDATE close SET period = period + 1000 WHERE period_text IN ('2026-01', '2026-02');
UPDATE close SET period = CASE period_text WHEN '2026-01' THEN 24313 ELSE 24312 END,
                 period_text = CASE period_text WHEN '2026-01' THEN '2026-02' ELSE '2026-01' END
 WHERE period > 1000 + 24000"
check "two periods swapped: both named" yes "$(grep -q "^2026-01	FAIL	the ledger's period is not the close's period (2026-02, expected 2026-01)" out &&
    grep -q "^2026-02	FAIL	the ledger's period is not the close's period (2026-01, expected 2026-02)" out && echo yes || cat out)"

# the last month edited and both its digests recomputed (in the text and in the close row), as
# a forger with the sqlite3 shell and sha256sum would: the chain holds, the arithmetic does not.
# The digest is the SHA-256 of the document up to its last ,\n"digest": member, then "}".
"$acre" --db base.db ledger 2026-03 >ledger.json
python3 - <<'PY'
import hashlib
doc = open('ledger.json', 'rb').read().rstrip(b'\n')
assert doc.count(b'"amount":"49.90"') == 1
doc = doc.replace(b'"amount":"49.90"', b'"amount":"94.90"')
body = doc[:doc.rindex(b',\n"digest":')]
digest = 'sha256:' + hashlib.sha256(body + b'}').hexdigest()
open('resealed.json', 'wb').write(body + b',\n"digest":"' + digest.encode() + b'"}')
open('digest', 'w').write(digest)
PY
"$acre" verify resealed.json >verify.out
check "resealed: verify fails" 1 $?
check "resealed: verify finds the amount, not the digest" "1 0" \
    "$(grep -c 'amount is "94.90"' verify.out) $(grep -c 'does not hash' verify.out)"
edit "resealed" "UPDATE close SET ledger = readfile('resealed.json'), digest = '$(cat digest)' WHERE period_text = '2026-03'"
# and the state the close stored beside it (settled: prop_78120 was paid 49.90, SPEC 10) no
# longer agrees with the ledger
check "resealed: the amount and the settled row are named" "2026-03	FAIL	$(grep 'amount is' verify.out | sed 's/^resealed.json: //')
2026-03	FAIL	settled prop_78120: amount is 49.9; the ledger's cpa line gives 94.90" "$(failed)"


# ---- the state the next close reads (SPEC 10 "Audit"; docs/RELIABILITY.md "Tampering") ----
# audit_edit NAME SQL [AUDIT OPTIONS]: as edit, with options for the audit
audit_edit() {
    cp base.db t.db
    sqlite3 t.db "$2"
    name=$1
    shift 2
    "$acre" --db t.db audit "$@" >out
    check "$name: audit fails" 1 $?
}

# March left aff_bets 20.00 carried forward (25% of 80 under 50, case.json): a forged 500.00
# would be paid by April's close. Periods are stored as year * 12 + month - 1: 2026-03 is 24314.
audit_edit "a forged balance" "UPDATE close_affiliate SET carried_forward = '500.00' WHERE period = 24314 AND affiliate_id = 'aff_bets'"
check "a forged balance: the period, affiliate and field" "2026-03	FAIL	close_affiliate aff_bets: carried_forward is 500.00; the ledgers give 20" "$(failed)"

# February's basis of aff_nordic was -400 (300 - 700): one carryover layer of 2026-02, -400
audit_edit "a forged deficit" "UPDATE close_layer SET amount = '-4000' WHERE period = 24313 AND affiliate_id = 'aff_nordic'"
check "a forged deficit: the layer" "2026-02	FAIL	close_layer aff_nordic: layer 1 is 2026-02 amount -4000; the ledgers give 2026-02 amount -400" "$(failed)"

# c_2002's CPA was paid 40.00 in February; c_2001's 40.00 in January
audit_edit "a settled amount" "UPDATE settled SET amount = '45' WHERE customer_id = 'c_2002'"
check "a settled amount: named" "2026-02	FAIL	settled c_2002: amount is 45; the ledger's cpa line gives 40.00" "$(failed)"
audit_edit "a settled outcome" "UPDATE settled SET outcome = 'over_cap' WHERE customer_id = 'c_2001'"
check "a settled outcome: named" "2026-01	FAIL	settled c_2001: outcome is over_cap; the ledger has no cpa_over_cap line for it
2026-01	FAIL	settled c_2001: outcome is over_cap; the ledger has a cpa line for it
2026-01	FAIL	affiliate aff_bets: the cpa line of customer c_2001 (plan sports-hybrid@1, amount 40.00) has no matching settled row" "$(failed)"

# close_excluded is not in any ledger: only --recompute sees it
cp base.db t.db
sqlite3 t.db "INSERT INTO close_excluded VALUES(24314, 'c_2001')"
"$acre" --db t.db audit >out; check "a forged exclusion: the ledgers cannot show it" 0 $?
"$acre" --db t.db audit --recompute >out; check "a forged exclusion: --recompute fails" 1 $?
check "a forged exclusion: the row" "2026-03	FAIL	recompute: close_excluded has a row (period=2026-03, customer_id=c_2001) the records do not give" "$(failed)"

# a record version changed under a closed period: c_2001's March sportsbook wins 20 -> 40, so
# the March revshare is 25% of 60 = 15.00, not the stored 20.00 (line 3 of the document: its
# first line, aff_bets being the first affiliate)
cp base.db t.db
sqlite3 t.db "UPDATE gaming_activity SET wins = '40' WHERE customer_id = 'c_2001' AND date = '2026-03-05'"
"$acre" --db t.db audit >out; check "a changed record version: the ledgers cannot show it" 0 $?
"$acre" --db t.db audit --recompute >out; check "a changed record version: --recompute fails" 1 $?
check "a changed record version: the period and line" "2026-03	FAIL	recompute: the stored ledger is not the one its records give; the first difference is on line 3 (stored {\"kind\":\"revshare\",\"plan\":\"sports-hybrid@2\",\"amount\":\"20.00\"" \
    "$(grep FAIL out | sed 's/,"exact".*//')"

# the same change written as the store holds amounts (hundredths, docs/design.md "Money as
# integers"): 4000 is 40, and the same line differs
cp base.db t.db
sqlite3 t.db "UPDATE gaming_activity SET wins = 4000 WHERE customer_id = 'c_2001' AND date = '2026-03-05'"
"$acre" --db t.db audit --recompute >out; check "a changed amount in hundredths: --recompute fails" 1 $?
check "a changed amount in hundredths: the period and line" "2026-03	FAIL	recompute: the stored ledger is not the one its records give; the first difference is on line 3 (stored {\"kind\":\"revshare\",\"plan\":\"sports-hybrid@2\",\"amount\":\"20.00\"" \
    "$(grep FAIL out | sed 's/,"exact".*//')"
# a floating-point number where an amount belongs is no amount acre wrote: reading it stops the
# recompute (and any close) with the row and the column named
cp base.db t.db
sqlite3 t.db "UPDATE gaming_activity SET wins = 40.0 WHERE customer_id = 'c_2001' AND date = '2026-03-05'"
"$acre" --db t.db audit --recompute >out 2>err; check "a floating-point amount: --recompute stops" 4 $?
check "a floating-point amount: the row and column" "acre: audit: the recompute stopped at 2026-03: reading records: the store's gaming_activity row (date=2026-03-05, customer_id=c_2001, game_type=sportsbook, currency=GBP, seq=49) has a floating-point number in wins, not an amount acre stores: the store was changed outside acre" "$(cat err)"
# an integer of 16 significant digits is no amount either (ingest takes at most 15)
cp base.db t.db
sqlite3 t.db "UPDATE gaming_activity SET wins = 1234567890123456 WHERE customer_id = 'c_2001' AND date = '2026-03-05'"
"$acre" --db t.db audit --recompute >out 2>err; check "a 16-digit amount: --recompute stops" 4 $?
check "a 16-digit amount: the row and column" "acre: audit: the recompute stopped at 2026-03: reading records: the store's gaming_activity row (date=2026-03-05, customer_id=c_2001, game_type=sportsbook, currency=GBP, seq=49) has an integer of more than 15 significant digits in wins, not an amount acre stores: the store was changed outside acre" "$(cat err)"

# counted: late-data-after-close counted c_1's re-sent 01-15 GGR of 1,500 at the February close
# (case.json); a forged 2000 would make the next close count 1,500 - 2,000 = -500 again
"$acre" replay "$fixtures/late-data-after-close" --into late.db 2>/dev/null
cp late.db t.db
sqlite3 t.db "UPDATE counted SET a = '2000' WHERE tbl = 'gaming_activity'"
"$acre" --db t.db audit >out; check "a forged counted value: the ledgers cannot show it" 0 $?
"$acre" --db t.db audit --recompute >out; check "a forged counted value: --recompute fails" 1 $?
check "a forged counted value: the row and field" "2026-02	FAIL	recompute: counted (tbl=gaming_activity, rkey=2026-01-15/c_1/slots/EUR, period=2026-02): a is 2000; the records give 1500" "$(failed)"
"$acre" --db late.db audit --recompute >out; check "recompute of an untouched store" 0 $?

# ---- the tail: --head and --anchor ----
for p in 2026-01 2026-02 2026-03; do
    printf '{"period":"%s","digest":"%s"}\n' $p "$(sqlite3 base.db "SELECT digest FROM close WHERE period_text = '$p'")"
done >anchor
head3=$(sqlite3 base.db "SELECT digest FROM close WHERE period_text = '2026-03'")
head2=$(sqlite3 base.db "SELECT digest FROM close WHERE period_text = '2026-02'")
"$acre" --db base.db audit --head "$head3" --anchor anchor >out; check "head and anchor of an untouched store" 0 $?

# March removed with everything it left, as the February close left the store (c_1003's clawback
# of February stays marked): consistent, so only a head or an anchor kept elsewhere shows it
drop_march="DELETE FROM close WHERE period = 24314; DELETE FROM close_affiliate WHERE period = 24314;
DELETE FROM close_layer WHERE period = 24314; DELETE FROM close_excluded WHERE period = 24314;
DELETE FROM counted WHERE period = 24314; DELETE FROM settled WHERE period = 24314;
UPDATE settled SET clawed_period = 24313 WHERE clawed_period = 24314"
cp base.db t.db
sqlite3 t.db "$drop_march"
"$acre" --db t.db audit >out; check "the last period removed: the store alone cannot show it" 0 $?
audit_edit "the last period removed, --head" "$drop_march" --head "$head3"
check "the last period removed: the head" "2026-02	FAIL	head: the last closed ledger's digest is not the head given (a period removed from the end, or a ledger rewritten) ($head2, expected $head3)" "$(grep FAIL out)"
audit_edit "the last period removed, --anchor" "$drop_march" --anchor anchor
check "the last period removed: the anchor" "2026-03	FAIL	anchor: the anchor has this period closed, the store does not (a period removed) (none, expected $head3)" "$(grep FAIL out)"

# January rewritten (the FTD transaction of c_2001's CPA, which no sum shows) and every later
# digest and previous_digest recomputed, as a forger with the sqlite3 shell would
python3 - <<'PY'
import hashlib, sqlite3
db = sqlite3.connect('base.db')
rows = db.execute("SELECT period, ledger FROM close ORDER BY period").fetchall()
out, prev = [], None
for period, doc in rows:
    if prev is None:
        assert doc.count('"ftd_transaction_id":"t_6001"') == 1
        doc = doc.replace('"ftd_transaction_id":"t_6001"', '"ftd_transaction_id":"t_6666"')
    else:
        old = doc[doc.index('"previous_digest":"') + 19:][:71]
        doc = doc.replace('"previous_digest":"' + old + '"', '"previous_digest":"' + prev + '"')
    body = doc[:doc.rindex(',\n"digest":')]
    d = 'sha256:' + hashlib.sha256((body + '}').encode()).hexdigest()
    out.append((body + ',\n"digest":"' + d + '"}\n', d, prev, period))
    prev = d
with open('rewrite.sql', 'w') as f:
    for doc, d, p, period in out:
        q = lambda s: "NULL" if s is None else "'" + s.replace("'", "''") + "'"
        f.write("UPDATE close SET ledger = %s, digest = %s, previous_digest = %s WHERE period = %d;\n"
                % (q(doc), q(d), q(p), period))
PY
cp base.db t.db
sqlite3 t.db <rewrite.sql
"$acre" --db t.db audit >out; check "a rewritten chain: the store alone cannot show it" 0 $?

cp base.db t.db; sqlite3 t.db <rewrite.sql
"$acre" --db t.db audit --anchor anchor >out; check "a rewritten chain: --anchor fails" 1 $?
check "a rewritten chain: every period named" "2026-01 2026-02 2026-03" "$(grep 'FAIL	anchor: the close.s digest is not the one anchored' out | cut -f1 | tr '\n' ' ' | sed 's/ $//')"
"$acre" --db t.db audit --recompute >out; check "a rewritten chain: --recompute fails" 1 $?
check "a rewritten chain: --recompute names January" "2026-01" "$(grep FAIL out | cut -f1)"

# ---- corruption: four pages zeroed in the middle of the store file ----
# (pages of tables: a zeroed page of SQLite's schema makes every statement fail to prepare, so
# the store cannot even be opened, let alone audited)
cp base.db t.db
for page in $(sqlite3 t.db "SELECT pageno FROM dbstat WHERE name <> 'sqlite_schema' ORDER BY pageno LIMIT 4 OFFSET (SELECT count(*) / 2 - 2 FROM dbstat WHERE name <> 'sqlite_schema')"); do
    dd if=/dev/zero of=t.db bs=4096 seek=$((page - 1)) count=1 conv=notrunc 2>/dev/null
done
"$acre" --db t.db audit >out; check "zeroed pages: audit fails" 1 $?
check "zeroed pages: corruption named" yes "$(grep -q '^store	FAIL	corruption: ' out && tail -n 1 out | grep -q '^the store is corrupt:' && echo yes || cat out)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
