#!/bin/sh
# tests/fuzz/smoke.sh TARGET SEEDS SECONDS — a short, bounded, reproducible fuzz run: every seed
# (and every input that once crashed the target) first, then SECONDS of fuzzing from seed 1 in a
# scratch corpus. Exits non-zero on any finding, with libFuzzer's report (the input in Base64)
# in the output.
set -eu
target=$(realpath "$1") seeds=$(realpath "$2") seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cd "$work"
rc=0
"$target" -seed=1 -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -print_final_stats=1 "$work/corpus" "$seeds" >"$work/log" 2>&1 || rc=$?
tail -n 40 "$work/log"
if [ "$rc" -ne 0 ]; then
    echo "fuzz: $(basename "$target") found a problem (exit $rc): see the report above" >&2
    exit 1
fi
