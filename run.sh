#!/usr/bin/env bash
# Sets up everything on a fresh machine (a virtualenv with the project installed at the versions pinned in
# constraints.txt) and runs the bot. Configuration comes from the environment or .env (see README). Extra
# arguments go to `python -m bot`, e.g. `bash run.sh console` or `bash run.sh --webhook`.
# The install runs only when pyproject.toml or constraints.txt changed since the last one.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.installed-run 2>/dev/null)" != "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c constraints.txt -e .
  echo "$stamp" > .venv/.installed-run
fi
exec .venv/bin/python -m bot "$@"
