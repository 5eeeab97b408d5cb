"""A client that leaves a job's status stream is let go: the server ends the stream and its
watch of the job while the job still runs (the stream checks for a departed client after
each event and each wait, ``status_stream.STREAM_POLL_SECONDS``)."""

from __future__ import annotations

from pathlib import Path

import httpx

from openqx.client import OpenQX
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever

WAIT_S = 60.0


def test_a_client_that_leaves_a_status_stream_ends_its_watch(tmp_path: Path) -> None:
    with EmbeddedServer(data_dir=tmp_path, workers=1) as server:
        provider = OpenQX.enable_account(server.token, url=server.url)
        job = provider.get_backend("simulator_statevector").run(forever(), shots=10)
        url = f"{server.url}/v1/jobs/{job.job_id()}/events"
        headers = {"Authorization": f"Bearer {server.token}"}
        events = server.service.events
        before = events.watchers(job.job_id())
        with httpx.stream("GET", url, headers=headers, timeout=WAIT_S) as response:
            first = next(response.iter_lines())
            assert first.startswith("event: status")
            assert events.wait_watchers(job.job_id(), before + 1, WAIT_S) == before + 1
        # The connection is closed: the server notices and ends the stream's watch.
        assert events.wait_watchers(job.job_id(), before, WAIT_S) == before
        job.cancel()
