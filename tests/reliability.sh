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
    "$acre" "$@" >/dev/null 2>err
    check "$name: exit 0 when the output can be written" 0 $?
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
full "plan add's line" --db s.db plan add "$hybrid"
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

# ---- ingest's input, rejects, plan show, ledger --file, simulate --affiliate -------------
# A directory reads as an error, not as an empty file: exit 4, nothing stored (not even the
# ingest log's row), and no summary line.
before=$(sha256sum <s.db)
"$acre" --db s.db ingest affiliates /etc >out 2>err; check "ingest a directory: exit" 4 $?
check "ingest a directory: message" "acre: ingest: /etc is a directory, not a file of records; nothing is stored" "$(cat err)"
check "ingest a directory: no summary" "" "$(cat out)"
check "ingest a directory: store unchanged" "$before" "$(sha256sum <s.db)"
# A file whose read fails (reading /proc/self/mem at offset 0 gives EIO): exit 4, nothing stored
"$acre" --db s.db ingest affiliates /proc/self/mem >out 2>err; check "ingest a read error: exit" 4 $?
check "ingest a read error: message" "acre: /proc/self/mem: read error; nothing of it is stored" "$(cat err)"
check "ingest a read error: nothing stored" 0 "$(sqlite3 s.db "SELECT count(*) FROM ingest_batch WHERE source = '/proc/self/mem'")"
# the same for plans: plan add and simulate --plan of a directory exit 4 (was 3, "'[' or '{'
# expected near end of file": the read error taken for an empty file)
"$acre" --db s.db plan add /etc >/dev/null 2>err; check "plan add a directory: exit" 4 $?
check "plan add a directory: message" "acre: /etc: read error; nothing of it is stored" "$(cat err)"
"$acre" --db s.db simulate 2026-03 --plan /etc >/dev/null 2>err; check "simulate --plan a directory: exit" 4 $?
check "simulate --plan a directory: message" "acre: simulate: /etc: read error" "$(cat err)"
# --rejects naming an input (by another path, and through a hard link): refused before anything
# is opened for writing, the input byte-identical
cp "$fixtures/demo/affiliates.ndjson" in.ndjson
ln in.ndjson link.ndjson
want=$(sha256sum <in.ndjson)
"$acre" --db s.db ingest affiliates new.ndjson in.ndjson --rejects ./link.ndjson >out 2>err
check "--rejects is an input: exit" 2 $?
check "--rejects is an input: message" "acre: ingest: --rejects ./link.ndjson is the input file in.ndjson; name another file for the rejects" "$(cat err)"
check "--rejects is an input: the input as it was" "$want" "$(sha256sum <in.ndjson)"
"$acre" --db s.db ingest affiliates --rejects in.ndjson <in.ndjson >out 2>err
check "--rejects is stdin's file: exit" 2 $?
check "--rejects is stdin's file: the input as it was" "$want" "$(sha256sum <in.ndjson)"
# A message quoting 40 bytes of a value: 39 E's then é (2 bytes) would be cut inside the é; the
# message keeps the 39 E's and drops the whole character, so the reject line is valid UTF-8.
e39=EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE
printf '{"affiliate_id":"u1","currency":"%s\303\251"}\n' "$e39" >utf8.ndjson
"$acre" --db s.db ingest affiliates utf8.ndjson --rejects rej.ndjson >/dev/null 2>&1
check "a cut value keeps whole characters" "currency: \"$e39\" is not an ISO 4217 currency code (upper case, e.g. EUR)" \
    "$(python3 -c 'import json,sys; print(json.loads(open("rej.ndjson","rb").read().decode("utf-8"))["errors"][0]["message"])')"
# A field name of 100 é's (200 bytes) cut into the 64-byte field: 31 whole é's (62 bytes)
python3 -c 'print("{\"affiliate_id\":\"u2\",\"%s\":1}" % ("\u00e9" * 100))' >key.ndjson
"$acre" --db s.db ingest affiliates key.ndjson --rejects rej.ndjson >/dev/null 2>&1
check "a cut field name keeps whole characters" 31 \
    "$(python3 -c 'import json; print(len(json.loads(open("rej.ndjson","rb").read().decode("utf-8"))["errors"][0]["field"]))')"
# A rejected 6 MB record (3,000,000 é's of an unknown field) is not echoed whole: its length
# and its first 4,096 bytes (cut at a character), and the line is valid JSON. The record's JSON
# is {"affiliate_id":"h12","x":"...."}: 27 + 6,000,000 + 2 bytes; the prefix is the 27 bytes of
# ASCII then 2,034 é's (4,068 bytes): the 2,035th would end at byte 4,097.
python3 -c 'print("{\"affiliate_id\":\"h12\",\"x\":\"%s\"}" % ("\u00e9" * 3000000))' >huge.ndjson
"$acre" --db s.db ingest affiliates huge.ndjson --rejects rej.ndjson >/dev/null 2>&1
check "a huge reject: exit" 3 $?
check "a huge reject: length, prefix, error" "6000029 4095 x/unknown_field" "$(python3 -c '
import json
d = json.loads(open("rej.ndjson", "rb").read().decode("utf-8"))
print(d["record_bytes"], len(d["record_prefix"].encode()), d["errors"][0]["field"] + "/" + d["errors"][0]["rule"])')"
check "a huge reject: the line is short" yes "$([ "$(wc -c <rej.ndjson)" -lt 5000 ] && echo yes || echo no)"
# plan show ID@VERSION: the version is the whole text after @
"$acre" --db s.db plan show casino-revshare@1abc >/dev/null 2>err; check "plan show @1abc: exit" 2 $?
check "plan show @1abc: message" "acre: plan show: VERSION is a number from 1" "$(head -n 1 err)"
for v in ' 1' +1 0 99999999999999999999; do
    "$acre" --db s.db plan show "casino-revshare@$v" >/dev/null 2>&1; check "plan show @$v: exit" 2 $?
done
"$acre" --db s.db plan show casino-revshare@1 >/dev/null; check "plan show @1: exit" 0 $?
# ledger --file exports only a file that verifies: one earned changed is refused, exit 4, no output
sed 's/"earned":"150.00"/"earned":"999.00"/' l.json >forged.json
"$acre" ledger --file forged.json --format csv >out 2>err; check "ledger --file forged: exit" 4 $?
check "ledger --file forged: no output" "" "$(cat out)"
check "ledger --file forged: message" "acre: ledger: forged.json does not verify (acre verify forged.json); it is not exported" "$(tail -n 1 err)"
check "ledger --file forged: the reason" yes "$(grep -q 'forged.json: affiliate aff_nordic: earned is "999.00"' err && echo yes || echo no)"
# simulate --affiliate naming no affiliate of any ledger: exit 2, said plainly
"$acre" --db s.db simulate 2026-03 --plan "$hybrid" --affiliate nosuch >out 2>err
check "simulate --affiliate nosuch: exit" 2 $?
check "simulate --affiliate nosuch: message" "acre: simulate: --affiliate nosuch: no ledger of 2026-03..2026-03 names affiliate nosuch" "$(cat err)"

# ---- the write lock and a slow stdin ------------------------------------------------------
# The first ingest reads a FIFO that stays open and empty; once it has the store open and is
# asleep (blocked reading its stdin: before, that was inside its write transaction), a second
# ingest of another file to the same store must finish while the first is still waiting.
"$acre" --db w.db ingest affiliates new.ndjson >/dev/null
mkfifo slow.fifo
printf '{"affiliate_id":"slow-1"}\n{"affiliate_id":"slow-2"}\n' >slow.ndjson
printf '{"affiliate_id":"quick-1"}\n' >quick.ndjson
"$acre" --db w.db ingest affiliates <slow.fifo >slow.out 2>&1 &
slow=$!
exec 3>slow.fifo
tries=0
until ls -l "/proc/$slow/fd" 2>/dev/null | grep -q 'w\.db$' &&
    [ "$(sed 's/.*) //' "/proc/$slow/stat" | cut -c1)" = S ]; do
    tries=$((tries + 1))
    [ $tries -lt 300 ] || break
    sleep 0.1
done
check "the slow ingest is waiting on its stdin with the store open" yes "$([ $tries -lt 300 ] && echo yes || echo no)"
"$acre" --db w.db ingest affiliates quick.ndjson >quick.out 2>&1
check "a second ingest meanwhile: exit" 0 $?
check "a second ingest meanwhile: summary" '{"kind":"affiliates","received":1,"inserted":1,"updated":0,"unchanged":0,"rejected":0}' "$(cat quick.out)"
check "the second finished while the first still waits" yes "$(kill -0 $slow 2>/dev/null && echo yes || echo no)"
cat slow.ndjson >&3
exec 3>&-
wait $slow
check "the slow ingest then: exit" 0 $?
check "the slow ingest then: summary" '{"kind":"affiliates","received":2,"inserted":2,"updated":0,"unchanged":0,"rejected":0}' "$(cat slow.out)"
check "all four affiliates stored" 4 "$(sqlite3 w.db 'SELECT count(*) FROM affiliate')"

# ---- JSON arrays and envelopes in bounded memory ------------------------------------------
# 120,000 transactions as NDJSON, as a JSON array and as a {"data":[...]} envelope: each gives the
# same stored records (every table but the ingest log), and the array and the envelope peak
# under 96 MB (parsed whole they took 200 MB: about 1.6 KB a record; NDJSON takes 45 MB).
python3 - <<'PY'
t = ('{"transaction_id":"t%d","customer_id":"c1","transaction_type":"deposit","amount_currency":'
     '%d.%02d,"currency":"EUR","transaction_date":"2026-01-06T12:00:00Z","status":"approved"}')
recs = [t % (i, i % 1000, i % 100) for i in range(120000)]
open('big.ndjson', 'w').write('\n'.join(recs) + '\n')
open('big.json', 'w').write('[\n  ' + '\n ,'.join(recs) + '\n]\n')
open('big-env.json', 'w').write('{"meta":{"total":120000},\n "data":[' + ','.join(recs) + ']}')
PY
for f in big.ndjson big.json big-env.json; do
    rm -f big.db big.db-wal big.db-shm
    printf '{"affiliate_id":"a1"}\n' | "$acre" --db big.db ingest affiliates >/dev/null
    printf '{"customer_id":"c1","signup_date":"2026-01-05T10:00:00Z","affiliate_id":"a1","tracking_data":"t"}\n' |
        "$acre" --db big.db ingest igaming/customers >/dev/null
    if [ -n "$max_rss" ]; then
        /usr/bin/time -f '%M' -o rss "$acre" --db big.db ingest igaming/transactions "$f" >out
        rc=$?
        kb=$(tail -n 1 rss)
        [ "$f" = big.ndjson ] ||
            check "$f: peak memory under 96 MB (was $((kb / 1024)) MB)" yes "$([ "$kb" -lt $((96 * 1024)) ] && echo yes || echo no)"
    else
        "$acre" --db big.db ingest igaming/transactions "$f" >out
        rc=$?
    fi
    check "$f: exit" 0 $rc
    check "$f: summary" '{"kind":"igaming/transactions","received":120000,"inserted":120000,"updated":0,"unchanged":0,"rejected":0}' "$(cat out)"
    sqlite3 big.db .dump | grep -v ingest_batch | sha256sum >"$f.dump"
done
check "the array stores what the NDJSON stores" "$(cat big.ndjson.dump)" "$(cat big.json.dump)"
check "the envelope stores what the NDJSON stores" "$(cat big.ndjson.dump)" "$(cat big-env.json.dump)"
# affiliates are held until the whole file is read (their parents are decided together), past
# the reader's 2 MiB buffer: 40,000 of them (4 MB) with min_payout as JSON numbers store the same
# values as the NDJSON (the held numbers' texts once pointed into the moved buffer)
awk 'BEGIN { for (i = 0; i < 40000; i++) printf "{\"affiliate_id\":\"a%06d\",\"name\":\"%040d\",\"min_payout\":%d.%02d}\n", i, 0, i % 1000, i % 100 + 1 }' >affs.ndjson
{ printf '['; paste -sd, affs.ndjson; printf ']'; } >affs.json
for f in affs.ndjson affs.json; do
    rm -f "$f.db"
    "$acre" --db "$f.db" ingest affiliates "$f" >out 2>&1
    check "$f: held affiliates" '{"kind":"affiliates","received":40000,"inserted":40000,"updated":0,"unchanged":0,"rejected":0}' "$(cat out)"
done
check "held affiliates: the array stores the NDJSON's min_payout" \
    "$(sqlite3 affs.ndjson.db 'SELECT affiliate_id, min_payout FROM affiliate ORDER BY 1' | sha256sum)" \
    "$(sqlite3 affs.json.db 'SELECT affiliate_id, min_payout FROM affiliate ORDER BY 1' | sha256sum)"
# a record whose first key is "meta" (a bonus event has one) is a record, not an envelope; an
# envelope whose first key is "meta" is still an envelope (read whole)
demo=$2/demo
"$acre" --db meta.db ingest affiliates "$demo/affiliates.ndjson" >/dev/null
"$acre" --db meta.db ingest igaming/customers "$demo/igaming-customers.ndjson" >/dev/null
bonus='"amount":25,"bonus_id":"welcome100","currency":"EUR","exchange_rate":1,"origin":"o","product":"Casino","status":"Created","timestamp":"2026-01-03T17:31:00Z","type":"WelcomeBonus","user_id":"c_1001"'
printf '{"meta":{"k":"v"},%s,"user_bonus_id":"m1"}\n' "$bonus" >meta.ndjson
printf '{"meta":{"page":1},"data":[{"meta":{},%s,"user_bonus_id":"m2"}]}' "$bonus" >meta-env.json
for f in meta.ndjson meta-env.json; do
    out=$("$acre" --db meta.db ingest bonus-events "$f" 2>&1)
    check "$f: stored" '{"kind":"bonus-events","received":1,"inserted":1,"updated":0,"unchanged":0,"rejected":0}' "$out"
done
# a039998: 39998 % 1000 = 998, 39998 % 100 + 1 = 99: min_payout 998.99, the file's last but one
# (stored as 99899 hundredths: docs/design.md "Money as integers")
check "held affiliates: a039998's min_payout" "99899" "$(sqlite3 affs.json.db "SELECT min_payout FROM affiliate WHERE affiliate_id = 'a039998'")"
# where a JSON error inside an element is placed: as if the whole document were parsed (line 3,
# the 8th character of ' ,{"a":}' is the '}'), and a record rejected from an array keeps its
# index in the array and has no line
printf '[\n  {"affiliate_id":"x1"}\n ,{"a":}\n]\n' >badel.json
"$acre" --db s.db ingest affiliates badel.json >/dev/null 2>err
check "an array element's JSON error: exit" 3 $?
check "an array element's JSON error: where" "acre: badel.json: line 3, column 8: invalid JSON: unexpected token near '}'; the file is refused and nothing of it is stored" "$(tail -n 1 err)"
printf '{"data":[{"affiliate_id":"x2"},{"affiliate_id":"x3","y":1}]}' >rejel.json
"$acre" --db s.db ingest affiliates rejel.json >/dev/null 2>err
check "a rejected element: index 1, no line" '{"file":"rejel.json","index":1,"record":{"affiliate_id":"x3","y":1},"errors":[{"field":"y","rule":"unknown_field","message":"y: not a field of affiliates"}]}' "$(cat err)"

# Errors around the elements, found by the splitter, are worded and placed as jansson placed them
# when it parsed the whole document. Columns counted by hand: a record {"affiliate_id":"a"} is 20
# characters, so after '[' it ends at column 21; the next character is column 22.
refused() { # refused NAME TEXT WANT_MESSAGE_PART
    printf "$2" >c.json
    "$acre" --db s.db ingest affiliates c.json >/dev/null 2>err
    check "$1: exit" 3 $?
    check "$1: message" "acre: c.json: $3; the file is refused and nothing of it is stored" "$(tail -n 1 err)"
}
refused "missing comma" '[{"affiliate_id":"a"} {"affiliate_id":"b"}]' "line 1, column 23: invalid JSON: ']' expected near '{'"
refused "cut after a comma" '[{"affiliate_id":"a"},' "line 1, column 22: invalid JSON: ']' expected near end of file"
refused "text after the array" '[{"affiliate_id":"a"}]\n\n  {"a":1}\n' "line 3, column 3: invalid JSON: end of file expected near '{'"
refused "an envelope's data twice" '{"data":[{"affiliate_id":"a"}],"data":[]}' "line 1, column 37: invalid JSON: duplicate object key near '\"data\"'"
refused "a wrong closing bracket" '[{"affiliate_id":"a"},{"affiliate_id":"b"]' "line 1, column 42: invalid JSON: '}' expected near ']'"
refused "bad meta" '{"data":[{"affiliate_id":"a"}],"meta":{"n":}}' "line 1, column 44: invalid JSON: unexpected token near '}'"

# ---- parent cycles, exactly --------------------------------------------------------------
# A chain r0 <- r1 <- ... <- r111099 is stored; an update making r0 the child of r111099 closes a
# ring of 111,100 affiliates: refused, naming the record, the field and the rule (the old walk
# gave up after n + 100,000 = 100,001 steps and accepted it). The store keeps r0 without parent.
python3 - <<'PY'
n = 111100
with open('ring.ndjson', 'w') as f:
    f.write('{"affiliate_id":"r0"}\n')
    for i in range(1, n):
        f.write('{"affiliate_id":"r%d","parent_affiliate_id":"r%d"}\n' % (i, i - 1))
open('ring-close.ndjson', 'w').write('{"affiliate_id":"r0","parent_affiliate_id":"r%d"}\n' % (n - 1))
with open('chain.ndjson', 'w') as f:
    f.write('{"affiliate_id":"c0"}\n')
    for i in range(1, 20000):
        f.write('{"affiliate_id":"c%d","parent_affiliate_id":"c%d"}\n' % (i, i - 1))
PY
"$acre" --db ring.db ingest affiliates ring.ndjson >out; check "a 111,100 chain: exit" 0 $?
"$acre" --db ring.db ingest affiliates ring-close.ndjson >out 2>err
check "closing the ring by an update: exit" 3 $?
check "closing the ring: the reject" '{"file":"ring-close.ndjson","index":0,"line":1,"record":{"affiliate_id":"r0","parent_affiliate_id":"r111099"},"errors":[{"field":"parent_affiliate_id","rule":"parent_cycle","message":"parent_affiliate_id: parents would form a cycle"}]}' "$(cat err)"
check "closing the ring: r0 keeps one version, no parent" "1|" "$(sqlite3 ring.db "SELECT count(*), max(parent_affiliate_id) FROM affiliate WHERE affiliate_id = 'r0'")"
# a 20,000-deep chain in one file (its parents after their children, so every parent is found
# in the file): all stored (62 s before; docs/PERFORMANCE.md has the figure now)
tac chain.ndjson >chain-rev.ndjson
"$acre" --db chain.db ingest affiliates chain-rev.ndjson >out
check "a 20,000-deep chain: exit" 0 $?
check "a 20,000-deep chain: summary" '{"kind":"affiliates","received":20000,"inserted":20000,"updated":0,"unchanged":0,"rejected":0}' "$(cat out)"
# The passes keep their order. Stored: a0; a1 and a2 children of a0. The file (index: record):
# 0: a2 -> a1, 1: a1 -> zz (no such affiliate), 2: a0 -> a2, 3: a2 -> a0. First pass: 1 has no
# parent; 2 and 3 make a0 <-> a2; 0 (a2's earlier version) walks a1 -> zz and stops. Second pass:
# a1 is the stored a1 (parent a0), a0 the stored a0 (no parent): 0 stands, a2 -> a1 -> a0.
printf '{"affiliate_id":"a0"}\n{"affiliate_id":"a1","parent_affiliate_id":"a0"}\n{"affiliate_id":"a2","parent_affiliate_id":"a0"}\n' >st.ndjson
printf '{"affiliate_id":"a2","parent_affiliate_id":"a1"}\n{"affiliate_id":"a1","parent_affiliate_id":"zz"}\n{"affiliate_id":"a0","parent_affiliate_id":"a2"}\n{"affiliate_id":"a2","parent_affiliate_id":"a0"}\n' >fl.ndjson
"$acre" --db p.db ingest affiliates st.ndjson >/dev/null
"$acre" --db p.db ingest affiliates fl.ndjson >out 2>err
check "passes: the rules broken" "1:unknown_parent 2:parent_cycle 3:parent_cycle" \
    "$(python3 -c 'import json,sys; print(" ".join("%d:%s" % (d["index"], d["errors"][0]["rule"]) for d in map(json.loads, open("err"))))')"
check "passes: a2 -> a1 stored, a2's newest version" "a1" "$(sqlite3 p.db "SELECT parent_affiliate_id FROM affiliate WHERE affiliate_id = 'a2' ORDER BY seq DESC LIMIT 1")"

# Out of memory while the parents are decided: every allocation of an affiliates ingest (an array
# with a cycle and a missing parent) failed in turn ends with exit 3 (the file's own rejects) or
# exit 4 saying "out of memory", never a signal (the ids array's failed allocation crashed it)
printf '[{"affiliate_id":"x0"},{"affiliate_id":"x1","parent_affiliate_id":"x0"},{"affiliate_id":"x2","parent_affiliate_id":"x1"},{"affiliate_id":"x0","parent_affiliate_id":"x2"},{"affiliate_id":"x3","parent_affiliate_id":"zz"}]' >pa.json
"$acre" --db pa0.db ingest affiliates new.ndjson >/dev/null
total=$(ACRE_FAIL_ALLOC=0 "$acre" --db pa0.db ingest affiliates pa.json 2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) allocations counted/\1/p')
rm -f pa0.db pa0.db-wal pa0.db-shm
"$acre" --db pa0.db ingest affiliates new.ndjson >/dev/null
bad=
n=1
while [ "$n" -le "${total:-0}" ]; do
    cp pa0.db pa.db
    rm -f pa.db-wal pa.db-shm
    # (leaks on a failure path are not the point: under ASan, as tests/oom.sh)
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 ACRE_FAIL_ALLOC=$n,spare-lexer \
        "$acre" --db pa.db ingest affiliates pa.json >/dev/null 2>err
    rc=$?
    [ $rc -eq 3 ] || { [ $rc -eq 4 ] && grep -q 'out of memory' err; } || bad="$bad $n:$rc"
    n=$((n + 1))
done
check "parents, out of memory: $total allocations counted" yes "$([ "${total:-0}" -gt 100 ] && echo yes || echo no)"
check "parents, out of memory: every failed allocation exits 3 or 4" "" "$bad"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
