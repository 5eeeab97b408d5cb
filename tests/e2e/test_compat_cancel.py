"""Point 3 of the legacy issue, through ``openqx.compat.ibmq``: ``job.cancel()`` answers True
only when the job will not complete, and ``status()`` right after a True answer is CANCELLED,
for a queued and for a running job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qiskit import transpile
from qiskit.providers import JobStatus

from openqx.compat.ibmq import AccountProvider, IBMQJobInvalidStateError
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import ibmq_session, wait_running

TIMEOUT = 120


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> Iterator[AccountProvider]:
    with ibmq_session(server) as provider:
        yield provider


def test_cancel_a_running_job(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_statevector")
    job = backend.run(forever(), shots=10)
    wait_running(job)

    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED  # at once, not "RUNNING for a moment"
    again = backend.retrieve_job(job.job_id())
    assert again.status() is JobStatus.CANCELLED
    assert again.cancelled()
    with pytest.raises(IBMQJobInvalidStateError, match="cancelled"):
        again.result()


def test_cancel_a_queued_job(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_statevector")
    busy = backend.run(forever(), shots=10)  # holds the server's only worker
    wait_running(busy)
    queued = backend.run(transpile(ghz(2), backend), shots=10)
    assert queued.status() is JobStatus.QUEUED

    assert queued.cancel() is True
    assert queued.status() is JobStatus.CANCELLED
    assert provider.backend.retrieve_job(queued.job_id()).status() is JobStatus.CANCELLED

    assert busy.cancel() is True
    assert busy.status() is JobStatus.CANCELLED


def test_cancel_a_finished_job_answers_false(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    job = backend.run(transpile(ghz(2), backend), shots=10)
    job.wait_for_final_state(timeout=TIMEOUT)

    assert job.cancel() is False
    assert job.status() is JobStatus.DONE
    assert job.result().get_counts()
