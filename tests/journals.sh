#!/bin/sh
# tests/journals.sh ACRE FIXTURES — every fixture's expected ledger as an hledger and a
# beancount journal (`acre ledger --file F --format ...`): `hledger check -s` and `bean-check`
# must accept each, and must reject each after one cent is changed in
#   1. the first posting of the first accrual (the transaction no longer balances), and
#   2. the first balance assertion (the liability is no longer what was carried forward).
# Needs hledger and beancount (tools/setup.sh installs them).
set -u
here=$(cd "$(dirname "$0")" && pwd)
for tool in hledger bean-check; do
    command -v $tool >/dev/null || { echo "journals: $tool is missing (tools/setup.sh test installs hledger and beancount)"; exit 1; }
done
acre=$1
fixtures=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/check.sh"

# plus_cent FILE WHICH: FILE with 0.010 added to one amount: WHICH "posting" the amount of the
# first expense posting (field 2), "assert" the asserted amount of the first balance assertion
# (the one before the currency at the end). Amounts are written with three decimals, so the sum
# is done on integer thousandths. Exit 3 when there is no such line.
plus_cent() {
    awk -v which="$2" '
        function bump(s,   neg, p, v) {
            neg = s ~ /^-/; sub(/^-/, "", s)
            p = index(s, ".")
            v = (substr(s, 1, p - 1) * 1000 + substr(s, p + 1)) * (neg ? -1 : 1) + 10
            neg = v < 0; if (neg) v = -v
            return sprintf("%s%d.%03d", neg ? "-" : "", int(v / 1000), v % 1000)
        }
        !done && which == "posting" && /^ +(expenses|Expenses):/ {
            p = index($0, " " $2 " ")
            $0 = substr($0, 1, p) bump($2) substr($0, p + 1 + length($2))
            done = 1
        }
        !done && which == "assert" && (/ = -?[0-9.]+ [A-Z]+$/ || / balance /) {
            p = length($0) - length($NF) - length($(NF - 1))
            $0 = substr($0, 1, p - 1) bump($(NF - 1)) " " $NF
            done = 1
        }
        { print }
        END { if (!done) exit 3 }' "$1"
}

edits=0
for f in "$fixtures"/*/expected/*.json; do
    name=$(basename "$(dirname "$(dirname "$f")")")/$(basename "$f" .json)
    "$acre" ledger --file "$f" --format hledger >"$work/j.journal"
    check "$name: hledger export" 0 $?
    "$acre" ledger --file "$f" --format beancount >"$work/j.beancount"
    check "$name: beancount export" 0 $?
    hledger check -s -f "$work/j.journal" >"$work/out" 2>&1
    check "$name: hledger check -s accepts it" "0" "$?"
    bean-check "$work/j.beancount" >"$work/out" 2>&1
    check "$name: bean-check accepts it" "0" "$?"
    for which in posting assert; do
        for fmt in journal beancount; do
            if plus_cent "$work/j.$fmt" $which >"$work/e.$fmt"; then
                edits=$((edits + 1))
                check "$name: one cent changed ($which) differs" 1 "$(cmp -s "$work/j.$fmt" "$work/e.$fmt"; echo $?)"
                if [ $fmt = journal ]; then
                    hledger check -s -f "$work/e.journal" >/dev/null 2>&1
                    check "$name: hledger rejects one cent ($which)" 1 $?
                else
                    bean-check "$work/e.beancount" >/dev/null 2>&1
                    check "$name: bean-check rejects one cent ($which)" 1 $?
                fi
            fi
        done
    done
done
# two IDs that would make one beancount account are refused, not merged; hledger keeps both
# (the digest is the one acre verify computes for this content: ledger --file exports only a
# file that verifies)
cat >"$work/two.json" <<'EOF2'
{"format":"acre-ledger/1","period":"2026-03","previous_digest":null,"affiliates":[
{"affiliate_id":"aff-1","currency":"EUR","plan":null,"rounding":{"scale":2,"mode":"half_even"},"min_payout":"0","lines":[],"earned":"0.00","brought_forward":"5.00","payable":"5.00","carried_forward":"0.00"},
{"affiliate_id":"aff_1","currency":"EUR","plan":null,"rounding":{"scale":2,"mode":"half_even"},"min_payout":"0","lines":[],"earned":"0.00","brought_forward":"7.00","payable":"7.00","carried_forward":"0.00"}],
"digest":"sha256:a0233a281ac0d24564dd5d58e317c2f5b20135ab6da08c493b31c7175113913a"}
EOF2
"$acre" ledger --file "$work/two.json" --format beancount >/dev/null 2>"$work/err"
check "beancount name collision refused" 3 $?
check "the refusal names both affiliates" "acre: ledger: $work/two.json: affiliates aff-1 and aff_1 would share the beancount account Liabilities:Affiliates:Aff-1" "$(cat "$work/err")"
"$acre" ledger --file "$work/two.json" --format hledger >"$work/two.journal"
check "hledger keeps both" "2" "$(grep -c '^account liabilities:affiliates:aff[-_]1$' "$work/two.journal")"
hledger check -s -f "$work/two.journal" >/dev/null 2>&1
check "hledger accepts a balance brought forward and paid out" 0 $?

# every ledger has an assertion per affiliate, most an accrual: the edits did happen
check "journals edited" 1 "$([ "$edits" -ge 80 ] && echo 1 || echo 0)"

echo "$pass passed, $fail failed ($edits one-cent edits)"
[ "$fail" -eq 0 ]
