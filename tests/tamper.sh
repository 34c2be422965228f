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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
