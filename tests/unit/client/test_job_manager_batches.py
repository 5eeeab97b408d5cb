"""``JobManager`` sets on a real in-process service: a set's jobs go in one
``POST /jobs/batch`` and its results come with ``POST /jobs/wait``; a batch the server
refuses falls back to one request per job, and a batch that fails otherwise is never re-sent."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from qiskit import QuantumCircuit

from openqx.client import JobManager, ManagedJobSet
from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.backend import OpenQXBackend
from openqx.client.managed import job_set as job_set_module
from openqx.client.managed import managed_job
from openqx.server.routes import job_batches
from tests.unit.server.harness import BASE_URL, Harness, open_harness

SIM = "ibmq_qasm_simulator"
SHOTS = 200
SEED = 11


class RecordingTransport(httpx.BaseTransport):
    """The harness's in-process transport, recording ``METHOD path`` of each request; the
    paths in ``fail`` answer ``fail[path]`` instead of reaching the service."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[str] = []
        self.fail: dict[str, int] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        status = self.fail.get(request.url.path)
        if status is not None:
            error = {"code": "internal", "message": "The server broke.", "details": {}}
            return httpx.Response(status, json={"error": error})
        return self.inner.handle_request(request)

    def count(self, request: str) -> int:
        return self.seen.count(request)


@pytest.fixture(autouse=True)
def _no_saved_provider() -> Iterator[None]:
    yield
    OpenQX._provider = None


@pytest.fixture
def manager() -> Iterator[JobManager]:
    with JobManager(progress=False) as jm:
        yield jm


def _backend(harness: Harness) -> tuple[OpenQXBackend, RecordingTransport]:
    transport = RecordingTransport(harness.client._transport)
    provider = OpenQX.enable_account(harness.new_user(), BASE_URL, transport=transport, retries=0)
    backend = provider.get_backend(SIM)
    backend.configuration()  # read once, then cached
    transport.seen.clear()
    return backend, transport


def _circuits(count: int) -> list[QuantumCircuit]:
    """Circuits ``c<i>`` with different, random outcomes (so equal counts mean equal runs)."""
    out = []
    for i in range(count):
        circuit = QuantumCircuit(2, name=f"c{i}")
        circuit.h(0)
        circuit.ry(0.3 * (i + 1), 1)
        circuit.measure_all()
        out.append(circuit)
    return out


def _settled(job_set: ManagedJobSet) -> None:
    """Wait until every job of the set is submitted (or could not be)."""
    for managed in job_set.managed_jobs():
        assert managed.future is not None
        managed.future.result(timeout=60)


def _alone(backend: OpenQXBackend, circuits: list[QuantumCircuit]) -> list[dict[str, int]]:
    """Each circuit run as its own job with the set's options."""
    return [
        backend.run(circuit, shots=SHOTS, seed_simulator=SEED).result().get_counts()
        for circuit in circuits
    ]


def test_a_set_is_submitted_in_one_batch_and_waited_for_in_one_request(
    manager: JobManager,
) -> None:
    with open_harness() as harness:
        backend, transport = _backend(harness)
        circuits = _circuits(5)
        job_set = manager.run(
            circuits,
            backend,
            name="together",
            max_experiments_per_job=1,
            shots=SHOTS,
            seed_simulator=SEED,
        )
        results = job_set.results(timeout=60)
        requests = list(transport.seen)
        assert results.success
        assert requests.count("POST /v1/jobs/batch") == 1
        assert "POST /v1/jobs" not in requests
        assert requests.count("POST /v1/jobs/wait") >= 1
        # every result came with the wait: no job was read, streamed or fetched alone
        assert [r for r in requests if r not in ("POST /v1/jobs/batch", "POST /v1/jobs/wait")] == []
        jobs = job_set.jobs()
        assert all(job is not None for job in jobs)
        assert [job.name() for job in jobs if job is not None] == [
            f"together_{i}_" for i in range(5)
        ]
        counts = [results.get_counts(i) for i in range(5)]
        assert all(sum(c.values()) == SHOTS for c in counts)
        assert [results.get_counts(f"c{i}") for i in range(5)] == counts  # names kept
        assert counts == _alone(backend, circuits)


def test_a_set_the_job_limit_refuses_as_a_batch_goes_job_by_job(
    manager: JobManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(managed_job, "LIMIT_RETRY_PAUSE_SECONDS", 0.05)
    with open_harness(job_limits={SIM: 2}) as harness:
        backend, transport = _backend(harness)
        circuits = _circuits(5)
        job_set = manager.run(
            circuits,
            backend,
            name="paced",
            max_experiments_per_job=1,
            shots=SHOTS,
            seed_simulator=SEED,
        )
        results = job_set.results(timeout=120)
        assert transport.count("POST /v1/jobs/batch") == 1  # refused: 5 jobs, limit 2
        assert transport.count("POST /v1/jobs") >= 5  # each job alone, paced on the limit
        assert results.success
        assert [m.submit_error for m in job_set.managed_jobs()] == [None] * 5
        counts = [results.get_counts(f"c{i}") for i in range(5)]
        assert all(sum(c.values()) == SHOTS for c in counts)
        assert counts == _alone(backend, circuits)


def test_one_job_the_server_refuses_keeps_its_own_error(manager: JobManager) -> None:
    with open_harness() as harness:
        backend, transport = _backend(harness)
        circuits = _circuits(4)
        wide = QuantumCircuit(40, name="wide")  # more qubits than the simulator has
        wide.h(39)
        wide.measure_all()
        job_set = manager.run(
            [*circuits[:2], wide, *circuits[2:]],
            backend,
            name="one_bad",
            max_experiments_per_job=1,
            shots=SHOTS,
        )
        _settled(job_set)
        assert transport.count("POST /v1/jobs/batch") == 1  # refused for job 2
        assert transport.count("POST /v1/jobs") == 5  # then each job alone
        errors = [m.submit_error for m in job_set.managed_jobs()]
        assert [error is None for error in errors] == [True, True, False, True, True]
        assert isinstance(errors[2], exc.OpenQXError) and "40 qubits" in str(errors[2])
        assert "Job 2" not in str(errors[2])  # its own answer, not the batch's
        with pytest.warns(UserWarning, match="not submitted"):
            results = job_set.results(timeout=60, partial=True)
        assert not results.success
        for name in ("c0", "c1", "c2", "c3"):
            assert sum(results.get_counts(name).values()) == SHOTS


def test_a_batch_that_fails_otherwise_is_not_sent_again(manager: JobManager) -> None:
    with open_harness() as harness:
        backend, transport = _backend(harness)
        transport.fail["/v1/jobs/batch"] = 502
        job_set = manager.run(_circuits(3), backend, name="lost", max_experiments_per_job=1)
        _settled(job_set)
        assert transport.seen == ["POST /v1/jobs/batch"]  # never re-sent, alone or together
        errors = [m.submit_error for m in job_set.managed_jobs()]
        assert all(isinstance(error, exc.OpenQXError) for error in errors)
        assert len({id(error) for error in errors}) == 1  # the group's one error
        assert job_set.jobs() == [None, None, None]
        listed = harness.client.get("/v1/jobs", headers=harness.headers())
        assert listed.json()["jobs"] == []  # the fake failure kept it from the service


def test_sets_larger_than_a_batch_go_in_groups(
    manager: JobManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_set_module, "SUBMIT_BATCH_JOBS", 2)
    with open_harness() as harness:
        backend, transport = _backend(harness)
        job_set = manager.run(
            _circuits(5), backend, name="groups", max_experiments_per_job=1, shots=SHOTS
        )
        results = job_set.results(timeout=60)
        assert results.success
        assert transport.count("POST /v1/jobs/batch") == 2  # jobs 0-1 and 2-3
        assert transport.count("POST /v1/jobs") == 1  # job 4, alone in its group
        assert [sum(results.get_counts(i).values()) for i in range(5)] == [SHOTS] * 5


def test_a_batch_over_the_body_limit_goes_job_by_job(manager: JobManager) -> None:
    with open_harness(max_payload_bytes=8 * 1024) as harness:  # one job fits, ten do not
        backend, transport = _backend(harness)
        job_set = manager.run(
            _circuits(10), backend, name="big", max_experiments_per_job=1, shots=SHOTS
        )
        results = job_set.results(timeout=60)
        assert transport.count("POST /v1/jobs/batch") == 1  # 413: nothing stored
        assert transport.count("POST /v1/jobs") == 10
        assert results.success
        assert [sum(results.get_counts(f"c{i}").values()) for i in range(10)] == [SHOTS] * 10


def test_results_too_large_to_ride_with_the_wait_are_fetched(
    manager: JobManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_batches, "WAIT_RESULT_BUDGET_BYTES", 16)
    with open_harness() as harness:
        backend, transport = _backend(harness)
        circuits = _circuits(3)
        job_set = manager.run(
            circuits,
            backend,
            name="large",
            max_experiments_per_job=1,
            shots=SHOTS,
            seed_simulator=SEED,
        )
        results = job_set.results(timeout=60)
        jobs = [job for job in job_set.jobs() if job is not None]
        assert transport.count("POST /v1/jobs/batch") == 1
        for job in jobs:
            assert transport.count(f"GET /v1/jobs/{job.job_id()}/result") == 1
        assert not any(r.endswith("/events") for r in transport.seen)  # finals came by wait
        assert [results.get_counts(f"c{i}") for i in range(3)] == _alone(backend, circuits)
