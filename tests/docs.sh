#!/bin/sh
# tests/docs.sh ACRE DOC — ingests every ```ndjson KIND block of DOC, in order, into a fresh
# store; each must be stored with nothing rejected. Keeps the samples in docs/records.md true.
set -eu
acre=$1 doc=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 fail=0
awk -v dir="$work" '
    /^```ndjson / { n++; kind = $2; file = sprintf("%s/%03d", dir, n); print kind > (file ".kind"); inblock = 1; next }
    /^```/ { inblock = 0; next }
    inblock { print > (sprintf("%s/%03d", dir, n) ".ndjson") }
' "$doc"
for k in "$work"/*.kind; do
    f=${k%.kind}.ndjson
    kind=$(cat "$k")
    n=$((n + 1))
    if ! out=$("$acre" --db "$work/db" ingest "$kind" "$f" --explain 2>&1); then
        echo "FAIL sample $n ($kind):"
        echo "$out"
        fail=$((fail + 1))
    fi
done
[ "$n" -gt 0 ] || { echo "no samples found in $doc"; exit 1; }
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
