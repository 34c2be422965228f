#!/bin/sh
# tools/demo.sh [ACRE] — the demo operator (fixtures/demo) over three months, in a fresh store at
# $DEMO_DB (default ./demo.db, replaced): each month's records ingested (what was stored, what was
# refused and why), the month closed and its ledger summarised; March's payout file and one
# statement (its HTML beside the store); then the audit, and each ledger compared with
# fixtures/demo/expected/, whose numbers are worked by hand in fixtures/demo/case.json. Exits
# non-zero if any ingest summary or ledger differs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
acre=${1:-$here/build/acre}
d=$here/fixtures/demo
db=${DEMO_DB:-$PWD/demo.db}
rm -f "$db" "$db-wal" "$db-shm"
failed=0

# ingest KIND WANT_COUNTS WANT_EXIT FILE [OPTION]: received/inserted/updated/unchanged/rejected as
# counted by hand from the file
ingest() {
    kind=$1 want=$2 want_rc=$3 file=$4 opt=${5:-}
    printf '$ acre ingest %s %s%s\n' "$kind" "fixtures/demo/$(basename "$file")" "${opt:+ $opt}"
    rc=0
    out=$("$acre" --db "$db" ingest "$kind" "$file" --explain $opt 2>"$db.err") || rc=$?
    echo "$out"
    sed "s|$d/||g; s/^/    /" "$db.err"
    got=$(echo "$out" | sed 's/.*"received":\([0-9]*\),"inserted":\([0-9]*\),"updated":\([0-9]*\),"unchanged":\([0-9]*\),"rejected":\([0-9]*\).*/\1 \2 \3 \4 \5/')
    if [ "$got" != "$want" ] || [ "$rc" != "$want_rc" ]; then
        echo "demo: $kind: expected received/inserted/updated/unchanged/rejected $want and exit $want_rc, got $got and exit $rc" >&2
        failed=1
    fi
}

close() {
    printf '$ acre close %s\n' "$1"
    "$acre" --db "$db" close "$1" >/dev/null
    "$acre" --db "$db" ledger "$1" --format summary
    if ! "$acre" --db "$db" ledger "$1" | cmp -s - "$d/expected/$1.json"; then
        echo "demo: the $1 ledger differs from fixtures/demo/expected/$1.json" >&2
        failed=1
    fi
}

echo "acre demo: a small operator over January-March 2026, in $db"
echo
echo "== the operator: affiliates, plans, assignments, FX rates, customers"
ingest affiliates "4 4 0 0 0" 0 "$d/affiliates.ndjson"
printf '$ acre plan add fixtures/demo/plans/*.json\n'
"$acre" --db "$db" plan add "$d"/plans/*.json | sed "s|$d/||"
ingest assignments "5 5 0 0 0" 0 "$d/assignments.ndjson"
ingest fx-rates "5 5 0 0 0" 0 "$d/fx-rates.ndjson"
ingest igaming/customers "5 5 0 0 0" 0 "$d/igaming-customers.ndjson"
ingest prop-trading/customers "2 2 0 0 0" 0 "$d/prop-customers.ndjson"

echo
echo "== January"
ingest igaming/transactions "5 5 0 0 0" 0 "$d/jan-igaming-transactions.ndjson"
# three mistakes refused with reasons, the good withdrawal stored
ingest igaming/transactions "4 1 0 0 3" 3 "$d/jan-mistakes.ndjson"
ingest prop-trading/transactions "1 1 0 0 0" 0 "$d/jan-prop-transactions.json"
ingest igaming/gaming-activity "4 4 0 0 0" 0 "$d/jan-gaming-activity.ndjson"
ingest prop-trading/trading-activity "1 1 0 0 0" 0 "$d/jan-trading-activity.ndjson"
ingest bonus-events "2 2 0 0 0" 0 "$d/jan-bonus-events.ndjson"
ingest flags "1 1 0 0 0" 0 "$d/jan-flags.ndjson"
close 2026-01

echo
echo "== February: January's deposit t_5004 comes back reversed, after January was closed"
ingest igaming/transactions "1 0 1 0 0" 0 "$d/feb-late-reversal.ndjson"
# the same reversal sent twice: refused as a re-sent file (exit 3, nothing stored); with --again
# it is stored and found unchanged: no new version
ingest igaming/transactions "1 0 0 0 1" 3 "$d/feb-late-reversal.ndjson"
ingest igaming/transactions "1 0 0 1 0" 0 "$d/feb-late-reversal.ndjson" --again
ingest igaming/transactions "1 1 0 0 0" 0 "$d/feb-igaming-transactions.ndjson"
ingest prop-trading/transactions "1 1 0 0 0" 0 "$d/feb-prop-transactions.json"
ingest igaming/gaming-activity "2 2 0 0 0" 0 "$d/feb-gaming-activity.ndjson"
close 2026-02

echo
echo "== March"
ingest prop-trading/transactions "1 1 0 0 0" 0 "$d/mar-prop-transactions.json"
ingest igaming/gaming-activity "2 2 0 0 0" 0 "$d/mar-gaming-activity.ndjson"
ingest prop-trading/trading-activity "1 1 0 0 0" 0 "$d/mar-trading-activity.ndjson"
close 2026-03

echo
echo "== What finance pays for March: the payout file (tests/payouts.sh checks each number)"
echo '$ acre payouts 2026-03'
"$acre" --db "$db" payouts 2026-03 || failed=1

echo
html=${db%.db}-statement.html
echo "== The statement finance sends Nordic Slots Media for March (as HTML, to print: $html)"
echo '$ acre statement 2026-03 --affiliate aff_nordic --format text'
"$acre" --db "$db" statement 2026-03 --affiliate aff_nordic --format text || failed=1
"$acre" --db "$db" statement 2026-03 --affiliate aff_nordic >"$html" || failed=1

echo
echo '$ acre audit'
"$acre" --db "$db" audit || failed=1
rm -f "$db.err"
echo
if [ $failed -eq 0 ]; then
    echo "Every summary and ledger is the one worked out by hand (fixtures/demo/case.json)."
    echo "Next: docs/guides/ (closing a month, trying a new deal, replaying and checking a ledger)."
fi
exit $failed
