"""Property-based fuzzing of the HTTP API from its own ``/openapi.json`` (schemathesis).

A real server (uvicorn in a thread, SQLite, one local worker) answers every request that
schemathesis generates with a valid admin token, in all its phases (boundary values of every
schema, random valid and invalid bodies, paths and query strings, and stateful sequences that
reuse created jobs). No answer may be a server error (5xx). The run is bounded and
reproducible: a fixed seed, one worker, ``FUZZ_EXAMPLES`` examples per operation (about a
thousand requests in all). ``OPENQX_FUZZ_EXAMPLES`` raises it for a longer run (see
benchmarks/README.md).

Schemathesis' own CLI drives the run: its pytest plugin does not run on pytest 9.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openqx.embedded import EmbeddedServer

FUZZ_EXAMPLES = int(os.environ.get("OPENQX_FUZZ_EXAMPLES", "10"))
"""Examples per API operation in the fuzzing phase."""
FUZZ_SEED = int(os.environ.get("OPENQX_FUZZ_SEED", "1"))

SKIPPED_OPERATIONS = ("/v1/jobs/{job_id}/events",)
"""The status stream of a real job stays open until the job ends, which a fuzzer cannot wait
for; its answers for unknown ids are covered by the route tests."""


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A service on SQLite for the fuzzer (its jobs, users and limits stay in this module)."""
    data_dir: Path = tmp_path_factory.mktemp("openqx-fuzz")
    with EmbeddedServer(data_dir=data_dir, executor="local", workers=1) as server:
        yield server


def run_schemathesis(
    server: EmbeddedServer, examples: int, seed: int, workdir: Path
) -> tuple[int, str]:
    """Run ``schemathesis run`` against ``server`` in ``workdir`` (where it keeps its cache);
    return its exit status and output."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {server.token}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--no-shrink",
        *(arg for path in SKIPPED_OPERATIONS for arg in ("--exclude-path", path)),
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"}
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=3600, cwd=workdir
    )
    return done.returncode, done.stdout + done.stderr


def generated_cases(output: str) -> int:
    """How many test cases the run reports ("1109 generated, ...")."""
    found = re.search(r"(\d+) generated", output)
    return int(found.group(1)) if found else 0


def test_no_request_gets_a_server_error(fuzz_server: EmbeddedServer, tmp_path: Path) -> None:
    status, output = run_schemathesis(fuzz_server, FUZZ_EXAMPLES, FUZZ_SEED, tmp_path)
    cases = generated_cases(output)
    print(f"schemathesis: {cases} cases, seed {FUZZ_SEED}, exit status {status}")
    assert status == 0, output[-6000:]
    assert "Server error" not in output
    assert cases >= 20 * FUZZ_EXAMPLES, output[-3000:]
