"""JobManager / ManagedJobSet / ManagedResults against the fake server of ``conftest``."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit, qpy
from qiskit.providers import JobStatus as QiskitJobStatus

from openqx.client import ApiClient, JobManager, ManagedJobSet, OpenQXJob
from openqx.client import exceptions as exc
from openqx.client.managed import managed_job
from openqx.client.provider import AccountProvider
from openqx.core import wire
from openqx.core.status import JobStatus
from tests.unit.client.conftest import TOKEN, URL, FakeServer, _error

BACKEND = "simulator_statevector"  # max_experiments 300 in the fake


class JobSetServer(FakeServer):
    """The conftest fake plus job sets, instant results, scripted failures and a lock."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.limit_answers = 0
        """How many submissions to refuse with ``job_limit_reached``."""
        self.fail_names: set[str] = set()
        """Job names whose job ends in ERROR."""
        self.reject_names: set[str] = set()
        """Job names whose submission is refused (400)."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            match = re.fullmatch(r"/v1/job_sets/([^/]+)", request.url.path)
            if match:
                self.requests.append(request)
                return self._job_set(match.group(1))
            if request.url.path == "/v1/jobs" and request.method == "POST":
                body = json.loads(request.content)
                if self.limit_answers > 0:
                    self.limit_answers -= 1
                    self.requests.append(request)
                    self.submissions.append(body)
                    return _error(429, "job_limit_reached", "Maximum number of active jobs.")
                if body.get("name") in self.reject_names:
                    self.requests.append(request)
                    return _error(400, "invalid_input", "This job is refused.")
                response = super().handler(request)
                if response.status_code == 201:
                    self._finish(response.json()["id"], body)
                return response
            return super().handler(request)

    def _finish(self, job_id: str, body: dict[str, Any]) -> None:
        circuits = qpy.load(io.BytesIO(wire.b64decode(body["qpy"])))
        job = self.jobs[job_id]
        job["num_circuits"] = len(circuits)
        if body.get("name") in self.fail_names:
            job["status"] = "ERROR"
            job["error"] = {"code": "execution_failed", "message": "The device broke."}
            return
        job["status"] = "DONE"
        self.results[job_id] = {
            "backend_name": body["backend"],
            "backend_version": "1.0.0",
            "qobj_id": job_id,
            "job_id": job_id,
            "success": True,
            "results": [
                {
                    "shots": 10,
                    "success": True,
                    # Each circuit ``c<i>`` answers with the one outcome ``i``.
                    "data": {"counts": {hex(int(c.name[1:])): 10}},
                    "header": {"name": c.name},
                }
                for c in circuits
            ],
        }

    def _job_set(self, set_id: str) -> httpx.Response:
        tag = f"openqx_jobset_{set_id}_"
        found = [self._public(j) for j in self.jobs if tag in self.jobs[j]["tags"]]
        if not found:
            return _error(404, "job_set_not_found", f"{set_id} is not a known job set.")
        return httpx.Response(200, json=found)


@pytest.fixture
def server() -> JobSetServer:
    return JobSetServer()


@pytest.fixture
def manager() -> Iterator[JobManager]:
    jm = JobManager(progress=False)
    yield jm
    jm.close()


def submitted(job_set: ManagedJobSet) -> list[OpenQXJob]:
    """The set's jobs, each one submitted."""
    jobs = job_set.jobs()
    assert all(job is not None for job in jobs)
    return [job for job in jobs if job is not None]


def circuits(n: int) -> list[QuantumCircuit]:
    out = []
    for i in range(n):
        qc = QuantumCircuit(1, 1, name=f"c{i}")
        qc.measure(0, 0)
        out.append(qc)
    return out


def submitted_jobs(server: JobSetServer) -> list[dict[str, Any]]:
    return sorted(server.jobs.values(), key=lambda job: int(job["name"].rsplit("_", 2)[1]))


# --- splitting, names, tags -----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "per_job", "sizes"),
    [(12, 5, [5, 5, 2]), (5, None, [5]), (2, 1, [1, 1]), (301, None, [300, 1]), (7, 1000, [7])],
)
def test_splitting_sizes_and_order(
    provider: AccountProvider,
    server: JobSetServer,
    manager: JobManager,
    count: int,
    per_job: int | None,
    sizes: list[int],
) -> None:
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(circuits(count), backend, name="split", max_experiments_per_job=per_job)
    jobs = submitted(job_set)
    assert [m.experiments_count for m in job_set.managed_jobs()] == sizes
    assert len(jobs) == len(sizes) and all(job is not None for job in jobs)
    names = [[c.name for c in job.circuits()] for job in jobs]
    assert sum(names, []) == [f"c{i}" for i in range(count)]
    assert [job.name() for job in jobs] == [f"split_{i}_" for i in range(len(sizes))]


def test_names_tags_and_ids(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    backend = provider.get_backend(BACKEND)
    set1 = manager.run(
        circuits(4), backend, name="tagged", max_experiments_per_job=2, job_tags=["alpha"], shots=10
    )
    set2 = manager.run(circuits(1)[0], backend, name="single")
    assert set1.job_set_id() != set2.job_set_id()
    tag = f"openqx_jobset_{set1.job_set_id()}_"
    for job in submitted(set1):
        assert sorted(job.tags()) == sorted(["alpha", tag])
    assert set1.tags() == ["alpha"] and set1.name() == "tagged"
    assert {j.job_id() for j in submitted(set1)}.isdisjoint({j.job_id() for j in submitted(set2)})
    assert len(set2.managed_jobs()) == 1 and set2.managed_jobs()[0].experiments_count == 1
    tagged = [body for body in server.submissions if body["name"].startswith("tagged_")]
    assert len(tagged) == 2 and all(body["shots"] == 10 for body in tagged)
    assert manager.job_sets(name="single") == [set2]
    assert manager.job_sets() == [set1, set2]
    assert set1.job_set_id() in manager.report()


def test_update_name_and_tags(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(
        circuits(4), backend, name="old", max_experiments_per_job=2, job_tags=["a"]
    )
    assert job_set.update_name("new") == "new"
    assert [job["name"] for job in submitted_jobs(server)] == ["new_0_", "new_1_"]
    set_tag = f"openqx_jobset_{job_set.job_set_id()}_"
    assert job_set.update_tags(replacement_tags=["b"]) == ["b"]
    assert all(sorted(job["tags"]) == sorted(["b", set_tag]) for job in server.jobs.values())
    job_set.update_tags(removal_tags=["b", set_tag])
    assert all(job["tags"] == [set_tag] for job in server.jobs.values())
    with pytest.raises(exc.OpenQXJobManagerInvalidStateError):
        job_set.update_tags()
    with pytest.raises(exc.OpenQXJobManagerInvalidStateError, match="reserved"):
        job_set.update_tags(additional_tags=["openqx_jobset_x_"])


# --- bad inputs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("experiments", "kwargs", "match"),
    [
        ([], {}, "empty"),
        ("not a circuit", {}, "QuantumCircuit"),
        ([QuantumCircuit(1), "x"], {}, "Experiment 1 is a str"),
        ([object()], {}, "only QuantumCircuit"),
        (None, {"max_experiments_per_job": 0}, "positive integer"),
        (None, {"max_experiments_per_job": -3}, "positive integer"),
        (None, {"max_experiments_per_job": 1.5}, "positive integer"),
        (None, {"job_tags": "tag"}, "list of strings"),
        (None, {"job_tags": [""]}, "empty"),
        (None, {"job_tags": ["openqx_jobset_abc_"]}, "reserved"),
        (None, {"job_share_level": "planet"}, "planet"),
        (None, {"name": ""}, "non-empty"),
    ],
)
def test_bad_inputs(
    provider: AccountProvider, manager: JobManager, experiments: Any, kwargs: Any, match: str
) -> None:
    backend = provider.get_backend(BACKEND)
    with pytest.raises(exc.OpenQXJobManagerInvalidStateError, match=match):
        manager.run(circuits(2) if experiments is None else experiments, backend, **kwargs)
    assert manager.job_sets() == []


def test_schedule_like_objects_are_refused(provider: AccountProvider, manager: JobManager) -> None:
    from qiskit.circuit import Gate

    with pytest.raises(exc.OpenQXJobManagerInvalidStateError, match="Gate"):
        manager.run([Gate("g", 1, [])], provider.get_backend(BACKEND))


def test_non_openqx_backend_is_refused(manager: JobManager) -> None:
    from qiskit_aer import AerSimulator

    with pytest.raises(exc.OpenQXJobManagerInvalidStateError, match="openqx backends"):
        manager.run(circuits(1), AerSimulator())


# --- pacing -----------------------------------------------------------------------------


def test_pacing_on_job_limit(
    provider: AccountProvider,
    server: JobSetServer,
    manager: JobManager,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(managed_job, "LIMIT_RETRY_PAUSE_SECONDS", 0)
    old = server.add_job(JobStatus.RUNNING, backend=BACKEND, name="someone-else")
    server.script(old, JobStatus.DONE)
    server.limit_answers = 3
    backend = provider.get_backend(BACKEND)
    with caplog.at_level(logging.WARNING, logger="openqx.client.managed"):
        job_set = manager.run(circuits(2), backend, name="paced", max_experiments_per_job=1)
        jobs = job_set.jobs()
    assert all(job is not None for job in jobs)
    assert len(server.submissions) == 5  # 3 refused, 2 accepted
    waits = [r for r in caplog.records if "Job limit reached" in r.getMessage()]
    assert waits and all(r.levelno == logging.WARNING for r in waits)
    assert any(old in r.getMessage() for r in waits)
    oldest_queries = [q for q in server.queries if q.get("descending") is False]
    assert oldest_queries and oldest_queries[0]["limit"] == 1
    assert set(oldest_queries[0]["status"]) == {"INITIALIZING", "VALIDATING", "QUEUED", "RUNNING"}
    assert job_set.statuses() == [QiskitJobStatus.DONE, QiskitJobStatus.DONE]


def test_other_submit_error_is_kept_and_others_go_on(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    server.reject_names = {"rej_1_"}
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(circuits(3), backend, name="rej", max_experiments_per_job=1)
    jobs = job_set.jobs()
    assert jobs[0] is not None and jobs[1] is None and jobs[2] is not None
    assert isinstance(job_set.managed_jobs()[1].submit_error, exc.OpenQXBackendValueError)
    assert job_set.statuses()[1] is None
    assert job_set.cancel() == [False, False, False]  # all final or not submitted: no crash
    assert "job submit failed" in job_set.report()
    assert "Job submit failed" in (job_set.error_messages() or "")
    with pytest.warns(UserWarning, match="experiments 1-1"):
        results = job_set.results()
    assert results.success is False
    assert results.get_counts(2) == {"10": 10}
    with pytest.raises(exc.OpenQXManagedResultDataNotAvailable, match="not successfully submitted"):
        results.get_counts(1)


# --- a failed job in the middle -------------------------------------------------------


def test_failed_job_in_the_middle(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    server.fail_names = {"mid_1_"}
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(circuits(6), backend, name="mid", max_experiments_per_job=2)
    job_set.jobs()  # wait for the submissions
    assert job_set.statuses() == [QiskitJobStatus.DONE, QiskitJobStatus.ERROR, QiskitJobStatus.DONE]
    with pytest.warns(UserWarning, match="experiments 2-3"):
        results = job_set.results()
    assert results.success is False and results.backend_name == BACKEND
    assert results.get_counts(0) == {"0": 10}
    assert results.get_counts(5) == {"101": 10}
    assert results.get_counts("c4") == {"100": 10}
    for experiment in (2, 3, "c2"):
        with pytest.raises(exc.OpenQXManagedResultDataNotAvailable, match="not available"):
            results.get_counts(experiment)
    with pytest.raises(exc.OpenQXManagedResultDataNotAvailable, match="cannot be combined"):
        results.combine_results()
    messages = job_set.error_messages()
    assert messages is not None
    failed_id = submitted(job_set)[1].job_id()
    assert failed_id in messages and "The device broke" in messages
    assert submitted(job_set)[0].job_id() not in messages
    assert "Failed jobs: 1" in job_set.report()


def test_partial_results(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    server.fail_names = {"part_0_"}
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(circuits(4), backend, name="part", max_experiments_per_job=2)
    failed = submitted(job_set)[0].job_id()
    server.partial_results[failed] = {
        "backend_name": BACKEND,
        "backend_version": "1",
        "qobj_id": failed,
        "job_id": failed,
        "success": False,
        "results": [
            {
                "shots": 10,
                "success": True,
                "data": {"counts": {"0x0": 10}},
                "header": {"name": "c0"},
            },
            {
                "shots": 10,
                "success": False,
                "data": {},
                "header": {"name": "c1"},
                "status": "ERROR",
            },
        ],
    }
    results = job_set.results(partial=True)
    assert results.success is False
    assert results.get_counts(0) == {"0": 10}
    assert results.get_counts(3) == {"11": 10}
    with pytest.raises(exc.OpenQXManagedResultDataNotAvailable):
        results.get_counts(1)


def test_results_lookup_and_combine(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(circuits(7), backend, name="ok", max_experiments_per_job=3)
    results = job_set.results()
    assert results.success is True
    assert job_set.results() is results
    jobs = submitted(job_set)
    for i, circuit in enumerate(circuits(7)):
        expected = jobs[i // 3].result().get_counts(i % 3)
        assert results.get_counts(i) == expected == results.get_counts(circuit)
        assert results.data(i) == {"counts": {hex(i): 10}}
    combined = results.combine_results()
    assert [combined.get_counts(i) for i in range(7)] == [results.get_counts(i) for i in range(7)]
    assert job_set.job(4) == (jobs[1], 1)
    with pytest.raises(exc.OpenQXJobManagerJobNotFound):
        results.get_counts(7)
    with pytest.raises(exc.OpenQXJobManagerJobNotFound):
        results.get_counts("nope")
    with pytest.raises(exc.OpenQXJobManagerJobNotFound):
        job_set.job(-1)


def test_results_timeout(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    server.fail_names = set()
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(circuits(2), backend, name="slow")
    job_set.jobs()
    job = next(iter(server.jobs.values()))
    job["status"] = "RUNNING"
    server.sse = False
    with pytest.raises(exc.OpenQXJobManagerTimeoutError, match="experiments 0-1"):
        job_set.results(timeout=0.2)


def test_managed_results_mirrors_result_api() -> None:
    import inspect

    from qiskit.result import Result

    from openqx.client import ManagedResults

    for name in ("data", "get_memory", "get_counts", "get_statevector", "get_unitary"):
        ours = list(inspect.signature(getattr(ManagedResults, name)).parameters)
        theirs = list(inspect.signature(getattr(Result, name)).parameters)
        assert ours == theirs, name


# --- retrieval ------------------------------------------------------------------------


def test_retrieve_job_set_from_a_fresh_client_in_one_request(
    provider: AccountProvider, server: JobSetServer, manager: JobManager
) -> None:
    backend = provider.get_backend(BACKEND)
    job_set = manager.run(
        circuits(5), backend, name="far", max_experiments_per_job=2, job_tags=["x"]
    )
    original = [job.job_id() for job in submitted(job_set)]
    fresh = AccountProvider(
        ApiClient(URL, TOKEN, transport=httpx.MockTransport(server.handler)), "h/g/p"
    )
    fresh.backends()  # the catalog, so that only the job-set request is counted below
    before = len(server.requests)
    other = JobManager(progress=False)
    try:
        found = other.retrieve_job_set(job_set.job_set_id(), fresh)
        assert len(server.requests) - before == 1
        assert server.requests[-1].url.path == f"/v1/job_sets/{job_set.job_set_id()}"
        assert isinstance(found, ManagedJobSet)
        assert found.name() == "far" and found.tags() == ["x"]
        assert [job.job_id() for job in submitted(found)] == original
        assert [(m.start_index, m.end_index) for m in found.managed_jobs()] == [
            (0, 1),
            (2, 3),
            (4, 4),
        ]
        assert other.retrieve_job_set(job_set.job_set_id(), fresh) is found
        results = found.results()
        # Names come from the downloaded results: no circuit downloads.
        assert results.get_counts("c3") == {"11": 10}
        assert not any(r.url.path.endswith("/circuits") for r in server.requests[before:])
        refreshed = other.retrieve_job_set(job_set.job_set_id(), fresh, refresh=True)
        assert refreshed is not found and other.job_sets() == [refreshed]
        # Before results: a name lookup downloads circuits only until it finds the name.
        start = len(server.requests)
        assert refreshed.job("c1")[1] == 1
        downloads = [r for r in server.requests[start:] if r.url.path.endswith("/circuits")]
        assert len(downloads) == 1
    finally:
        other.close()


def test_retrieve_unknown_job_set(provider: AccountProvider, manager: JobManager) -> None:
    with pytest.raises(exc.OpenQXJobManagerUnknownJobSet, match="not a known job set"):
        manager.retrieve_job_set("nope", provider)


@pytest.mark.parametrize(
    ("names", "backends", "match"),
    [
        (["s_0_", "s_2_"], [BACKEND, BACKEND], "Unable to retrieve all jobs"),
        (["s_0_", "t_1_"], [BACKEND, BACKEND], "does not appear to belong"),
        (["s_0_", "s_1_"], [BACKEND, "ibmq_manila"], "does not appear to belong"),
        (["s_0_", "bad"], [BACKEND, BACKEND], "proper job name"),
        (["s_0_", "s_0_"], [BACKEND, BACKEND], "both claim index 0"),
    ],
)
def test_retrieve_inconsistent_job_set(
    provider: AccountProvider,
    server: JobSetServer,
    manager: JobManager,
    names: list[str],
    backends: list[str],
    match: str,
) -> None:
    for name, backend in zip(names, backends, strict=True):
        server.add_job(
            JobStatus.DONE, name=name, backend=backend, tags=["openqx_jobset_bad_"], num_circuits=1
        )
    with pytest.raises(exc.OpenQXJobManagerInvalidStateError, match=match):
        manager.retrieve_job_set("bad", provider)


def test_compat_alias(provider: AccountProvider) -> None:
    from openqx.compat.ibmq import IBMQJobManager

    assert IBMQJobManager is JobManager


def test_progress_bar_only_on_a_terminal(
    provider: AccountProvider,
    server: JobSetServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    with JobManager() as jm:
        jm.run(circuits(2), provider.get_backend(BACKEND), name="bar").results()
        assert "exp" in fake.getvalue()
        fake.truncate(0)
        jm.run(circuits(2), provider.get_backend(BACKEND), name="bar").results(progress=False)
        assert fake.getvalue().strip("\x00") == ""
    with JobManager(progress=False) as jm:
        jm.run(circuits(2), provider.get_backend(BACKEND), name="bar").results()
        assert fake.getvalue().strip("\x00") == ""
