#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on 127.0.0.1 for the test suite, installing Debian's package
# first when the machine has none. Prints the server URL on stdout; `tests/postgres.sh stop DIR` stops it.
set -euo pipefail
if [ "${1:-}" = "stop" ]; then
  dir=$2
  if [ -f "$dir/data/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "pg_ctl -D '$dir/data' -m immediate stop" >/dev/null 2>&1 || true
    else pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$dir"
  exit 0
fi
find_bin() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}
bin=$(find_bin || true)
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is not installed and I am not root: apt-get install postgresql" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bin=$(find_bin)
fi
port=${PGTEST_PORT:-54329}
dir=$(mktemp -d /tmp/rcmz-pg.XXXXXX)
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
run "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >&2
run "'$bin/pg_ctl' -D '$dir/data' -o \"-h 127.0.0.1 -p $port -k '$dir' -F -c fsync=off -c max_connections=200\" -l '$dir/log' -w start" >&2
echo "postgresql://postgres@127.0.0.1:$port/postgres $dir"
