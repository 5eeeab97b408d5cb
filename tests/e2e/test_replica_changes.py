"""Two servers on one PostgreSQL hear each other's job changes as they commit (migration
0010, ``store.replica_changes``): a client waiting on one replica learns at once that the
other one ended its job, and a job queued through one replica wakes the other's dispatcher.

The fallbacks that would find these changes anyway are turned off here (status streams and
dispatchers poll once an hour), so each test passes only through the announcements."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from qiskit import transpile
from qiskit.providers import JobStatus

from openqx.client import OpenQX
from openqx.embedded import EmbeddedServer
from openqx.server import status_stream
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import wait_running

pytestmark = pytest.mark.postgres

TOKEN = "replica-changes-admin-token"
BACKEND = "fake_manila"
HOUR = 3600.0
StartReplica = Callable[..., EmbeddedServer]
HEARD_S = 20.0
"""How long a client waits to hear of a cancel the other replica made. Without the
announcements it would hear of it only when its quiet stream times out (30 s) and it
reconnects, so this must stay under that."""
RUN_S = 120.0
"""How long a client waits for the other replica to run its job (without the announcements
that replica never looks at the queue during the test)."""


@pytest.fixture
def replica(
    postgres_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StartReplica]:
    """Start servers on the module's database; all are stopped after the test."""
    monkeypatch.setattr(status_stream, "STREAM_POLL_SECONDS", HOUR)
    started: list[EmbeddedServer] = []

    def start(name: str, **settings: Any) -> EmbeddedServer:
        server = EmbeddedServer(
            data_dir=tmp_path / name,
            db_url=postgres_database_url,
            token=TOKEN,
            workers=1,
            **settings,
        )
        started.append(server.start())
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()


def _admin(server: EmbeddedServer, method: str, path: str, **kwargs: object) -> None:
    answer = httpx.request(
        method,
        f"{server.url}/v1{path}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
        **kwargs,  # type: ignore[arg-type]
    )
    assert answer.is_success, answer.text


def test_a_client_on_one_replica_hears_that_the_other_cancelled_its_job(
    replica: StartReplica,
) -> None:
    a, b = replica("a"), replica("b")
    _admin(a, "POST", "/admin/maintenance", json={"backend": BACKEND})  # nobody runs it
    try:
        backend = OpenQX.enable_account(TOKEN, url=a.url).get_backend(BACKEND)
        job = backend.run(transpile(ghz(2), backend, seed_transpiler=1), shots=64)
        assert job.status() is JobStatus.QUEUED

        OpenQX.enable_account(TOKEN, url=b.url).get_backend(BACKEND).retrieve_job(
            job.job_id()
        ).cancel()

        job.wait_for_final_state(timeout=HEARD_S)  # on replica a's stream
        assert job.status() is JobStatus.CANCELLED
    finally:
        _admin(a, "DELETE", f"/admin/maintenance/{BACKEND}")


def test_a_job_queued_on_a_busy_replica_is_run_by_an_idle_one(replica: StartReplica) -> None:
    quiet = {"poll_seconds": HOUR, "lease_seconds": HOUR}  # dispatchers act when woken only
    a = replica("a", executor="local", **quiet)
    provider_a = OpenQX.enable_account(TOKEN, url=a.url)
    backend_a = provider_a.get_backend(BACKEND)
    busy = provider_a.get_backend("ibmq_qasm_simulator").run(forever(), shots=1)
    try:
        wait_running(busy)  # a's one worker is taken
        replica("b", **quiet)  # started now: the queue it read at its start was empty

        job = backend_a.run(transpile(ghz(2), backend_a, seed_transpiler=1), shots=64)
        result = job.result(timeout=RUN_S)  # only b can run it: a is full

        assert job.status() is JobStatus.DONE
        assert sum(result.get_counts().values()) == 64
        assert busy.status() is JobStatus.RUNNING
    finally:
        busy.cancel()
        busy.wait_for_final_state(timeout=120)


def test_a_replica_that_heard_of_another_starts_no_job_early(replica: StartReplica) -> None:
    a, b = replica("a"), replica("b")
    backend_a = OpenQX.enable_account(TOKEN, url=a.url).get_backend(BACKEND)
    job = backend_a.run(transpile(ghz(2), backend_a, seed_transpiler=1), shots=64)
    seen_on_b = (
        OpenQX.enable_account(TOKEN, url=b.url).get_backend(BACKEND).retrieve_job(job.job_id())
    )

    seen_on_b.wait_for_final_state(timeout=RUN_S)  # b's stream heard a's changes

    assert seen_on_b.status() is JobStatus.DONE
    # Two idle replicas starting jobs early would each claim the other's and drop their own.
    # (Another backend than the job's: b's claim of that one got nothing, which holds its
    # early starts back on its own.)
    submitted_to_b = SimpleNamespace(
        id="job-on-b", kind="circuits", backend="ibmq_qasm_simulator", snapshot_id=None,
        shots=64, memory=False, header={}, options={}, program_id=None,
    )  # fmt: skip
    dispatcher = b.service.dispatcher
    early = dispatcher.start_early(submitted_to_b, b"qpy")
    if early is not None:
        dispatcher.drop_early(early)  # gives the pass lock back, so that b can stop
    assert early is None
