"""A server that shuts down ends its status streams first: uvicorn waits for open responses
before the service closes, and a job's stream stays open until the job ends, so a stream
that did not end would hold the shutdown for as long as its job runs (here: for ever)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from openqx.client import OpenQX
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever

WAIT_S = 60.0


def test_stopping_ends_the_streams_of_jobs_that_still_run(tmp_path: Path) -> None:
    server = EmbeddedServer(data_dir=tmp_path, workers=1, stop_timeout=0).start()
    try:
        provider = OpenQX.enable_account(server.token, url=server.url)
        job = provider.get_backend("simulator_statevector").run(forever(), shots=10)
        headers = {"Authorization": f"Bearer {server.token}"}
        opened = threading.Event()
        lines: list[str] = []

        def follow() -> None:
            url = f"{server.url}/v1/jobs/{job.job_id()}/events"
            with httpx.stream("GET", url, headers=headers, timeout=WAIT_S) as response:
                opened.set()
                lines.extend(response.iter_lines())

        reader = threading.Thread(target=follow)
        reader.start()
        assert opened.wait(WAIT_S)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        stopper.join(WAIT_S)
        reader.join(WAIT_S)
        assert not stopper.is_alive() and not reader.is_alive()
        statuses = [line for line in lines if line.startswith("data:")]
        assert statuses and not any('"DONE"' in s or '"CANCELLED"' in s for s in statuses)
    finally:
        server.stop()
