#!/usr/bin/env bash
# The main job on the embedded default: install openqx into .venv (Python 3.11 + pip is all
# it needs) and run `openqx demo` (temporary SQLite, local worker processes, loopback port).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[server]"
exec .venv/bin/openqx demo "$@"
