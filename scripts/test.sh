#!/usr/bin/env bash
# The whole test suite: install openqx with its dev extras into .venv, lint, type-check, and
# run unit, integration (SQLite and a PostgreSQL the tests start themselves) and end-to-end
# tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh dev
# The browser tests (tests/browser) drive Debian's chromium through chromedriver; as root on
# Debian, install both once when missing (without them the browser tests fail, or skip when OPENQX_REQUIRE_BROWSER=0).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
    echo "== apt-get install chromium chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
echo "== ruff"
.venv/bin/ruff check openqx tests benchmarks
.venv/bin/ruff format --check openqx tests benchmarks
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
export OPENQX_REQUIRE_POSTGRES="${OPENQX_REQUIRE_POSTGRES:-1}"
export OPENQX_REQUIRE_BROWSER="${OPENQX_REQUIRE_BROWSER:-1}"
# One pytest process per core (pytest-xdist), each test file kept in one process so that its
# module-scoped servers start once. Alone, pytest left about 40 % of two cores idle while
# end-to-end tests waited on servers and workers. At most 4: a process grows to about 3 GiB.
# OPENQX_TEST_PROCESSES=0 runs in one process (a later -n in "$@" wins as well).
cores="$(nproc)"
exec .venv/bin/python -m pytest -q -n "${OPENQX_TEST_PROCESSES:-$((cores < 4 ? cores : 4))}" \
    --dist loadfile "$@"
