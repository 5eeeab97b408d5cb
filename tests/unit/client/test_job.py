from __future__ import annotations

import gc
import time
import tracemalloc
from datetime import datetime
from typing import Any, Protocol

import pytest
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus as QJobStatus
from qiskit.result import Result

from openqx.client import OpenQXJob, QueueInfo
from openqx.client import exceptions as exc
from openqx.client.provider import AccountProvider
from openqx.core.status import JobStatus
from tests.unit.client.conftest import FakeServer


class MakeJob(Protocol):
    """Adds a job to the fake server and returns it as the client sees it."""

    def __call__(self, status: JobStatus = ..., **fields: Any) -> OpenQXJob: ...


def result_dict(job_id: str, success: bool = True, n: int = 1) -> dict[str, Any]:
    return {
        "backend_name": "ibmq_manila",
        "backend_version": "1.0.0",
        "qobj_id": "",
        "job_id": job_id,
        "success": success,
        "results": [
            {
                "shots": 10,
                "success": success,
                "status": "DONE" if success else "ERROR",
                "data": {"counts": {"0x0": 6, "0x3": 4}},
                "header": {"name": f"c{i}", "memory_slots": 2},
            }
            for i in range(n)
        ],
    }


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OpenQXJob, "POLL_INTERVAL", 0.01)


@pytest.fixture
def make_job(provider: AccountProvider, server: FakeServer) -> MakeJob:
    def make(status: JobStatus = JobStatus.QUEUED, **fields: Any) -> OpenQXJob:
        job_id = server.add_job(status, **fields)
        return provider.backend.retrieve_job(job_id)

    return make


def test_status_mapping_and_final_cache(make_job: MakeJob, server: FakeServer) -> None:
    job = make_job(JobStatus.QUEUED)
    server.script(job.job_id(), JobStatus.RUNNING)
    assert job.status() is QJobStatus.RUNNING
    server.script(job.job_id(), JobStatus.DONE)
    assert job.status() is QJobStatus.DONE
    count = len(server.requests)
    assert job.status() is QJobStatus.DONE and job.done() and job.in_final_state()
    assert len(server.requests) == count  # final: no request


def test_result_done_via_sse(make_job: MakeJob, server: FakeServer) -> None:
    job = make_job()
    server.script(job.job_id(), (JobStatus.QUEUED, 2), JobStatus.RUNNING, JobStatus.DONE)
    server.results[job.job_id()] = result_dict(job.job_id())
    result = job.result(timeout=5)
    assert isinstance(result, Result) and result.get_counts() == {"00": 6, "11": 4}
    assert any(r.url.path.endswith("/events") for r in server.requests)
    assert not any(r.url.path.endswith("/status") for r in server.requests)
    assert job.result() is result  # cached
    assert job.result(refresh=True) is not result


def test_result_cancelled(make_job: MakeJob, server: FakeServer) -> None:
    job = make_job(JobStatus.CANCELLED)
    with pytest.raises(
        exc.OpenQXJobInvalidStateError,
        match=f"Unable to retrieve result for job {job.job_id()}. Job was cancelled.",
    ):
        job.result()


def test_result_error_and_partial(make_job: MakeJob, server: FakeServer) -> None:
    job = make_job(JobStatus.ERROR, error={"code": "execution_failed", "message": "Boom"})
    with pytest.raises(
        exc.OpenQXJobFailureError, match="Job has failed: Boom. Error code: execution_failed."
    ):
        job.result()
    with pytest.raises(exc.OpenQXJobFailureError):
        job.result(partial=True)  # no partial result on the server
    server.partial_results[job.job_id()] = result_dict(job.job_id(), success=False, n=2)
    partial = job.result(partial=True)
    assert len(partial.results) == 2
    assert job.error_message() == "Boom. Error code: execution_failed."


def test_error_text_has_one_period_and_a_long_reason_points_to_error_message(
    make_job: MakeJob,
) -> None:
    stopped = make_job(
        JobStatus.ERROR, error={"code": "time_limit_exceeded", "message": "It was stopped."}
    )
    assert stopped.error_message() == "It was stopped. Error code: time_limit_exceeded."
    failed = make_job(
        JobStatus.ERROR,
        error={"code": "experiments_failed", "message": "Some failed:\nExperiment 1: ERROR"},
    )
    with pytest.raises(exc.OpenQXJobFailureError) as info:
        failed.result()
    assert str(info.value).endswith(
        "Job has failed: Some failed. Use the error_message() method to get more details"
    )
    assert failed.error_message() == (
        "Some failed:\nExperiment 1: ERROR. Error code: experiments_failed."
    )


def test_error_message_names_failed_experiments(make_job: MakeJob, server: FakeServer) -> None:
    """Without an error record the message lists the failed experiments (core.results)."""
    job = make_job(JobStatus.ERROR)
    result = result_dict(job.job_id(), n=3)
    result["success"] = False
    result["results"][1].update(success=False, status="ERROR: too many qubits")
    server.partial_results[job.job_id()] = result
    assert job.error_message() == (
        "The following experiments failed:\nExperiment 1: ERROR: too many qubits"
    )


def test_error_message_falls_back_to_unknown_error(make_job: MakeJob) -> None:
    assert make_job(JobStatus.ERROR).error_message() == "Unknown error."


def test_error_message_none_when_done(make_job: MakeJob) -> None:
    assert make_job(JobStatus.DONE).error_message() is None


def test_wait_polling_fallback(make_job: MakeJob, server: FakeServer) -> None:
    server.sse = False
    job = make_job()
    server.script(job.job_id(), JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DONE)
    job.wait_for_final_state(timeout=5)
    assert job.status() is QJobStatus.DONE
    paths = [r.url.path for r in server.requests]
    assert any(p.endswith("/events") for p in paths)
    assert sum(p.endswith("/status") for p in paths) == 3


def test_wait_timeout(make_job: MakeJob, server: FakeServer) -> None:
    """The job never ends: the wait gives up after its timeout, not before."""
    job = make_job()
    start = time.monotonic()
    with pytest.raises(
        exc.OpenQXJobTimeoutError, match=f"Timeout while waiting for job {job.job_id()}"
    ):
        job.wait_for_final_state(timeout=0.2)
    assert time.monotonic() - start >= 0.2
    assert job.status() is QJobStatus.QUEUED


def test_callback_on_change(make_job: MakeJob, server: FakeServer) -> None:
    job = make_job()
    server.script(
        job.job_id(),
        (JobStatus.QUEUED, 3),
        (JobStatus.QUEUED, 3),
        (JobStatus.QUEUED, 2),
        JobStatus.RUNNING,
        JobStatus.DONE,
    )
    calls = []

    def callback(
        job_id: str, status: QJobStatus, job_obj: OpenQXJob, queue_info: QueueInfo | None = None
    ) -> None:
        calls.append((job_id, status, queue_info.position if queue_info else None))
        assert job_obj is job

    job.wait_for_final_state(timeout=5, callback=callback)
    assert calls == [
        (job.job_id(), QJobStatus.QUEUED, 3),
        (job.job_id(), QJobStatus.QUEUED, 2),
        (job.job_id(), QJobStatus.RUNNING, None),
    ]


def test_callback_paced(make_job: MakeJob, server: FakeServer) -> None:
    server.sse = False
    job = make_job()
    server.script(job.job_id(), *([JobStatus.QUEUED] * 30), JobStatus.DONE)
    calls = []
    start = time.monotonic()
    job.wait_for_final_state(timeout=30, wait=0.1, callback=lambda *a, **k: calls.append(a[1]))
    elapsed = time.monotonic() - start
    # 31 polls 0.01 s apart take at least 0.3 s, so the 0.1 s pacing fires at least once;
    # however slow the machine, it fires at most once per 0.1 s, not once per status.
    assert 1 <= len(calls) <= elapsed / 0.1 + 1
    assert QJobStatus.DONE not in calls


def test_cancel(make_job: MakeJob) -> None:
    job = make_job()
    assert job.cancel() is True
    assert job.status() is QJobStatus.CANCELLED
    assert job.cancel() is False


def test_update_name(make_job: MakeJob) -> None:
    job = make_job(name="old")
    assert job.update_name("new") == "new" and job.name() == "new"
    with pytest.raises(exc.OpenQXJobInvalidStateError):
        job.update_name(3)  # type: ignore[arg-type]


def test_update_tags_semantics(make_job: MakeJob) -> None:
    job = make_job(tags=["a", "b", "openqx_jobset_1"])
    with pytest.raises(exc.OpenQXJobInvalidStateError):
        job.update_tags()
    with pytest.raises(exc.OpenQXJobInvalidStateError):
        job.update_tags(additional_tags=[1])  # type: ignore[list-item]
    assert sorted(job.update_tags(replacement_tags=["x"])) == ["openqx_jobset_1", "x"]
    assert sorted(job.update_tags(additional_tags=["y"], removal_tags=["x", "missing"])) == [
        "openqx_jobset_1",
        "y",
    ]
    assert sorted(job.update_tags(removal_tags=["openqx_jobset_1"])) == ["openqx_jobset_1", "y"]
    assert sorted(job.update_tags(additional_tags=["z"], removal_tags=["z"])) == [
        "openqx_jobset_1",
        "y",
    ]
    assert sorted(job.update_tags(replacement_tags=[])) == ["openqx_jobset_1"]


def test_accessors(make_job: MakeJob, server: FakeServer, provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_manila")
    qc = QuantumCircuit(1, 1, name="one")
    qc.measure(0, 0)
    job = backend.run(qc, header={"h": 1}, experiment_id="E", shots=10)
    assert job.circuits()[0].name == "one"
    assert job.backend_options()["shots"] == 10
    assert job.header() == {"h": 1}
    assert job.experiment_id == "E"
    assert job.client_version["openqx"]
    created = job.creation_date()
    assert (
        created.tzinfo is not None
        and created.utcoffset() == datetime.now().astimezone().utcoffset()
    )
    assert job.queue_position() == 1
    info = job.queue_info()
    assert isinstance(info, QueueInfo) and info.position == 1
    assert "queue position: 1" in info.format()
    props = job.properties()
    assert props is not None and props.backend_name == "ibmq_manila"
    assert job.scheduling_mode() is None
    with pytest.raises(NotImplementedError):
        job.submit()


def test_scheduling_mode_fairshare(make_job: MakeJob) -> None:
    assert make_job(JobStatus.DONE).scheduling_mode() == "fairshare"
    assert make_job(JobStatus.DONE, run_mode="dedicated").scheduling_mode() == "dedicated"


LAZY_JOBS = 2_000
"""Enough jobs (several pages) that fixed costs weigh little in the memory per job; traced
allocation makes each one slow."""


def test_lazy_jobs_memory(provider: AccountProvider, server: FakeServer) -> None:
    for _ in range(LAZY_JOBS):
        server.add_job(JobStatus.DONE, tags=["t"], name="job")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        jobs = provider.backend.jobs(limit=None)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(jobs) == LAZY_JOBS
    per_job = (after - before) / len(jobs)
    print(f"{per_job:.0f} bytes per job")
    assert per_job < 5_000, f"{per_job:.0f} bytes per job"
    assert all(job._result is None and job._circuits is None for job in jobs)
