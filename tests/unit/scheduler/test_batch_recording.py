"""Recording a micro-batch: the ends of its jobs go to the store in one ``finish_jobs`` call,
each job keeping its own status, result and notification; a job cancelled meanwhile is
recorded at once on its own (a ``finish_jobs`` call of one)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from openqx.core.status import JobStatus
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.port import JobEnd
from openqx.store.records import JobRecord
from tests.unit.execution.helpers import qpy_bytes

from .conftest import MakeDispatcher, SubmitJob
from .fakes import WAIT_S
from .test_micro_batching import (
    CountingExecutor,
    isa,
    result_of,
    run_one_batch,
    wait_final,
    wait_until,
)


class StoreCalls:
    """What the dispatcher asked the store to record: ids per ``finish_jobs`` call, and the
    ids ``finish_job`` ended one by one."""

    def __init__(self, store: MemoryJobStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.together: list[list[str]] = []
        self.alone: list[str] = []
        finish_jobs, finish_job = store.finish_jobs, store.finish_job

        def counted_jobs(ends: Sequence[JobEnd]) -> list[JobRecord]:
            self.together.append([e.job_id for e in ends])
            return finish_jobs(ends)

        def counted_job(job_id: str, status: JobStatus, **kw: object) -> object:
            self.alone.append(job_id)
            return finish_job(job_id, status, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(store, "finish_jobs", counted_jobs)
        monkeypatch.setattr(store, "finish_job", counted_job)


def test_a_batchs_jobs_end_in_one_store_call_and_each_is_notified(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
    changes: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = StoreCalls(store, monkeypatch)
    _, finals = run_one_batch(store, blobs, submit, make_dispatcher)
    assert calls.together == [[j.id for j in finals]] and calls.alone == []
    assert all(r.status is JobStatus.DONE for r in finals)
    assert all(result_of(blobs, r)["results"][0]["shots"] == 30 for r in finals)
    assert all(r.usage_seconds is not None and r.usage_seconds > 0 for r in finals)
    # claimed, then finished: two notifications each (sent after the store call)
    wait_until(lambda: all(changes.count(j.id) == 2 for j in finals))


def test_a_job_cancelled_in_a_batch_ends_at_once_and_the_others_together(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = StoreCalls(store, monkeypatch)
    jobs = [submit(shots=30) for _ in range(3)]
    for job in jobs:
        blobs.put(job.payload_key, qpy_bytes([isa(2)]))
    with CountingExecutor(held=True) as executor:
        dispatcher = make_dispatcher(job_executor=executor)
        dispatcher.run_once()
        assert executor.started.wait(WAIT_S)
        store.request_cancel(jobs[0].id)
        dispatcher.run_once()
        assert store.get_job(jobs[0].id).status is JobStatus.CANCELLED
        assert calls.together == [[jobs[0].id]]  # at once, on its own
        executor.release.set()
        finals = wait_final(store, [j.id for j in jobs])
    assert calls.together == [[jobs[0].id], [jobs[1].id, jobs[2].id]] and calls.alone == []
    assert [r.status for r in finals] == [JobStatus.CANCELLED, JobStatus.DONE, JobStatus.DONE]


def test_a_job_ended_elsewhere_meanwhile_keeps_its_end_and_the_others_are_recorded(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
    changes: list[str],
) -> None:
    jobs = [submit(shots=30) for _ in range(3)]
    for job in jobs:
        blobs.put(job.payload_key, qpy_bytes([isa(2)]))
    with CountingExecutor(held=True) as executor:
        make_dispatcher(job_executor=executor).run_once()
        assert executor.started.wait(WAIT_S)
        elsewhere = store.finish_job(jobs[1].id, JobStatus.ERROR, error_code="x")
        executor.release.set()
        finals = wait_final(store, [jobs[0].id, jobs[2].id])
        wait_until(lambda: all(changes.count(j.id) == 2 for j in (jobs[0], jobs[2])))
    assert store.get_job(jobs[1].id) == elsewhere
    assert [r.status for r in finals] == [JobStatus.DONE, JobStatus.DONE]
    assert changes.count(jobs[1].id) == 1  # claimed; its end was not the dispatcher's
