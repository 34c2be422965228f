#!/bin/sh
# tests/replay.sh ACRE FIXTURES — a fixture's data files and its expected/ stay inside the
# fixture: a symlink that leads outside is refused (a fixture from elsewhere cannot make replay
# read another file of the machine, or --update write through expected/ outside it); a symlink
# inside the fixture is followed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$1
fixtures=$2
. "$here/check.sh"
scratch

cp -r "$fixtures/carryover-textbook" fx
"$acre" replay fx; check "copy replays" 0 $?

# a data file that is a symlink inside the fixture: followed
mkdir fx/data && mv fx/activity.ndjson fx/data/ && ln -s data/activity.ndjson fx/activity.ndjson
"$acre" replay fx; check "symlink inside" 0 $?

# a data file that leads outside: refused, exit 2
echo '{"affiliate_id": "outsider"}' >outside.ndjson
rm fx/affiliates.ndjson && ln -s "$work/outside.ndjson" fx/affiliates.ndjson
"$acre" replay fx >/dev/null 2>err; check "symlink outside: exit" 2 $?
check "symlink outside: message" "acre: replay: step 0: fx/affiliates.ndjson leads outside the fixture (a symlink): refused" "$(cat err)"
rm fx/affiliates.ndjson && cp "$fixtures/carryover-textbook/affiliates.ndjson" fx/

# expected/ a symlink to a folder outside: --update refuses and writes nothing there
mkdir elsewhere
mv fx/expected fx/expected.kept && ln -s "$work/elsewhere" fx/expected
"$acre" replay fx --update >/dev/null 2>err; check "expected outside: exit" 4 $?
check "expected outside: message" "acre: replay: fx/expected leads outside the fixture (a symlink): refused" "$(cat err)"
check "expected outside: nothing written" "" "$(ls elsewhere)"
rm fx/expected && mv fx/expected.kept fx/expected

# an expected file that is a symlink (to outside): --update does not write through it
echo keep >target.json
rm fx/expected/2026-01.json && ln -s "$work/target.json" fx/expected/2026-01.json
"$acre" replay fx --update >/dev/null 2>err; check "expected file symlink: exit" 4 $?
check "expected file symlink: message" "acre: replay: cannot write fx/expected/2026-01.json: it is a symlink" "$(cat err)"
check "expected file symlink: target untouched" "keep" "$(cat target.json)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
