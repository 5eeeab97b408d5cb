#!/usr/bin/env bash
# The main job on the embedded default: install openqx into .venv (Python 3.11 + pip is all
# it needs) and run `openqx demo` (temporary SQLite, local worker processes, loopback port).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh server
exec .venv/bin/openqx demo "$@"
