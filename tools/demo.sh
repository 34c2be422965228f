#!/bin/sh
# tools/demo.sh [ACRE] — ingest the demo operator (fixtures/demo) into a fresh store and show
# what was stored and what was refused, and why. Exits non-zero if any summary differs from
# what the files hold (counted by hand from fixtures/demo; see its README.md).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
acre=${1:-$here/build/acre}
cd "$here"
d=fixtures/demo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/demo.db
failed=0

# step KIND WANT_SUMMARY_COUNTS WANT_EXIT FILE...
step() {
    kind=$1 want=$2 want_rc=$3
    shift 3
    printf '\n$ acre ingest %s %s\n' "$kind" "$*"
    rc=0
    out=$("$acre" --db "$db" ingest "$kind" "$@" --explain 2>"$work/err") || rc=$?
    echo "$out"
    sed 's/^/    /' "$work/err"
    got=$(echo "$out" | sed 's/.*"received":\([0-9]*\),"inserted":\([0-9]*\),"updated":\([0-9]*\),"unchanged":\([0-9]*\),"rejected":\([0-9]*\).*/\1 \2 \3 \4 \5/')
    if [ "$got" != "$want" ] || [ "$rc" != "$want_rc" ]; then
        echo "demo: $kind: expected received/inserted/updated/unchanged/rejected $want and exit $want_rc, got $got and exit $rc" >&2
        failed=1
    fi
}

echo "acre demo: a small operator's records, ingested into $db"
step affiliates "4 4 0 0 0" 0 "$d/affiliates.ndjson"
step assignments "5 5 0 0 0" 0 "$d/assignments.ndjson"
step fx-rates "5 5 0 0 0" 0 "$d/fx-rates.ndjson"
step igaming/customers "5 5 0 0 0" 0 "$d/igaming-customers.ndjson"
step prop-trading/customers "2 2 0 0 0" 0 "$d/prop-customers.ndjson"
step igaming/transactions "6 6 0 0 0" 0 "$d/igaming-transactions.ndjson"
step prop-trading/transactions "3 3 0 0 0" 0 "$d/prop-transactions.json"
step igaming/gaming-activity "5 5 0 0 0" 0 "$d/gaming-activity.ndjson"
step prop-trading/trading-activity "2 2 0 0 0" 0 "$d/trading-activity.ndjson"
step bonus-events "2 2 0 0 0" 0 "$d/bonus-events.ndjson"
step flags "1 1 0 0 0" 0 "$d/flags.ndjson"
# the same deposit re-sent as reversed: a new version of t_5003, the old one kept
step igaming/transactions "1 0 1 0 0" 0 "$d/late-reversal.ndjson"
# the same reversal sent twice: the second is unchanged and makes no new version
step igaming/transactions "1 0 0 1 0" 0 "$d/late-reversal.ndjson"
# three mistakes refused with reasons, the good withdrawal stored
step igaming/transactions "4 1 0 0 3" 3 "$d/mistakes.ndjson"

printf '\n$ acre status\n'
"$acre" --db "$db" status
exit $failed
