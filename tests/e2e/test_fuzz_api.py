"""Property-based fuzzing of the HTTP API from its own ``/openapi.json`` (schemathesis).

A real server (uvicorn in a thread, SQLite, one local worker) answers every request that
schemathesis generates, once with a valid admin token and once with a member's token (the
routes' checks of who may see or change what take other paths then), in all its phases
(boundary values of every schema, random valid and invalid bodies, paths and query strings,
and stateful sequences that reuse created jobs). No answer may be a server error (5xx). The
run is bounded and reproducible: a fixed seed, one worker, ``FUZZ_EXAMPLES`` examples per
operation (about a thousand requests a caller). ``OPENQX_FUZZ_EXAMPLES`` raises it for a
longer run (see benchmarks/README.md).

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

from openqx.client.http import ApiClient
from openqx.core import wire
from openqx.embedded import EmbeddedServer
from tests.e2e.units import make_project

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


def member_token(server: EmbeddedServer) -> str:
    """The token of a new user who is no administrator, member of a project of its own."""
    with ApiClient(server.url, server.token) as admin:
        project = make_project(admin, "fuzz/members/project")
        token = admin.create_user(wire.UserCreate(name="member", instances=[project])).token
    with ApiClient(server.url, token) as member:  # the fuzzer is let in, as no administrator
        assert member.account().user == "member"
        assert not member.account().is_admin
    return token


def run_schemathesis(
    server: EmbeddedServer, token: str, examples: int, seed: int, workdir: Path
) -> tuple[int, str]:
    """Run ``schemathesis run`` against ``server`` with ``token`` in ``workdir`` (where it
    keeps its cache); return its exit status and output."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
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


@pytest.mark.parametrize("caller", ["admin", "member"])
def test_no_request_gets_a_server_error(
    fuzz_server: EmbeddedServer, caller: str, tmp_path: Path
) -> None:
    token = fuzz_server.token if caller == "admin" else member_token(fuzz_server)
    status, output = run_schemathesis(fuzz_server, token, FUZZ_EXAMPLES, FUZZ_SEED, tmp_path)
    cases = generated_cases(output)
    print(f"schemathesis as {caller}: {cases} cases, seed {FUZZ_SEED}, exit status {status}")
    assert status == 0, output[-6000:]
    assert "Server error" not in output
    assert cases >= 20 * FUZZ_EXAMPLES, output[-3000:]
