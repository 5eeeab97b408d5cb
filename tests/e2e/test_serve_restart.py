"""`openqx serve` as a subprocess: OpenAPI, local worker processes, and jobs that survive a
restart on the same database, including one that is running when the server is told to stop
(SIGTERM): it goes back to the queue, never CANCELLED, and the restarted server runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from qiskit import transpile

from tests.e2e.circuits import ghz, slow_circuit

TOKEN = "restart-test-token"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
"""Bounds of the waits for the server to answer and to exit."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(data_dir: Path, port: int, output: list[str]) -> Iterator[str]:
    """Run `openqx serve` until the block ends, then stop it with SIGTERM (as a service
    manager does) and append what it printed to ``output``."""
    # One worker process, one thread for Aer: a job's length varies less between machines.
    # No drain on stop: a job running at SIGTERM goes back to the queue at once, however
    # fast this machine would have finished it.
    env = dict(
        os.environ,
        OPENQX_ADMIN_TOKEN=TOKEN,
        OPENQX_WORKERS="1",
        OMP_NUM_THREADS="1",
        OPENQX_STOP_TIMEOUT="0",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openqx.cli.main",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--executor",
            "local",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # a separate process: poll it until it answers
            try:
                if httpx.get(f"{url}/v1/version", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                printed = process.communicate()[0]
                raise AssertionError(f"openqx serve did not start:\n{printed}")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            printed = process.communicate(timeout=STOP_TIMEOUT_S)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            printed = process.communicate()[0]
        output.append(printed)
    # uvicorn shuts down gracefully, then re-raises the signal: ended by SIGTERM, cleanly.
    assert process.returncode in (0, -signal.SIGTERM), printed


def _wait_until_running(url: str, job_id: str) -> None:
    """Follow the job's event stream until it says RUNNING."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    events = f"{url}/v1/jobs/{job_id}/events"
    with httpx.stream("GET", events, headers=headers, timeout=START_TIMEOUT_S) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data:"):
                status = json.loads(line.removeprefix("data:"))["status"]
                if status == "RUNNING":
                    return
                assert status == "QUEUED", status
    raise AssertionError(f"the event stream of {job_id} ended before it ran")


def _stored(data_dir: Path, job_id: str) -> tuple[str, str | None, int]:
    """The job's status, lease owner and attempts in the database, read while no server runs."""
    with sqlite3.connect(data_dir / "openqx.sqlite3") as db:
        row = db.execute(
            "SELECT status, lease_owner, attempts FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
    return str(row[0]), row[1], int(row[2])


def test_jobs_results_and_a_running_job_survive_a_restart(tmp_path: Path) -> None:
    from openqx import OpenQX

    port = _free_port()
    output: list[str] = []
    with _serve(tmp_path, port, output) as url:
        schema = httpx.get(f"{url}/openapi.json").json()
        assert "/v1/jobs" in schema["paths"]
        provider = OpenQX.enable_account(TOKEN, url=url)
        backend = provider.get_backend("fake_manila")
        job = backend.run(
            transpile(ghz(3), backend, seed_transpiler=1), shots=500, job_name="persist"
        )
        counts = job.result(timeout=180).get_counts(0)
        job_id = job.job_id()
        # Several seconds of simulation: still running when the server is told to stop
        # (with OPENQX_STOP_TIMEOUT=0 the stop does not wait for it).
        running = provider.get_backend("simulator_statevector").run(
            slow_circuit(num_qubits=20, layers=100), shots=10, job_name="across a stop"
        )
        _wait_until_running(url, running.job_id())
    assert (tmp_path / "openqx.sqlite3").exists()
    assert "Traceback" not in output[-1], output[-1]
    # Handed back to the queue by the stop, not cancelled, and no lease left to expire; the
    # interrupted run does not count as an attempt.
    assert _stored(tmp_path, running.job_id()) == ("QUEUED", None, 0)

    with _serve(tmp_path, port, output) as url:
        provider = OpenQX.enable_account(TOKEN, url=url)
        again = provider.get_backend("fake_manila").retrieve_job(job_id)
        assert again.name() == "persist"
        assert again.result().get_counts(0) == counts
        resumed = provider.get_backend("simulator_statevector").retrieve_job(running.job_id())
        assert sum(resumed.result(timeout=180).get_counts(0).values()) == 10
        assert resumed.status().name == "DONE"
        assert resumed._info.attempts == 1
        # The job object that submitted it followed its stream until the stop ended it:
        # waiting now asks the restarted server, not the failure of the stopped one.
        assert running.result(timeout=180).get_counts(0) == resumed.result().get_counts(0)
    assert "Traceback" not in output[-1], output[-1]
