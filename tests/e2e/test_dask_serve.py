"""`openqx serve --executor dask --dask-address` as a subprocess against a real
``distributed.LocalCluster`` with two worker processes: a job runs to DONE with its counts, and
a running job is cancelled and a never-ending one stopped at the time limit (their child
processes on the Dask workers are killed, the workers serve on)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qiskit.providers import JobStatus

from openqx.client.provider import AccountProvider
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import wait_running
from tests.e2e.serve_process import ServeProcess, free_port

distributed = pytest.importorskip("distributed")

TOKEN = "dask-e2e-admin-token"
WAIT_S = 120.0
LIMIT_S = 8
"""The server's job time limit (seconds): long enough for a worker's first job, which starts
the worker's job process."""


@pytest.fixture(scope="module")
def dask_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A LocalCluster (2 worker processes) and `openqx serve` using it; yields the URL."""
    # Its dashboard on a free port: a cluster of another test process may hold 8787.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster:
        serve_args = [
            "--executor", "dask", "--dask-address", cluster.scheduler_address,
            "--job-time-limit", str(LIMIT_S), "--workers", "2",
        ]  # fmt: skip
        server = ServeProcess(
            tmp_path_factory.mktemp("openqx-dask"), free_port(), TOKEN, args=serve_args
        )
        try:
            server.wait_answering()
            yield server.url
        finally:
            server.stop()


@pytest.fixture(scope="module")
def provider(dask_server: str) -> AccountProvider:
    from openqx.client import OpenQX

    return OpenQX.enable_account(TOKEN, url=dask_server)


def test_a_job_runs_on_the_dask_cluster(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_statevector")
    job = backend.run(ghz(3), shots=200, seed_simulator=3)
    counts: dict[str, Any] = job.result(timeout=WAIT_S).get_counts()
    assert job.status() is JobStatus.DONE
    assert sum(counts.values()) == 200
    assert set(counts) <= {"000", "111"}


def test_a_running_job_is_cancelled_on_the_dask_cluster(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_statevector")
    job = backend.run(forever(), shots=1)
    wait_running(job, timeout=WAIT_S)
    job.cancel()
    job.wait_for_final_state(timeout=WAIT_S)
    assert job.status() is JobStatus.CANCELLED
    # The worker is free again (its child was killed): two more jobs finish.
    jobs = [backend.run(ghz(2), shots=10) for _ in range(2)]
    for done in jobs:
        assert sum(done.result(timeout=WAIT_S).get_counts().values()) == 10


def test_a_never_ending_job_is_stopped_at_its_time_limit(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_statevector")
    job = backend.run(forever(), shots=1)
    job.wait_for_final_state(timeout=WAIT_S)
    assert job.status() is JobStatus.ERROR
    message = job.error_message(timeout=10)
    assert message is not None
    assert "time_limit_exceeded" in message
    jobs = [backend.run(ghz(2), shots=10) for _ in range(2)]
    for done in jobs:
        assert sum(done.result(timeout=WAIT_S).get_counts().values()) == 10
