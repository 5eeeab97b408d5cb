"""The job lifecycle through the real server and client, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from qiskit import transpile
from qiskit.providers import JobStatus
from qiskit.providers.exceptions import QiskitBackendNotFoundError

from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz


def test_backends_cover_the_catalog(provider: AccountProvider) -> None:
    names = {b.name for b in provider.backends()}
    assert {
        "ibmq_qasm_simulator",
        "simulator_statevector",
        "simulator_mps",
        "simulator_stabilizer",
        "fake_manila",
        "fake_sherbrooke",
        "fake_torino",
    } <= names
    assert [b.name for b in provider.backends(simulator=True, min_num_qubits=1000)] == [
        "simulator_stabilizer"
    ]
    assert all(b.num_qubits >= 100 for b in provider.backends(min_num_qubits=100))


def test_get_backend_errors(provider: AccountProvider) -> None:
    with pytest.raises(QiskitBackendNotFoundError):
        provider.get_backend("no_such_device")
    with pytest.raises(QiskitBackendNotFoundError):
        provider.get_backend(simulator=True)  # several match


def test_ideal_ghz_runs_and_comes_back(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    job = backend.run(transpile(ghz(5), backend), shots=1024, job_name="ideal", seed_simulator=3)
    counts = job.result(timeout=120).get_counts(0)
    assert set(counts) == {"00000", "11111"}
    assert sum(counts.values()) == 1024
    assert job.status() is JobStatus.DONE


def test_noisy_device_job_with_every_field(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    circuit = transpile(ghz(3), backend, seed_transpiler=11)
    job = backend.run(
        circuit,
        shots=2000,
        memory=True,
        job_name="bell",
        job_tags=["demo", "e2e"],
        header={"run": 7},
    )
    assert isinstance(job.creation_date(), datetime) and job.creation_date().tzinfo is not None
    result = job.result(timeout=120)
    counts = result.get_counts(0)
    assert sum(counts.values()) == 2000
    ideal = counts.get("000", 0) + counts.get("111", 0)
    assert 0.75 * 2000 < ideal < 2000, counts  # noisy: mostly GHZ, never perfectly
    assert len(result.get_memory(0)) == 2000
    header = result.results[0].header
    assert (header["run"] if isinstance(header, dict) else header.run) == 7

    again = backend.retrieve_job(job.job_id())
    assert again.job_id() == job.job_id()
    assert again.name() == "bell"
    assert sorted(again.tags()) == ["demo", "e2e"]
    assert again.status() is JobStatus.DONE
    assert again.result().get_counts(0) == counts
    assert again.backend().name == "fake_manila"


def test_cancel_a_queued_job(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_statevector")
    busy = backend.run(forever(), shots=10)
    queued = backend.run(transpile(ghz(2), backend), shots=10)
    assert queued.status() in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert queued.cancel() is True
    queued.wait_for_final_state(timeout=30)  # the job's event stream, not a poll
    assert queued.status() is JobStatus.CANCELLED
    busy.cancel()
    busy.wait_for_final_state(timeout=60)


def test_job_limit_is_enforced_and_stores_nothing(
    provider: AccountProvider, server: EmbeddedServer
) -> None:
    import httpx

    from openqx.client.exceptions import OpenQXBackendJobLimitError

    backend = provider.get_backend("simulator_mps")
    headers = {"Authorization": f"Bearer {server.token}"}
    answer = httpx.put(
        f"{server.url}/v1/admin/backends/simulator_mps/job_limit",
        json={"maximum_jobs": 1},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    try:
        assert backend.job_limit().maximum_jobs == 1
        blocker = provider.get_backend("simulator_statevector").run(forever(), shots=10)
        first = backend.run(transpile(ghz(2), backend), shots=10)
        before = len(backend.jobs(limit=None))
        if first.status() in (JobStatus.QUEUED, JobStatus.RUNNING):
            with pytest.raises(OpenQXBackendJobLimitError, match="limit"):
                backend.run(transpile(ghz(2), backend), shots=10)
            assert len(backend.jobs(limit=None)) == before
            assert backend.remaining_jobs_count() == 0
        blocker.cancel()
        first.wait_for_final_state(timeout=60)
    finally:
        httpx.put(
            f"{server.url}/v1/admin/backends/simulator_mps/job_limit",
            json={"maximum_jobs": None},
            headers=headers,
        )
    assert backend.job_limit().maximum_jobs is None
