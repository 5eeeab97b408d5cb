#!/usr/bin/env bash
# The whole test suite: install openqx with its dev extras into .venv, lint, type-check, and
# run unit, integration (SQLite and a PostgreSQL the tests start themselves) and end-to-end
# tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh dev
echo "== ruff"
.venv/bin/ruff check openqx tests benchmarks
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
export OPENQX_REQUIRE_POSTGRES="${OPENQX_REQUIRE_POSTGRES:-1}"
exec .venv/bin/python -m pytest -q "$@"
