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
# 5. The manager's chart (`acre simulate --format svg|html`), the deal of
#    docs/guides/trying-a-new-deal.md (casino-revshare at 30% instead of 25%) over the demo's
#    three closed months and open April: the SVG is well-formed XML whose bars are the worked
#    heights below; the HTML, printed by Chromium, holds every figure of `--format json`, and
#    aff_nordic's 184.12 -> 220.35 (+36.23, 19.7%: +6.23 in January, +30.00 in March).
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

# the manager's chart: 25% -> 30% on casino-revshare
sed 's/"25%"/"30%"/; s/share 25%/share 30%/' "$fixtures/demo/plans/casino-revshare.json" >n30.json
"$acre" --db d.db simulate 2026-01..2026-04 --plan n30.json --format svg >sim.svg
check "simulate svg" 0 $?
check "the svg is well-formed XML" ok "$(python3 -c 'import sys, xml.etree.ElementTree as E
E.parse(sys.argv[1]); print("ok")' sim.svg 2>&1)"
check "aff_nordic's heading" 1 "$(grep -c '>aff_nordic EUR: baseline 184.12, simulated 220.35, difference 36.23 (19.7%)<' sim.svg)"
# aff_nordic's bars: no value below 0, the largest 180.00 (March simulated) spans the plot's 80
# pixels, so a bar is value * 80 / 180 rounded: 150.00 -> 66.67 -> 67, 40.35 -> 17.93 -> 18,
# 34.12 -> 15.16 -> 15, 0 -> 0
bars=$(sed -n '/>aff_nordic EUR:/,/<\/g>/p' sim.svg | sed -n 's/.*height="\([0-9]*\)" class="\(base\|sim\)"><title>\(.*\)<\/title>.*/\3 \1/p')
check "aff_nordic's bar heights" "2026-01 baseline: 34.12 15
2026-01 simulated: 40.35 18
2026-02 baseline: 0.00 0
2026-02 simulated: 0.00 0
2026-03 baseline: 150.00 67
2026-03 simulated: 180.00 80
2026-04 baseline: 0.00 0
2026-04 simulated: 0.00 0" "$bars"
# the EUR total's zero line: its values reach 180.00 above 0 and 30.00 below (February's
# clawback of aff_nordic_sub), a span of 210 over 80 pixels: 180 * 80 / 210 = 68.57 -> 69 below
# the plot's top at 26: y = 95
check "a zero line above the clawback" 1 \
    "$(sed -n '/>total EUR:/,/<\/g>/p' sim.svg | grep -c '<line x1="10" y1="95" x2="750" y2="95"')"
check "the differences under the months" "+6.23 +30.00" \
    "$(sed -n '/>aff_nordic EUR:/,/<\/g>/p' sim.svg | sed -n 's/.*class="diff up">\(.*\)<\/text>/\1/p' | tr '\n' ' ' | sed 's/ $//')"
"$acre" --db d.db simulate 2026-01..2026-04 --plan n30.json --format html >sim.html
check "simulate html: self-contained" "" \
    "$(grep -o -i -e '<script' -e '<link' -e '<img' -e 'url(' -e 'https\?://[^"]*' sim.html |
        grep -v '^http://www.w3.org/2000/svg$')"
rm -f s.pdf
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
    --user-data-dir="$work/chrome" --print-to-pdf="$work/s.pdf" "file://$work/sim.html" \
    >/dev/null 2>&1
check "simulate html: printed to PDF" 1 "$([ -s s.pdf ] && echo 1)"
pdftotext -layout s.pdf sim.txt 2>/dev/null
"$acre" --db d.db simulate 2026-01..2026-04 --plan n30.json --format json >sim.json
missing=""
for amount in $(jq -r '.affiliates[] | (.baseline, .simulated, .difference,
        (.periods[] | .baseline, .simulated, .difference))' sim.json | sort -u); do
    grep -q -- "$amount" sim.txt || missing="$missing $amount"
done
check "simulate html: every figure in the PDF" "" "$missing"
# March: 150.00 -> 180.00 for aff_nordic, and so for the EUR total (aff_nordic_sub earns 0)
check "simulate html: aff_nordic's and the EUR total's March row" 2 \
    "$(grep -c '^ *2026-03 *150.00 *180.00 *30.00$' sim.txt)"
check "simulate html: aff_nordic's sum" 1 \
    "$(grep -A1 '^ *aff_nordic EUR$' sim.txt | grep -c 'baseline 184.12, simulated 220.35, difference 36.23 (19.7%)')"
# the SVG printed too: its text is there
rm -f s.pdf
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
    --user-data-dir="$work/chrome" --print-to-pdf="$work/s.pdf" "file://$work/sim.svg" \
    >/dev/null 2>&1
check "simulate svg: printed, its headings there" 1 \
    "$(pdftotext s.pdf - 2>/dev/null | grep -c 'aff_nordic EUR: baseline 184.12, simulated 220.35, difference 36.23 (19.7%)')"
# an ID with markup and a control character, assigned for April: escaped, still XML
printf '%s\n' '{"affiliate_id":"x<y>&\"z'"'"' \u0001,","currency":"EUR"}' >nasty.ndjson
printf '%s\n' '{"affiliate_id":"x<y>&\"z'"'"' \u0001,","plan_id":"casino-revshare","effective_from":"2026-04"}' >nasty-a.ndjson
cp d.db n.db
"$acre" --db n.db ingest affiliates nasty.ndjson >/dev/null &&
    "$acre" --db n.db ingest assignments nasty-a.ndjson >/dev/null
"$acre" --db n.db simulate 2026-04 --plan n30.json --format svg >n.svg
check "a markup ID: escaped" 1 "$(grep -c '>x&lt;y&gt;&amp;&quot;z&#39;  , EUR: ' n.svg)"
check "a markup ID: still XML" ok "$(python3 -c 'import sys, xml.etree.ElementTree as E
E.parse(sys.argv[1]); print("ok")' n.svg 2>&1)"
check "a markup ID: one quoted CSV field" 1 \
    "$("$acre" --db n.db simulate 2026-04 --plan n30.json --format csv | grep -c '^2026-04,"x<y>&""z'"'"' .,",EUR,0.00,0.00,0.00$')"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
