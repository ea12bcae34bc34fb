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

echo "== test suite on SQLite"
.venv/bin/python -m pytest -q "$@"

echo "== test suite on PostgreSQL"
read -r pg_url pg_dir < <(bash tests/postgres.sh)
trap 'bash tests/postgres.sh stop "$pg_dir"' EXIT
TEST_POSTGRES_URL="$pg_url" .venv/bin/python -m pytest -q "$@"
