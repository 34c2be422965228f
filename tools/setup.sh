#!/bin/sh
# tools/setup.sh demo|test — on Debian 12 as root: install what is missing, build, then
#   demo: the demo operator over three months: ingest, close, summarise, audit (tools/demo.sh)
#   test: run every test in a -Werror build and in an AddressSanitizer/UBSan build, then each
#         fuzz target for a few seconds
set -eu
mode=${1:-}
case "$mode" in demo | test) ;; *) echo "usage: tools/setup.sh demo|test" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

need="build-essential cmake pkg-config libsqlite3-dev libgmp-dev libjansson-dev libssl-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev librabbitmq-dev librdkafka-dev libpq-dev sqlite3"
# the tests check the journal exports with the tools that read them, run the guides' commands
# with python3, measure peak memory with GNU time, fuzz the parsers with clang's libFuzzer, and
# talk to `acre serve` with curl (and jq, in docs/api.md) and an independent OAuth2 client
# (requests-oauthlib), print the statements to PDF with Chromium, read back by pdftotext,
# render the installed man page with man, consume from a real RabbitMQ broker (started by the
# test on its own ports) fed by pika, and store in a real PostgreSQL (a throwaway cluster)
[ "$mode" = test ] && need="$need hledger beancount python3 time clang libclang-rt-14-dev curl jq python3-requests-oauthlib openssl chromium poppler-utils man-db rabbitmq-server python3-pika postgresql"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# the OpenAPI check runs validators from npm (tests/openapi): Debian's nodejs and npm, unless a
# node with its own npm is there already (NodeSource's nodejs bundles npm and conflicts with it)
[ "$mode" = test ] && ! command -v npm >/dev/null 2>&1 && missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
build() { # build DIR CMAKE_ARGS...
    dir=$1
    shift
    cmake -S . -B "$dir" -DACRE_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs" >/dev/null
}

build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$mode" = demo ]; then
    exec tools/demo.sh build/acre
fi
(cd build && ctest --output-on-failure -j "$jobs")
build build-asan -DCMAKE_BUILD_TYPE=Debug -DACRE_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$jobs")
# each parser's libFuzzer target, briefly (tests/fuzz; the long runs are in docs/RELIABILITY.md)
build build-fuzz -DCMAKE_C_COMPILER=clang -DACRE_FUZZ=ON -DACRE_FUZZ_SECONDS=10
(cd build-fuzz && ctest --output-on-failure -j "$jobs")
