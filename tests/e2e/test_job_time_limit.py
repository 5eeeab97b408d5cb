"""Job time limits through the real server (SQLite and PostgreSQL, one local worker process).

A circuit whose ``while_loop`` never ends is stopped at its backend's limit and ends ERROR
``time_limit_exceeded`` (as ``job_monitor``, ``error_message`` and ``result`` show); its
worker is replaced and serves the next job; other backends keep the default limit; a cancel
still stops a running job."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from qiskit.providers import JobStatus

from openqx.client import exceptions as exc
from openqx.client.monitor import job_monitor
from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from openqx.execution.process import ProcessExecutor
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import wait_running

LIMIT_S = 2.0
"""The time limit of ``LIMITED`` on the test server."""
LIMITED = "ibmq_qasm_simulator"
TIMEOUT = 120


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def limited_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    """A server whose ``LIMITED`` backend stops jobs after ``LIMIT_S`` (one worker process)."""
    db_url = None
    if request.param == "postgresql":
        db_url = request.getfixturevalue("postgres_database_url")
    with EmbeddedServer(
        data_dir=tmp_path_factory.mktemp(f"openqx-limit-{request.param}"),
        db_url=db_url,
        executor="local",
        workers=1,
        job_time_limits={LIMITED: LIMIT_S},
    ) as server:
        yield server


@pytest.fixture(scope="module")
def limited(limited_server: EmbeddedServer) -> AccountProvider:
    from openqx.client import OpenQX

    return OpenQX.enable_account(limited_server.token, url=limited_server.url)


def _workers(server: EmbeddedServer) -> list[int]:
    executor = server._service.executor if server._service else None
    assert isinstance(executor, ProcessExecutor)
    return executor.worker_pids()


def test_a_never_ending_job_ends_at_its_time_limit_and_the_worker_serves_on(
    limited_server: EmbeddedServer, limited: AccountProvider
) -> None:
    before = _workers(limited_server)
    backend = limited.get_backend(LIMITED)
    job = backend.run(forever(), shots=1)
    wait_running(job)
    started = time.monotonic()
    output = io.StringIO()
    job_monitor(job, interval=0.1, output=output)
    took = time.monotonic() - started
    assert job.status() is JobStatus.ERROR
    assert "job incurred error - " in output.getvalue()
    message = job.error_message(timeout=10)
    assert message is not None
    assert "Error code: time_limit_exceeded" in message
    assert "ran longer than its time limit of 2 s and was stopped" in message
    assert took < LIMIT_S + 30, took  # stopped, not left running
    with pytest.raises(exc.OpenQXJobFailureError, match="Job has failed") as failure:
        job.result()
    assert failure.value.job_id == job.job_id()
    with pytest.raises(exc.OpenQXJobFailureError):
        job.result(partial=True)  # no experiment finished, so no partial result either
    assert job.cancel() is False
    # The worker was killed and replaced; the replacement runs the next job, on the same
    # backend: the job's limit runs from when the new worker has started up (its imports
    # alone can take longer than 2 s on a loaded machine).
    assert _workers(limited_server) != before
    follower = backend.run(ghz(2), shots=20)
    assert sum(follower.result(timeout=TIMEOUT).get_counts().values()) == 20


def test_a_cancel_stops_a_never_ending_job_on_a_backend_with_the_default_limit(
    limited: AccountProvider,
) -> None:
    job = limited.get_backend("simulator_statevector").run(forever(), shots=1)
    wait_running(job)
    assert job.cancel() is True
    job.wait_for_final_state(timeout=TIMEOUT)
    assert job.status() is JobStatus.CANCELLED
    follower = limited.get_backend("simulator_statevector").run(ghz(2), shots=10)
    assert follower.result(timeout=TIMEOUT).success
