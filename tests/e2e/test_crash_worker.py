"""A worker process killed mid-job (SIGKILL, as the kernel's out-of-memory killer does), through
the real server on SQLite and PostgreSQL: the job runs again on a fresh worker and ends DONE,
its attempts counted (``attempts``, ``RUNNING_2`` in ``time_per_step``); a job whose worker
dies on every attempt ends ERROR ``worker_died`` with the count once its attempts are spent."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from qiskit.providers import JobStatus

from openqx.client.job import OpenQXJob
from openqx.client.provider import AccountProvider
from openqx.core.status import JobStatus as RecordStatus
from openqx.embedded import EmbeddedServer
from openqx.execution.process import ProcessExecutor
from tests.e2e.circuits import forever, slow_circuit
from tests.e2e.compat_helpers import wait_running

MAX_ATTEMPTS = 2
TIMEOUT = 120
"""Seconds a test may wait in all for the server (a failing test ends instead of hanging)."""
POLL_S = 0.02
"""How often a wait re-reads state changed in the server's threads."""
KILL_RETRY_S = 5.0
"""A worker still running the job this long after SIGKILL is killed again."""


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


def _executor(server: EmbeddedServer) -> ProcessExecutor:
    executor = server._service.executor if server._service else None
    assert isinstance(executor, ProcessExecutor)
    return executor


def _kill_worker_of(server: EmbeddedServer, job: OpenQXJob) -> int:
    """SIGKILL the worker process running ``job`` (once it runs there); return its pid."""
    pid = _executor(server).wait_running(job.job_id(), timeout=TIMEOUT)
    assert pid is not None, f"{job} never reached a worker"
    os.kill(pid, signal.SIGKILL)
    return pid


def _worker_of_attempt(server: EmbeddedServer, job_id: str, attempt: int, deadline: float) -> int:
    """Wait until attempt ``attempt`` of the job runs on a worker; return that worker's pid.

    Both must agree: the store says the job is RUNNING its attempt ``attempt``, and the
    executor has handed it to a worker. The store's attempt is counted at the claim, after the
    executor dropped the previous attempt's dead worker, so the pid read afterwards is never
    that stale one. Fails (instead of hanging) at ``deadline`` or if the job ends first.
    """
    executor = _executor(server)
    assert server._service is not None
    store = server._service.store
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, (
            f"job {job_id} did not start attempt {attempt} in time: "
            f"{store.get_job(job_id)}, on worker {executor.running_pid(job_id)}"
        )
        # Returns at once when the job is on a worker; else when one takes it (or soon).
        pid = executor.wait_running(job_id, timeout=min(remaining, POLL_S))
        record = store.get_job(job_id)
        assert not record.status.is_final, f"job {job_id} ended before attempt {attempt}: {record}"
        assert record.attempts <= attempt, f"job {job_id} skipped attempt {attempt}: {record}"
        if pid is not None and record.status is RecordStatus.RUNNING and record.attempts == attempt:
            if executor.running_pid(job_id) == pid:  # still the same worker after the read
                return pid
        time.sleep(POLL_S)  # the store changes in the dispatcher's thread: look again


def _kill_attempt(server: EmbeddedServer, job_id: str, attempt: int, deadline: float) -> int:
    """SIGKILL the worker running attempt ``attempt`` of the job and wait until the executor
    has dropped it; kill again while the same worker still runs the job. Return its pid."""
    executor = _executor(server)
    pid = _worker_of_attempt(server, job_id, attempt, deadline)
    while True:
        os.kill(pid, signal.SIGKILL)
        retry_at = min(deadline, time.monotonic() + KILL_RETRY_S)
        while executor.running_pid(job_id) == pid and time.monotonic() < retry_at:
            time.sleep(POLL_S)  # the executor notices the death in its own thread
        if executor.running_pid(job_id) != pid:
            return pid
        assert time.monotonic() < deadline, f"worker {pid} still runs job {job_id} after SIGKILL"


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
    deadline = time.monotonic() + TIMEOUT
    killed = [_kill_attempt(server, job.job_id(), attempt, deadline)
              for attempt in range(1, MAX_ATTEMPTS + 1)]  # fmt: skip
    assert len(set(killed)) == MAX_ATTEMPTS  # a fresh worker for each attempt
    job.wait_for_final_state(timeout=max(1.0, deadline - time.monotonic()))
    assert job.status() is JobStatus.ERROR
    message = job.error_message()
    assert message is not None and "Error code: worker_died" in message
    assert "exit code -9" in message and f"tried {MAX_ATTEMPTS} times" in message
    assert job._api.job(job.job_id()).attempts == MAX_ATTEMPTS
