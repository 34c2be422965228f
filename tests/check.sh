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
