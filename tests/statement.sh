#!/bin/sh
# tests/statement.sh ACRE FIXTURES — the statement finance sends an affiliate (SPEC 10).
# 1. The demo's March statement of aff_nordic as text, every figure worked out from the ledgers
#    in fixtures/demo/expected: revenue share 25% of an adjusted 600 (GGR 1,000 less January's
#    -400 carried in) = 150.00; 34.12 brought from February (under the 100 minimum since
#    January); total 184.12 >= 100: paid; its three months 34.12/0.00, 0.00/0.00, 150.00/184.12.
# 2. A late contribution (fraud-flag-pending: c_b's January GGR 400, counted in February) and a
#    clawback (the demo's aff_nordic_sub in February: -30.00, negative) in the text.
# 3. The HTML of every affiliate and month of the demo, rendered by headless Chromium to PDF:
#    pdftotext finds every amount of the affiliate's ledger entry in it (each line's amount, its
#    earned, brought forward, payable, carried forward, its total and minimum payout); the file
#    loads nothing from anywhere (no script, no link, no URL but the SVG namespace).
# 4. A period not closed, an affiliate not in the ledger (exit 4), no --affiliate (exit 2).
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$1
fixtures=$2
. "$here/check.sh"
scratch

"$acre" replay "$fixtures/demo" --into d.db >/dev/null 2>&1; check "replay demo" 0 $?
check "text statement" "Statement 2026-03: Nordic Slots Media (aff_nordic)
currency EUR; plan casino-revshare@1; ledger sha256:6a185f04e64233c73ffcbf7070f9849690d04847df4a56660b2d4d714de2b317

Lines
  Revenue share                                                    150.00
    plan casino-revshare@1
    basis from ngr_computed; method rate; carryover carry; GGR 1000; deductions 0; admin fee 0%;
    tax 0%; fees 0; basis 1000; carried in -400; adjusted 600; carried out 0; metric 600
    bands:
      from 0 rate 25% base 600 commission 150
    customers:
      customer c_1001 GGR 1000 deductions 0

Totals
  earned                                                           150.00 EUR
  brought forward                                                   34.12 EUR
  total                                                            184.12 EUR
  minimum payout                                                   100.00 EUR
  payable                                                          184.12 EUR
  carried forward                                                    0.00 EUR
  status: paid: the total is at least the minimum payout

The last 3 closed periods
  period           earned        payable  carried forward
  2026-01           34.12           0.00            34.12
  2026-02            0.00           0.00            34.12
  2026-03          150.00         184.12             0.00" \
    "$("$acre" --db d.db statement 2026-03 --affiliate aff_nordic --format text)"

check "clawback, negative" "  CPA clawed back, c_1003                                          -30.00
    plan casino-cpa@1
    reason no_longer_qualifies; paid in 2026-01; paid 30; qualified 2026-01-16T10:00:00Z
  status: negative: carried to the next period, set against later earnings" \
    "$("$acre" --db d.db statement 2026-02 --affiliate aff_nordic_sub --format text |
        grep -e '^  CPA' -e '^    ' -e 'status')"
"$acre" replay "$fixtures/fraud-flag-pending" --into f.db >/dev/null 2>&1
check "a late contribution" "        late: record gaming_activity date 2026-01-10 GGR 400 deductions 0" \
    "$("$acre" --db f.db statement 2026-02 --affiliate aff_1 --format text | grep 'late:')"

# IDs are not numbers, a customer is not an affiliate: the worked example of SPEC 6 with its
# customer c_9 named "22/7" and its first deposit t_1 "10/4" (a "/" as in a fraction), and then
# an affiliate whose ID is that customer's; aff_1's name holds a line break
sw=$fixtures/spec-worked-example
for f in affiliates assignments customers transactions activity; do
    sed 's/"c_9"/"22\/7"/g; s/"t_1"/"10\/4"/g; s/"name": *"\([^"]*\)"/"name": "\1\\nLtd"/' \
        "$sw/$f.ndjson" >"$f.ndjson"
done
{
    "$acre" --db w.db ingest affiliates affiliates.ndjson
    "$acre" --db w.db plan add "$sw/plans/casino-hybrid.json"
    for k in assignments igaming/customers igaming/transactions igaming/gaming-activity; do
        f=$(basename "$k" | sed 's/gaming-activity/activity/').ndjson
        "$acre" --db w.db ingest "$k" "$f"
    done
    "$acre" --db w.db close 2026-03
    printf '{"affiliate_id":"22/7","name":"Secret Partner Inc","currency":"EUR"}\n' >other.ndjson
    "$acre" --db w.db ingest affiliates other.ndjson
} >/dev/null
"$acre" --db w.db statement 2026-03 --affiliate aff_1 --format text >w.txt
check "the CPA line names the customer, and no affiliate beside it" \
    "  CPA, 22/7                                                        150.00" \
    "$(grep '^  CPA' w.txt)"
check "the first deposit as its ID, not a number" 1 "$(grep -c 'first deposit 10/4;' w.txt)"
check "no other affiliate's name" 0 "$(grep -c 'Secret Partner' w.txt)"
check "a line break in a name is a space in the text" "Statement 2026-03: $(jq -j .name \
    affiliates.ndjson | tr '\n' ' ') (aff_1)" "$(head -1 w.txt)"
"$acre" --db w.db statement 2026-03 --affiliate aff_1 >w.html
check "no other affiliate's name in the html" 0 "$(grep -c 'Secret Partner' w.html)"

# every statement of the demo through the browser
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
check "a browser to render with" 1 "$([ -n "$chrome" ] && echo 1)"
for period in 2026-01 2026-02 2026-03; do
    "$acre" --db d.db ledger "$period" >ledger.json
    for aff in $(jq -r '.affiliates[].affiliate_id' ledger.json); do
        "$acre" --db d.db statement "$period" --affiliate "$aff" >s.html
        check "$period $aff: html" 0 $?
        check "$period $aff: self-contained" "" \
            "$(grep -o -i -e '<script' -e '<link' -e '<img' -e 'url(' -e 'https\?://[^"]*' s.html |
                grep -v '^http://www.w3.org/2000/svg$')"
        rm -f s.pdf
        timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
            --user-data-dir="$work/chrome" --print-to-pdf="$work/s.pdf" "file://$work/s.html" \
            >/dev/null 2>&1
        check "$period $aff: printed to PDF" 1 "$([ -s s.pdf ] && echo 1)"
        pdftotext -layout s.pdf s.txt 2>/dev/null
        # the amounts: each line's, the entry's totals, and the total and minimum payout that
        # acre payouts gives (checked by hand in tests/payouts.sh)
        missing=""
        for amount in $(jq -r --arg a "$aff" '.affiliates[] | select(.affiliate_id == $a) |
                (.lines[].amount, .earned, .brought_forward, .payable, .carried_forward)' \
                ledger.json) $("$acre" --db d.db payouts "$period" --affiliate "$aff" \
                --format json | jq -r '.affiliates[0] | .total, .min_payout'); do
            grep -q -- "$amount" s.txt || missing="$missing $amount"
        done
        check "$period $aff: every amount in the PDF" "" "$missing"
        # and the totals each on its own row, after its label
        cur=$(jq -r --arg a "$aff" '.affiliates[] | select(.affiliate_id == $a) | .currency' \
            ledger.json)
        for row in "earned .earned" "brought forward .brought_forward" "payable .payable" \
            "carried forward .carried_forward"; do
            key=${row##* }
            label=${row% *}
            amount=$(jq -r --arg a "$aff" ".affiliates[] | select(.affiliate_id == \$a) | $key" \
                ledger.json)
            check "$period $aff: the row $label $amount $cur" 1 \
                "$(grep -c "^ *$label *$amount $cur\$" s.txt)"
        done
    done
done
# the layout the PDF keeps: March's total for aff_nordic, 150.00 + 34.12, on its own row
check "the total's row in the PDF" 1 \
    "$("$acre" --db d.db statement 2026-03 --affiliate aff_nordic >s.html &&
        timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
            --user-data-dir="$work/chrome" --print-to-pdf="$work/s.pdf" "file://$work/s.html" \
            >/dev/null 2>&1 && pdftotext -layout s.pdf - | grep -c '^ *total *184.12 EUR')"

"$acre" --db d.db statement 2026-05 --affiliate aff_nordic >/dev/null 2>err
check "not closed: exit 4" "4 acre: statement: period 2026-05 is not closed" "$? $(cat err)"
"$acre" --db d.db statement 2026-03 --affiliate aff_nobody >/dev/null 2>err
check "not in the ledger: exit 4" \
    "4 acre: statement: affiliate aff_nobody has no entry in the ledger of 2026-03" "$? $(cat err)"
"$acre" --db d.db statement 2026-03 >/dev/null 2>err
check "no --affiliate: exit 2" "2 acre: statement: --affiliate ID names whose statement" \
    "$? $(head -1 err)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
