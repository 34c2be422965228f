#!/bin/sh
# tests/reliability.sh ACRE FIXTURES [MAX_RSS_MB] — the reliability promises of
# docs/RELIABILITY.md (issue 16): output cut short exits 4; ingest refuses what it cannot read
# and never truncates its input; reject lines stay bounded and valid; plan show reads its
# version strictly; ledger --file exports only a file that verifies; simulate of an unknown
# affiliate; the write lock is not held while waiting on stdin; JSON arrays are read in bounded
# memory; parent cycles are found exactly.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
fixtures=$(realpath "$2")
max_rss=${3:-}
. "$here/check.sh"
scratch

# ---- output write errors ----------------------------------------------------------------
# The demo fixture's three closed months give a 9,780-byte 2026-03 ledger.
"$acre" replay "$fixtures/demo" --into s.db >/dev/null 2>&1
"$acre" --db s.db ledger 2026-03 >l.json
hybrid=$fixtures/demo/plans/casino-revshare.json
printf '{"affiliate_id":"a-new"}\n' >new.ndjson
# full NAME ARGS...: the command's output to /dev/full (ENOSPC at the first flush) exits 4
full() {
    name=$1
    shift
    "$acre" "$@" >/dev/full 2>err
    check "/dev/full: $name: exit" 4 $?
    check "/dev/full: $name: message" "acre: writing the output failed: No space left on device; it is incomplete" "$(tail -n 1 err)"
}
for f in json csv summary hledger beancount; do
    full "ledger --format $f" --db s.db ledger 2026-03 --format $f
    full "preview --format $f" --db s.db preview 2026-04 --format $f
done
full "ledger --file" ledger --file l.json --format csv
for f in table json csv; do
    full "simulate --format $f" --db s.db simulate 2026-03 --plan "$hybrid" --format $f
done
full "status" --db s.db status
full "plan list" --db s.db plan list
full "plan show" --db s.db plan show casino-revshare
full "audit" --db s.db audit
full "verify" verify l.json
full "kinds" kinds
full "--help" --help
full "ingest's summary line" --db s.db ingest affiliates new.ndjson
# A full disk: with SIGXFSZ ignored and a 4-block file size limit (sh's ulimit -f counts 512-byte
# blocks), writes past 2,048 bytes fail with EFBIG; the 9,780-byte ledger is cut there, exit 4.
# (ledger --file: the limit would also stop SQLite's 32 KiB shared-memory file of a store.)
( trap '' XFSZ; ulimit -f 4; "$acre" ledger --file l.json >cut.json 2>err ); rc=$?
check "full disk: exit" 4 $rc
check "full disk: the file was cut at 2,048 bytes" 2048 "$(wc -c <cut.json | tr -d ' ')"
check "full disk: message" "acre: writing the output failed: File too large; it is incomplete" "$(tail -n 1 err)"
( trap '' XFSZ; ulimit -f 2; "$acre" ledger --file l.json --format hledger >cut.journal 2>/dev/null ); rc=$?
check "full disk, hledger (2,018 bytes, cut at 1,024): exit" 4 $rc
# the reject file under a 128-block (64 KiB) limit: 100 rejected records of 1,000 characters
# each give more than 100 KB of reject lines
python3 -c '
for i in range(100): print("{\"affiliate_id\":\"r%d\",\"x\":\"%s\"}" % (i, "y" * 1000))' >bigrej.ndjson
( trap '' XFSZ; ulimit -f 128; "$acre" --db s.db ingest affiliates bigrej.ndjson --rejects rej.ndjson >/dev/null 2>err ); rc=$?
check "full disk, --rejects FILE: exit" 4 $rc
check "full disk, --rejects FILE: message" "acre: ingest: writing rej.ndjson failed; the rejects in it are incomplete" "$(tail -n 1 err)"
check "full disk, --rejects FILE: cut at 64 KiB" 65536 "$(wc -c <rej.ndjson | tr -d ' ')"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
