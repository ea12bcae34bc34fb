#!/usr/bin/env bash
# Sets up everything on a fresh machine (a virtualenv with the project installed) and runs the bot.
# Configuration comes from the environment or .env (see README). Extra arguments go to `python -m bot`,
# e.g. `bash run.sh console`.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e . 
exec .venv/bin/python -m bot "$@"
