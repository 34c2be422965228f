#!/bin/sh
# tests/install.sh BUILD SOURCE FIXTURES — the installed acre, as someone embedding it meets it
# (docs/library.md): `cmake --install` into a fresh prefix puts there the program, its man page
# and bash completion, the headers, the static and shared libraries, acre.pc and the CMake
# package. Then:
# 1. the shared library exports the public API only: exactly the functions (and the one table)
#    that include/acre/*.h and include/acre/sys/*.h declare;
# 2. docs/example/payouts.c builds against the installed copy with `pkg-config --cflags --libs
#    acre`, as C and as C++, and statically, and prints what `acre payouts` prints for the
#    demo's March (tests/payouts.sh works those numbers out by hand);
# 3. a CMake project finds it (find_package(acre), acre::acre) and builds the same program;
# 4. the man page renders without a warning and names every command `acre help` lists, and the
#    completion completes commands, a command's options and the record kinds.
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
fixtures=$3
. "$src/tests/check.sh"
scratch
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null; check "cmake --install" 0 $?
for f in bin/acre include/acre.h include/acre/ledger.h include/acre/version.h \
    include/acre/sys/store.h lib/libacre.a lib/libacre.so lib/pkgconfig/acre.pc \
    lib/cmake/acre/acreConfig.cmake lib/cmake/acre/acreTargets.cmake \
    share/man/man1/acre.1 share/bash-completion/completions/acre; do
    check "installed $f" 1 "$([ -e "$prefix/$f" ] && echo 1)"
done

# 1. exports: the headers' declarations (lines that begin with a return type and name an
#    acre_ function, or the table), against the shared library's defined dynamic symbols
grep -h -E '^([a-z]|extern const).*[ *]acre_[a-z0-9_]+(\(|\[)' "$src"/include/acre/*.h \
    "$src"/include/acre/sys/*.h | grep -v -E '^(typedef|static)' |
    sed -E 's/^([^(]*[ *])?(acre_[a-z0-9_]+)[(\[].*/\2/' | sort -u >declared
nm -D --defined-only "$prefix/lib/libacre.so" | awk '$2 != "A" { print $3 }' |
    sed 's/@.*//' | sort -u >exported
check "the shared library exports what the headers declare, and nothing else" "" \
    "$(diff declared exported)"
check "... which is the public API: more than 80 functions" 1 \
    "$([ "$(wc -l <declared)" -gt 80 ] && echo 1)"

# 2. the example against the installed copy
"$prefix/bin/acre" replay "$fixtures/demo" --into d.db >/dev/null 2>&1
want=$("$prefix/bin/acre" --db d.db payouts 2026-03)
check "the demo's March" "aff_nordic,Nordic Slots Media,EUR,150.00,34.12,184.12,100.00,184.12,0.00,paid" \
    "$(echo "$want" | grep '^aff_nordic,')"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -Wall -Wextra -Werror "$src/docs/example/payouts.c" $(pkg-config --cflags --libs acre) \
    -o payouts-c
check "C: built with pkg-config" 0 $?
check "C: prints acre payouts' bytes" "$want" "$(LD_LIBRARY_PATH="$prefix/lib" ./payouts-c d.db 2026-03 2>/dev/null)"
check "C: uses the installed shared library" 1 \
    "$(LD_LIBRARY_PATH="$prefix/lib" ldd ./payouts-c | grep -c "$prefix/lib/libacre.so")"
c++ -Wall -Wextra -Werror -x c++ "$src/docs/example/payouts.c" $(pkg-config --cflags acre) \
    -x none $(pkg-config --libs acre) -o payouts-cxx
check "C++: built with pkg-config" 0 $?
check "C++: prints acre payouts' bytes" "$want" "$(LD_LIBRARY_PATH="$prefix/lib" ./payouts-cxx d.db 2026-03 2>/dev/null)"
cc "$src/docs/example/payouts.c" $(pkg-config --cflags acre) "$prefix/lib/libacre.a" \
    $(pkg-config --static --libs acre | sed 's/-lacre//') -o payouts-static
check "static: built" 0 $?
check "static: needs no libacre.so" 0 "$(ldd ./payouts-static | grep -c libacre)"
check "static: prints acre payouts' bytes" "$want" "$(./payouts-static d.db 2026-03 2>/dev/null)"
check "the version it ran on" "acre $(sed -n 's/^#define ACRE_VERSION "\(.*\)"/\1/p' "$src/include/acre/version.h") on SQLite" \
    "$(LD_LIBRARY_PATH="$prefix/lib" ./payouts-c d.db 2026-03 2>&1 >/dev/null | cut -d' ' -f1-4)"

# 3. a CMake project
mkdir proj && cat >proj/CMakeLists.txt <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(embed C)
find_package(acre 0.1 REQUIRED)
add_executable(payouts $src/docs/example/payouts.c)
target_link_libraries(payouts PRIVATE acre::acre)
CMAKE
cmake -S proj -B proj/build -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
    cmake --build proj/build >/dev/null
check "CMake: find_package(acre) and build" 0 $?
check "CMake: prints acre payouts' bytes" "$want" \
    "$(LD_LIBRARY_PATH="$prefix/lib" proj/build/payouts d.db 2026-03 2>/dev/null)"

# 4. the man page and the completion
check "man page: no warnings" "" \
    "$(MANWIDTH=80 man --warnings -E UTF-8 -l "$prefix/share/man/man1/acre.1" 2>&1 >/dev/null)"
missing=""
for c in $("$prefix/bin/acre" help | awk '/^  [a-z]/ { print $1 }' | sort -u); do
    grep -q "^\.B $c\b" "$prefix/share/man/man1/acre.1" || missing="$missing $c"
done
check "man page: every command" "" "$missing"
complete() { # complete WORD... : what the completion offers for the last word
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _acre; echo "${COMPREPLY[*]}"' \
        _ "$prefix/share/bash-completion/completions/acre" "$@"
}
export PATH="$prefix/bin:$PATH"
check "completion: a command" "payouts" "$(complete acre pay)"
check "completion: its options" "--format" "$(complete acre payouts --fo)"
check "completion: the kinds" "prop-trading/customers prop-trading/transactions prop-trading/trading-activity" \
    "$(complete acre ingest prop)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
