"""The job manager against a real server: splitting, pacing, a failed job, retrieval."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import httpx
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter

from openqx.client import JobManager
from openqx.client import exceptions as exc
from openqx.client.backend import OpenQXBackend
from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz

BACKEND = "simulator_statevector"


def numbered(backend: OpenQXBackend, count: int) -> list[QuantumCircuit]:
    """Circuits ``n<i>`` that prepare the basis state ``i`` on 4 qubits."""
    out = []
    for i in range(count):
        qc = QuantumCircuit(4, name=f"n{i}")
        for bit in range(4):
            if (i >> bit) & 1:
                qc.x(bit)
        qc.measure_all()
        out.append(qc)
    circuits: list[QuantumCircuit] = transpile(out, backend)
    return circuits


def broken(backend: OpenQXBackend) -> QuantumCircuit:
    """A circuit the server refuses (a parameter left unbound): its job's submission fails."""
    theta = Parameter("theta")
    qc = QuantumCircuit(1, name="broken")
    qc.rx(theta, 0)
    qc.measure_all()
    return qc


@pytest.fixture
def manager() -> Iterator[JobManager]:
    jm = JobManager(progress=False)
    yield jm
    jm.close()


def test_split_results_and_retrieval(
    provider: AccountProvider, server: EmbeddedServer, manager: JobManager
) -> None:
    from openqx import OpenQX

    backend = provider.get_backend(BACKEND)
    job_set = manager.run(
        numbered(backend, 10),
        backend,
        name="e2e-split",
        max_experiments_per_job=4,
        job_tags=["e2e"],
        shots=20,
    )
    results = job_set.results(timeout=120)
    assert results.success is True
    assert [m.experiments_count for m in job_set.managed_jobs()] == [4, 4, 2]
    for i in range(10):
        assert results.get_counts(i) == {format(i, "04b"): 20}
    assert results.get_counts("n7") == {"0111": 20}
    combined = results.combine_results()
    assert [combined.get_counts(i) for i in range(10)] == [results.get_counts(i) for i in range(10)]

    fresh = OpenQX.enable_account(server.token, url=server.url)
    other = JobManager(progress=False)
    try:
        found = other.retrieve_job_set(job_set.job_set_id(), fresh)
        assert found.name() == "e2e-split" and found.tags() == ["e2e"]
        assert [j and j.job_id() for j in found.jobs()] == [
            j and j.job_id() for j in job_set.jobs()
        ]
        assert [(m.start_index, m.end_index) for m in found.managed_jobs()] == [
            (0, 3),
            (4, 7),
            (8, 9),
        ]
        again = found.results(timeout=60)
        assert again.get_counts(9) == {"1001": 20}
        assert again.get_counts("n5") == {"0101": 20}
        with pytest.raises(exc.OpenQXJobManagerUnknownJobSet):
            other.retrieve_job_set("no-such-set", fresh)
    finally:
        other.close()


def test_refused_job_in_the_middle(provider: AccountProvider, manager: JobManager) -> None:
    backend = provider.get_backend(BACKEND)
    circuits = numbered(backend, 2) + [broken(backend)] + numbered(backend, 4)[2:]
    job_set = manager.run(circuits, backend, name="e2e-fail", max_experiments_per_job=1, shots=10)
    with pytest.warns(UserWarning, match="experiments 2-2"):
        results = job_set.results(timeout=120)
    assert job_set.statuses()[2] is None
    assert job_set.jobs()[2] is None
    assert results.success is False
    assert results.get_counts(3) == {"0010": 10}
    assert results.get_counts(4) == {"0011": 10}
    with pytest.raises(exc.OpenQXManagedResultDataNotAvailable):
        results.get_counts(2)
    with pytest.raises(exc.OpenQXManagedResultDataNotAvailable, match="cannot be combined"):
        results.combine_results()
    messages = job_set.error_messages()
    assert messages is not None and "job index=2" in messages
    assert "unbound parameters" in messages
    assert job_set.cancel() == [False] * 5  # finished or never submitted: nothing to cancel


class _Seen(logging.Handler):
    """Sets an event once a record whose message holds ``text`` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.WARNING)
        self.text = text
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()

    def wait(self, timeout: float) -> bool:
        return self.event.wait(timeout)


def test_pacing_on_a_small_job_limit(
    provider: AccountProvider,
    server: EmbeddedServer,
    manager: JobManager,
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = provider.get_backend("simulator_mps")
    headers = {"Authorization": f"Bearer {server.token}"}
    url = f"{server.url}/v1/admin/backends/simulator_mps/job_limit"
    answer = httpx.put(url, json={"maximum_jobs": 1}, headers=headers)
    assert answer.status_code == 200, answer.text
    # Under maintenance the set's first job waits queued, so the next one meets the limit
    # whatever the speed of the machine; the maintenance ends once the set paces itself.
    maintenance = httpx.post(
        f"{server.url}/v1/admin/maintenance",
        json={"backend": "simulator_mps", "message": "pacing test"},
        headers=headers,
    )
    assert maintenance.status_code == 201, maintenance.text
    paced = _Seen("Job limit reached")
    logging.getLogger("openqx.client.managed").addHandler(paced)
    try:
        circuits = [transpile(ghz(3), backend)] * 6
        with caplog.at_level(logging.WARNING, logger="openqx.client.managed"):
            job_set = manager.run(
                circuits, backend, name="e2e-paced", max_experiments_per_job=1, shots=10
            )
            assert paced.wait(timeout=120)
            ended = httpx.delete(
                f"{server.url}/v1/admin/maintenance/simulator_mps", headers=headers
            )
            assert ended.status_code == 200, ended.text
            results = job_set.results(timeout=240)
        assert results.success is True
        assert all(job is not None for job in job_set.jobs())
        counts = [results.get_counts(i) for i in range(6)]
        # GHZ outcomes only, 10 shots each; a job may see no "111" in its 10 (1 in 1,024).
        assert all(set(c) <= {"000", "111"} and sum(c.values()) == 10 for c in counts), counts
        assert sum(c.get("111", 0) for c in counts) > 0
        assert any("Job limit reached" in r.getMessage() for r in caplog.records)
    finally:
        logging.getLogger("openqx.client.managed").removeHandler(paced)
        httpx.delete(f"{server.url}/v1/admin/maintenance/simulator_mps", headers=headers)
        httpx.put(url, json={"maximum_jobs": None}, headers=headers)


def test_bad_inputs(provider: AccountProvider, manager: JobManager) -> None:
    backend = provider.get_backend(BACKEND)
    for experiments in ([], ["x"], "x"):
        with pytest.raises(exc.OpenQXJobManagerInvalidStateError):
            manager.run(experiments, backend)
    with pytest.raises(exc.OpenQXJobManagerInvalidStateError):
        manager.run([ghz(2)], backend, max_experiments_per_job=0)


def test_cancelled_job_in_the_middle_of_a_set(
    provider: AccountProvider, manager: JobManager
) -> None:
    """A job of the set that ends without a result at run time: the others finish and stay
    retrievable, its experiments are not available, partial results work."""
    from openqx.core.status import JobStatus as Status

    backend = provider.get_backend(BACKEND)
    blocker = backend.run(forever(), shots=10)  # holds the single worker
    job_set = manager.run(
        numbered(backend, 6), backend, name="e2e-cancel", max_experiments_per_job=2, shots=20
    )
    jobs = [j for j in job_set.jobs() if j is not None]
    assert len(jobs) == 3
    assert jobs[1].cancel() is True
    blocker.cancel()
    with pytest.warns(UserWarning, match="cancelled"):
        results = job_set.results(timeout=120)
    assert results.success is False
    assert [s.name if s else None for s in job_set.statuses()] == ["DONE", "CANCELLED", "DONE"]
    assert jobs[1].status().name == Status.CANCELLED.value
    for index in (0, 1, 4, 5):
        assert results.get_counts(index) == {format(index, "04b"): 20}
    for index in (2, 3):
        with pytest.raises(exc.OpenQXManagedResultDataNotAvailable):
            results.get_counts(index)
    with pytest.raises(exc.OpenQXManagedResultDataNotAvailable):
        results.combine_results()
    messages = job_set.error_messages()
    assert messages is None or "job" in messages
