"""A worker process killed mid-job (SIGKILL, as the kernel's out-of-memory killer does), through
the real server on SQLite and PostgreSQL: the job runs again on a fresh worker and ends DONE,
its attempts counted (``attempts``, ``RUNNING_2`` in ``time_per_step``); a job whose worker
dies on every attempt ends ERROR ``worker_died`` with the count once its attempts are spent."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from qiskit.providers import JobStatus

from openqx.client.job import OpenQXJob
from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from openqx.execution.process import ProcessExecutor
from tests.e2e.circuits import slow_circuit
from tests.e2e.test_job_time_limit import forever, wait_running

MAX_ATTEMPTS = 2
TIMEOUT = 120


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    """One local worker process; a job gets ``MAX_ATTEMPTS`` starts."""
    db_url = None
    if request.param == "postgresql":
        db_url = request.getfixturevalue("postgres_database_url")
    with EmbeddedServer(
        data_dir=tmp_path_factory.mktemp(f"openqx-crash-{request.param}"),
        db_url=db_url,
        executor="local",
        workers=1,
        max_attempts=MAX_ATTEMPTS,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> AccountProvider:
    from openqx.client import OpenQX

    return OpenQX.enable_account(server.token, url=server.url)


def _kill_worker_of(server: EmbeddedServer, job: OpenQXJob) -> int:
    """SIGKILL the worker process running ``job`` (once it runs there); return its pid."""
    executor = server._service.executor if server._service else None
    assert isinstance(executor, ProcessExecutor)
    pid = executor.wait_running(job.job_id(), timeout=TIMEOUT)
    assert pid is not None, f"{job} never reached a worker"
    os.kill(pid, signal.SIGKILL)
    return pid


def _wait_attempt(job: OpenQXJob, attempt: int) -> None:
    """Follow the job's events until its attempt ``attempt`` is RUNNING."""
    for info in job._api.stream_job_status(job.job_id(), timeout=TIMEOUT):
        assert info.status not in ("DONE", "ERROR", "CANCELLED"), info
        if info.status == "RUNNING" and job._api.job(job.job_id()).attempts >= attempt:
            return
    raise AssertionError(f"{job} never started attempt {attempt}")


def test_a_job_whose_worker_is_killed_runs_again_and_is_done(
    server: EmbeddedServer, provider: AccountProvider
) -> None:
    job = provider.get_backend("simulator_statevector").run(
        slow_circuit(num_qubits=19, layers=24), shots=10
    )
    wait_running(job)
    killed = _kill_worker_of(server, job)
    result = job.result(timeout=TIMEOUT)
    assert sum(result.get_counts().values()) == 10
    assert job.status() is JobStatus.DONE
    steps = job.time_per_step()
    assert steps is not None and {"RUNNING", "RUNNING_2", "DONE"} <= set(steps)
    assert job._api.job(job.job_id()).attempts == 2
    executor = server._service.executor if server._service else None
    assert isinstance(executor, ProcessExecutor) and killed not in executor.worker_pids()


def test_a_job_whose_worker_dies_every_time_ends_in_error_with_the_reason(
    server: EmbeddedServer, provider: AccountProvider
) -> None:
    job = provider.get_backend("simulator_statevector").run(forever(), shots=1)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        _wait_attempt(job, attempt)
        _kill_worker_of(server, job)
    job.wait_for_final_state(timeout=TIMEOUT)
    assert job.status() is JobStatus.ERROR
    message = job.error_message()
    assert message is not None and "Error code: worker_died" in message
    assert "exit code -9" in message and f"tried {MAX_ATTEMPTS} times" in message
    assert job._api.job(job.job_id()).attempts == MAX_ATTEMPTS
