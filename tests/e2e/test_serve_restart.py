"""`openqx serve` as a subprocess: OpenAPI, local worker processes, and jobs that survive a
restart on the same database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from qiskit import transpile

from tests.e2e.circuits import ghz

TOKEN = "restart-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(data_dir: Path, port: int) -> Iterator[str]:
    env = dict(os.environ, OPENQX_ADMIN_TOKEN=TOKEN, OPENQX_WORKERS="1")
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
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/version", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"openqx serve did not start:\n{output}")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_jobs_and_results_survive_a_restart(tmp_path: Path) -> None:
    from openqx import OpenQX

    port = _free_port()
    with _serve(tmp_path, port) as url:
        schema = httpx.get(f"{url}/openapi.json").json()
        assert "/v1/jobs" in schema["paths"]
        provider = OpenQX.enable_account(TOKEN, url=url)
        backend = provider.get_backend("fake_manila")
        job = backend.run(
            transpile(ghz(3), backend, seed_transpiler=1), shots=500, job_name="persist"
        )
        counts = job.result(timeout=180).get_counts(0)
        job_id = job.job_id()
    assert (tmp_path / "openqx.sqlite3").exists()

    with _serve(tmp_path, port) as url:
        provider = OpenQX.enable_account(TOKEN, url=url)
        again = provider.get_backend("fake_manila").retrieve_job(job_id)
        assert again.name() == "persist"
        assert again.result().get_counts(0) == counts
