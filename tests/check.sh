# tests/check.sh — sourced by the shell tests. check NAME WANT GOT counts a pass, or prints the
# failure with both values; the test ends with: echo "$pass passed, $fail failed"; [ $fail -eq 0 ].
pass=0 fail=0

check() { # check NAME WANT GOT
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        printf 'FAIL %s\n  want: %s\n  got:  %s\n' "$1" "$2" "$3"
    fi
}

# scratch: a new temporary directory, removed when the test ends, as the current directory
scratch() {
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cd "$work" || exit 1
}

# operator ACRE GEN DIVISOR DB: the benchmark generator's operator (tools/gen.c) at 1/DIVISOR
# in the current directory, with its affiliates, plans, assignments and customers stored in DB
operator() {
    "$2" close . "$3" >/dev/null
    "$1" --db "$4" ingest affiliates affiliates.ndjson >/dev/null
    "$1" --db "$4" plan add plans.json >/dev/null
    "$1" --db "$4" ingest assignments assignments.ndjson >/dev/null
    "$1" --db "$4" ingest igaming/customers customers.ndjson >/dev/null
}
