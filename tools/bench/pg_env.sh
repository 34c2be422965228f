# tools/bench/pg_env.sh — sourced by the PostgreSQL benchmarks (tools/bench/pg.sh, history_pg.sh)
# from the repository's root: $acre ($ACRE, a copy, so that a build meanwhile does not change
# it; else build/acre), $gen, GNU time, a new temporary folder as the current directory, and a
# throwaway cluster in it with fsync on, as SQLite's synchronous=FULL (tests/pg_cluster.sh: $url,
# db NAME, $bin), stopped and removed at the end. Run as root.
root=$PWD
acre=${ACRE:-$root/build/acre}
gen=$root/build/acre-gen
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
work=$(mktemp -d)
cd "$work"
PG_FSYNC=on
. "$root/tests/pg_cluster.sh"
set +u
