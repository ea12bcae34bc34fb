#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine and runs the whole suite twice: on SQLite, and
# on a real PostgreSQL server that this script installs (Debian's package) and starts on 127.0.0.1.
# Python packages are installed at the versions pinned in constraints.txt (only when pyproject.toml or
# constraints.txt changed since the last install).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.installed-test 2>/dev/null)" != "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test,bench]'
  echo "$stamp" > .venv/.installed-test
fi
.venv/bin/ruff check .
bash tests/system_packages.sh

# The two runs go side by side, each with its own log, printed whole when both ended: one suite keeps
# about one of the machine's cores busy (its bot processes wait on HTTP and the database much of the
# time), so on two cores the pair ends in little more than the longer one's time. SEQUENTIAL=1 runs them
# one after the other, as before.
read -r pg_url pg_dir < <(bash tests/postgres.sh)
trap 'bash tests/postgres.sh stop "$pg_dir"' EXIT
logs=$(mktemp -d)
run_sqlite() { .venv/bin/python -m pytest -q -p no:cacheprovider "$@" > "$logs/sqlite.log" 2>&1; }
run_pg() { TEST_POSTGRES_URL="$pg_url" .venv/bin/python -m pytest -q -p no:cacheprovider "$@" > "$logs/pg.log" 2>&1; }
if [ "${SEQUENTIAL:-0}" = 1 ]; then
  set +e; run_sqlite "$@"; sqlite_rc=$?; run_pg "$@"; pg_rc=$?; set -e
else
  run_sqlite "$@" & sqlite_pid=$!
  run_pg "$@" & pg_pid=$!
  set +e; wait "$sqlite_pid"; sqlite_rc=$?; wait "$pg_pid"; pg_rc=$?; set -e
fi
echo "== test suite on SQLite (exit $sqlite_rc)"
cat "$logs/sqlite.log"
echo "== test suite on PostgreSQL (exit $pg_rc)"
cat "$logs/pg.log"
[ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
