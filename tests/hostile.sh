#!/bin/sh
# tests/hostile.sh ACRE [MAX_RSS_MB] — hostile input (issue 5, docs/RELIABILITY.md): a 100 MB
# line, JSON nested 100,000 deep, invalid UTF-8, NUL bytes, a million-key object, 1e999999, -0
# and a file that is not JSON, given to ingest, plan add and verify. Each must get its specific
# error and exit code, leave the store's records as they were, and (when MAX_RSS_MB is given: not
# under the sanitizers, which add their own memory) peak below MAX_RSS_MB, whatever the input's
# size. The expected messages are jansson's and acre's own wording for each case.
set -u
here=$(cd "$(dirname "$0")" && pwd)
acre=$(realpath "$1")
max_rss=${2:-}
. "$here/check.sh"
scratch

"$acre" --db s.db ingest affiliates >/dev/null <<'J'
{"affiliate_id":"a1"}
J
"$acre" --db s.db ingest igaming/customers >/dev/null <<'J'
{"customer_id":"c1","signup_date":"2026-01-05T10:00:00Z","affiliate_id":"a1","tracking_data":"t"}
J
python3 - <<'PY'
good = ('{"transaction_id":"t1","customer_id":"c1","transaction_type":"deposit",'
        '"amount_currency":%s,"currency":"EUR","transaction_date":"2026-01-06T12:00:00Z",'
        '"status":"approved"}')
def w(name, data):
    with open(name, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())
w('long.ndjson', '{"transaction_id":"' + 'x' * (100 * 1024 * 1024) + '"}\n')
w('deep.ndjson', '[' * 100000 + ']' * 100000 + '\n')
w('utf8.ndjson', (good % '20').encode().replace(b'"t1"', b'"t\xff\xfe1"') + b'\n')
w('nul.ndjson', (good % '20').encode().replace(b'"t1"', b'"t\x001"') + b'\n')
w('keys.ndjson', '{' + ','.join('"k%d":1' % i for i in range(1000000)) + '}\n')
w('huge.ndjson', good % '1e999999' + '\n')
w('wide.ndjson', good % '1e19' + '\n')
w('negzero.ndjson', good % '-0' + '\n')
w('notjson.ndjson', b'\x89PNG\r\n\x1a\n\x00\x00 not json at all\n')
w('deep-plan.json', '{"plan_id":"p","revshare":' + '[' * 100000 + ']' * 100000 + '}')
w('huge-plan.json', '{"plan_id":"p","currency":"EUR","revshare":{"rate":1e999999}}')
w('deep-ledger.json', '{"format":' + '[' * 100000 + ']' * 100000 + '}')
PY

# the store's records, whatever the ingest log says: every table but ingest_batch, dumped
records() { sqlite3 s.db .dump | grep -v 'ingest_batch' | sha256sum; }
before=$(records)
before_file=$(sha256sum <s.db)

# run NAME WANT_EXIT WANT_MESSAGE_PART ACRE_ARGS... : the exit code, the message, the memory
run() {
    name=$1 want_rc=$2 want_msg=$3
    shift 3
    if [ -n "$max_rss" ]; then
        /usr/bin/time -f '%M' -o rss "$acre" "$@" >out 2>err
        rc=$?
        kb=$(tail -n 1 rss)
        check "$name: peak memory under $max_rss MB (was $((kb / 1024)) MB)" yes \
            "$([ "$kb" -lt $((max_rss * 1024)) ] && echo yes || echo no)"
    else
        "$acre" "$@" >out 2>err
        rc=$?
    fi
    check "$name: exit" "$want_rc" "$rc"
    [ -z "$want_msg" ] ||
        check "$name: message" yes "$(cat out err | grep -qF -- "$want_msg" && echo yes || head -c 300 err)"
}

# refused files: exit 3, nothing stored, not even the ingest log's row (the file is byte-identical)
run "100 MB line" 3 "long.ndjson: line 1 is longer than 16 MiB; the file is refused" \
    --db s.db ingest igaming/transactions long.ndjson
run "nested 100,000 deep" 3 "line 1, column 2049: invalid JSON: maximum parsing depth reached" \
    --db s.db ingest igaming/transactions deep.ndjson
run "invalid UTF-8" 3 "line 1, column 20: invalid JSON: unable to decode byte 0xff" \
    --db s.db ingest igaming/transactions utf8.ndjson
run "NUL byte" 3 "line 1, column 20: invalid JSON: control character 0x0" \
    --db s.db ingest igaming/transactions nul.ndjson
run "1e999999" 3 "invalid JSON: real number overflow near '1e999999'" \
    --db s.db ingest igaming/transactions huge.ndjson
run "not JSON" 3 "not JSON: it starts with   (byte 0x89)" \
    --db s.db ingest igaming/transactions notjson.ndjson
check "refused files leave the store file as it was" "$before_file" "$(sha256sum <s.db)"

# rejected records: each named with its field and rule; --atomic leaves the file byte-identical,
# and without it the ingest log records the file (received 1, rejected 1) and nothing else
run "a million keys, atomic" 3 '"field":"k0","rule":"unknown_field","message":"k0: not a field of igaming/transactions"' \
    --db s.db ingest igaming/transactions keys.ndjson --atomic
check "a million keys: at most 24 errors listed" 24 "$(grep -o '"rule":"unknown_field"' err | wc -l)"
run "1e19 (beyond 18 integer digits)" 3 '"field":"amount_currency","rule":"range"' \
    --db s.db ingest igaming/transactions wide.ndjson --atomic
check "rejected records, atomic: the store file as it was" "$before_file" "$(sha256sum <s.db)"
run "a million keys" 3 '"rule":"unknown_field"' --db s.db ingest igaming/transactions keys.ndjson
check "a million keys: the summary" '{"kind":"igaming/transactions","received":1,"inserted":0,"updated":0,"unchanged":0,"rejected":1}' "$(cat out)"
check "rejected records: the records as they were" "$before" "$(records)"

# plans and ledger files
before_file=$(sha256sum <s.db)
run "plan nested 100,000 deep" 3 "deep-plan.json: line 1 column 2074: maximum parsing depth reached" \
    --db s.db plan add deep-plan.json
run "plan rate 1e999999" 3 "huge-plan.json: line 1 column 59: real number overflow near '1e999999'" \
    --db s.db plan add huge-plan.json
run "plan: not JSON" 3 "notjson.ndjson: line 1 column 0: unable to decode byte 0x89" --db s.db plan add notjson.ndjson
check "refused plans: the store file as it was" "$before_file" "$(sha256sum <s.db)"
run "verify nested 100,000 deep" 1 "not a JSON document: maximum parsing depth reached" verify deep-ledger.json
run "verify: not JSON" 1 "not a JSON document" verify notjson.ndjson
run "verify: NUL bytes" 1 "not a JSON document" verify nul.ndjson

# -0 is zero: accepted and stored as 0 (docs/records.md, "Values")
run "-0" 0 "" --db s.db ingest igaming/transactions negzero.ndjson
check "-0 stored as 0" "0" "$(sqlite3 s.db "SELECT amount_currency FROM txn WHERE transaction_id = 't1'")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
