# tests/pg_cluster.sh — sourced by the PostgreSQL tests after check.sh's scratch: a throwaway
# PostgreSQL cluster (Debian's initdb) in $work/pg, run by the unprivileged user postgres on a
# free loopback port, stopped and removed when the test ends. Sets $url
# (postgresql://acre@127.0.0.1:PORT) and db NAME (a new database; prints its URL). fsync is off
# (a test needs no durability) unless PG_FSYNC=on (tools/bench/pg.sh); PG_OPTS: more server
# options (-c NAME=VALUE ..., tools/bench/pg_profile.sh).
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ "$(id -u)" != 0 ] || [ ! -x "$bin/initdb" ]; then
    echo "FAIL PostgreSQL: these tests run as root (the server runs as postgres) with Debian's postgresql installed"
    exit 1
fi
# the server runs as postgres, which must reach the folder and /dev/null (on some containers
# /dev/null is root's alone)
[ -w /dev/null ] && su postgres -s /bin/sh -c 'test -w /dev/null' 2>/dev/null || chmod 666 /dev/null
chmod 755 "$work"
mkdir "$work/pg" && chown postgres "$work/pg"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if ! su postgres -s /bin/sh -c "'$bin/initdb' -D '$work/pg/data' -A trust -U acre --locale=C.UTF-8 -E UTF8" \
    >"$work/initdb.log" 2>&1; then
    echo "FAIL initdb"; cat "$work/initdb.log"; exit 1
fi
if ! su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$work/pg/data' -l '$work/pg/log' -w -o \
    '-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-off} -c max_connections=50 ${PG_OPTS:-}' start" \
    >/dev/null 2>&1; then
    echo "FAIL the server did not start"; cat "$work/pg/log"; exit 1
fi
pg_stop() { su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$work/pg/data' -m fast -w stop" >/dev/null 2>&1; }
trap 'pg_stop; cd /; rm -rf "$work"' EXIT
# (PIPE too: a test whose ctest was killed must not leave its server running)
trap 'exit 1' INT TERM HUP PIPE
url=postgresql://acre@127.0.0.1:$port
db() { psql -X -q "$url/postgres" -c "CREATE DATABASE $1" >/dev/null 2>&1; echo "$url/$1"; }
