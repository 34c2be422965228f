#!/bin/sh
# tests/payouts.sh ACRE FIXTURES — finance's month end (SPEC 10): `acre payouts` and the summary's
# status and names.
# 1. The demo's three closed months as payout files, each number worked out from the ledgers in
#    fixtures/demo/expected by SPEC 5.5: total = earned + brought_forward; paid when total > 0
#    and total >= min_payout, else carried (below_min_payout, negative, or zero), and per
#    currency the sums of the rows.
# 2. The JSON form of March, and the summary with names and status beside each ID.
# 3. A zero month, a name with a comma and a quote (CSV quoting), an ID of 500 characters shown
#    whole, a period not closed (exit 4) and a bad --format (exit 2).
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$1
fixtures=$2
. "$here/check.sh"
scratch

"$acre" replay "$fixtures/demo" --into d.db >/dev/null 2>&1; check "replay demo" 0 $?

# January: aff_bets 56.00 >= 50 paid; aff_nordic 34.12 < its min_payout 100: carried;
# aff_nordic_sub and aff_prop_310 have min_payout 0: paid. EUR: earned 34.12 + 30.00 = 64.12,
# payable 30.00, carried 34.12.
check "payouts 2026-01" "affiliate_id,name,currency,earned,brought_forward,total,min_payout,payable,carried_forward,status
aff_bets,Bet Tips Daily,GBP,56.00,0.00,56.00,50.00,56.00,0.00,paid
aff_nordic,Nordic Slots Media,EUR,34.12,0.00,34.12,100.00,0.00,34.12,below_min_payout
aff_nordic_sub,Fjord Reviews,EUR,30.00,0.00,30.00,0.00,30.00,0.00,paid
aff_prop_310,Funded Trader Club,USD,81.05,0.00,81.05,0.00,81.05,0.00,paid
,total,EUR,64.12,0.00,64.12,,30.00,34.12,
,total,GBP,56.00,0.00,56.00,,56.00,0.00,
,total,USD,81.05,0.00,81.05,,81.05,0.00," "$("$acre" --db d.db payouts 2026-01)"

# February: aff_nordic earns 0.00 and brings 34.12, still under 100; aff_nordic_sub's CPA is
# clawed back, -30.00: negative, carried. EUR: earned -30.00, brought 34.12, total 4.12, paid
# 0.00, carried 34.12 - 30.00 = 4.12.
check "payouts 2026-02" "affiliate_id,name,currency,earned,brought_forward,total,min_payout,payable,carried_forward,status
aff_bets,Bet Tips Daily,GBP,55.35,0.00,55.35,50.00,55.35,0.00,paid
aff_nordic,Nordic Slots Media,EUR,0.00,34.12,34.12,100.00,0.00,34.12,below_min_payout
aff_nordic_sub,Fjord Reviews,EUR,-30.00,0.00,-30.00,0.00,0.00,-30.00,negative
aff_prop_310,Funded Trader Club,USD,16.02,0.00,16.02,0.00,16.02,0.00,paid
,total,EUR,-30.00,34.12,4.12,,0.00,4.12,
,total,GBP,55.35,0.00,55.35,,55.35,0.00,
,total,USD,16.02,0.00,16.02,,16.02,0.00," "$("$acre" --db d.db payouts 2026-02)"

# March: aff_bets 20.00 < 50 carried; aff_nordic 150.00 + 34.12 = 184.12 >= 100 paid;
# aff_nordic_sub still -30.00. EUR: earned 150.00, brought 34.12 - 30.00 = 4.12, total 154.12,
# paid 184.12, carried -30.00.
check "payouts 2026-03 json" '{"period":"2026-03","digest":"sha256:6a185f04e64233c73ffcbf7070f9849690d04847df4a56660b2d4d714de2b317","affiliates":[{"affiliate_id":"aff_bets","name":"Bet Tips Daily","currency":"GBP","earned":"20.00","brought_forward":"0.00","total":"20.00","min_payout":"50.00","payable":"0.00","carried_forward":"20.00","status":"below_min_payout"},{"affiliate_id":"aff_nordic","name":"Nordic Slots Media","currency":"EUR","earned":"150.00","brought_forward":"34.12","total":"184.12","min_payout":"100.00","payable":"184.12","carried_forward":"0.00","status":"paid"},{"affiliate_id":"aff_nordic_sub","name":"Fjord Reviews","currency":"EUR","earned":"0.00","brought_forward":"-30.00","total":"-30.00","min_payout":"0.00","payable":"0.00","carried_forward":"-30.00","status":"negative"},{"affiliate_id":"aff_prop_310","name":"Funded Trader Club","currency":"USD","earned":"124.75","brought_forward":"0.00","total":"124.75","min_payout":"0.00","payable":"124.75","carried_forward":"0.00","status":"paid"}],"totals":[{"currency":"EUR","earned":"150.00","brought_forward":"4.12","total":"154.12","payable":"184.12","carried_forward":"-30.00","affiliates":2,"paid":1},{"currency":"GBP","earned":"20.00","brought_forward":"0.00","total":"20.00","payable":"0.00","carried_forward":"20.00","affiliates":1,"paid":0},{"currency":"USD","earned":"124.75","brought_forward":"0.00","total":"124.75","payable":"124.75","carried_forward":"0.00","affiliates":1,"paid":1}]}' \
    "$("$acre" --db d.db payouts 2026-03 --format json)"
check "digest is the ledger's" "$("$acre" --db d.db ledger 2026-03 | jq -r .digest)" \
    "$("$acre" --db d.db payouts 2026-03 --format json | jq -r .digest)"

# one affiliate's row, and its totals alone
check "payouts of one affiliate" "affiliate_id,name,currency,earned,brought_forward,total,min_payout,payable,carried_forward,status
aff_nordic,Nordic Slots Media,EUR,150.00,34.12,184.12,100.00,184.12,0.00,paid
,total,EUR,150.00,34.12,184.12,,184.12,0.00," "$("$acre" --db d.db payouts 2026-03 --affiliate aff_nordic)"

# the summary: the same status, the names beside the IDs, columns as wide as their longest text
check "summary 2026-03" "2026-03  affiliate      name               cur lines       earned  brought fwd      payable  carried fwd  status
         aff_bets       Bet Tips Daily     GBP     1        20.00         0.00         0.00        20.00  below_min_payout
         aff_nordic     Nordic Slots Media EUR     1       150.00        34.12       184.12         0.00  paid
         aff_nordic_sub Fjord Reviews      EUR     0         0.00       -30.00         0.00       -30.00  negative
         aff_prop_310   Funded Trader Club USD     2       124.75         0.00       124.75         0.00  paid
         to pay                            GBP                                         0.00
         to pay                            EUR                                       184.12
         to pay                            USD                                       124.75" \
    "$("$acre" --db d.db ledger 2026-03 --format summary)"
# a ledger file alone has no names: the column goes
check "summary of a file" "2026-03  affiliate      cur lines       earned  brought fwd      payable  carried fwd  status" \
    "$("$acre" ledger --file "$fixtures/demo/expected/2026-03.json" --format summary | head -1)"

# zero: an affiliate with a plan and nothing in the month (min-payout-two-months without its
# activity): earned 0.00, nothing brought: total 0.00; the name has a comma and a quote, and
# begins with "=", which a spreadsheet would run as a formula: written after an apostrophe
mp=$fixtures/min-payout-two-months
printf '{"affiliate_id":"aff_1","name":"=Casino \\"Best\\", Ltd","currency":"EUR","min_payout":"100"}\n' >aff.ndjson
"$acre" --db z.db ingest affiliates aff.ndjson >/dev/null
"$acre" --db z.db plan add "$mp/plans/plan.json" >/dev/null
"$acre" --db z.db ingest assignments "$mp/assignments.ndjson" >/dev/null
"$acre" --db z.db close 2026-01 >/dev/null; check "close empty month" 0 $?
check "payouts zero" "affiliate_id,name,currency,earned,brought_forward,total,min_payout,payable,carried_forward,status
aff_1,\"'=Casino \"\"Best\"\", Ltd\",EUR,0.00,0.00,0.00,100.00,0.00,0.00,zero
,total,EUR,0.00,0.00,0.00,,0.00,0.00," "$("$acre" --db z.db payouts 2026-01)"

# an ID of 500 characters (long-affiliate-id-late: "é" 500 times) whole in the summary and the
# payout file, never cut
"$acre" replay "$fixtures/long-affiliate-id-late" --into l.db >/dev/null
long=$(jq -r .affiliate_id "$fixtures/long-affiliate-id-late/affiliates.ndjson")
check "long id length" 500 "$(printf '%s' "$long" | wc -m | tr -d ' ')"
check "long id in the summary" 1 "$("$acre" --db l.db ledger 2026-01 --format summary | grep -cF "         $long ")"
check "long id in payouts" "$long" "$("$acre" --db l.db payouts 2026-01 | sed -n 2p | cut -d, -f1)"

"$acre" --db d.db payouts 2026-05 >/dev/null 2>err; check "not closed exit" 4 $?
check "not closed message" "acre: payouts: period 2026-05 is not closed" "$(cat err)"
"$acre" --db d.db payouts 2026-03 --format xml >/dev/null 2>err; check "bad format exit" 2 $?
check "bad format message" "acre: payouts: --format csv or json" "$(head -1 err)"
"$acre" --db missing.db payouts 2026-03 >/dev/null 2>&1; check "missing store exit" 2 $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
