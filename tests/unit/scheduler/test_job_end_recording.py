"""How the dispatcher records a job's end: its result blob and its end in one store
transaction, and ``on_recorded`` told the job as written at its start and at its end, with
its result's bytes (so that a listener reads neither back)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.execution.port import ExecutionError
from openqx.scheduler.dispatcher import Dispatcher
from openqx.store.blobs import MemoryBlobStore, job_result_key
from openqx.store.inline_blobs import DatabaseBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.port import JobEnd
from openqx.store.records import JobRecord

from .conftest import MakeDispatcher, SubmitJob
from .fakes import ControlledExecutor, ok_result, watch_log

Ends = list[tuple[JobRecord, bytes | None]]


def _started(make_dispatcher: MakeDispatcher, submit: SubmitJob, ends: Ends) -> JobRecord:
    """A job submitted and started by a dispatcher (capacity 1) whose ``on_recorded`` fills
    ``ends``."""
    dispatcher = make_dispatcher(
        capacity=1, on_recorded=lambda record, result: ends.append((record, result))
    )
    job = submit()
    dispatcher.run_once()
    return job


def test_on_recorded_gets_the_job_as_recorded_and_its_result_as_stored(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
    changes: list[str],
) -> None:
    ends: Ends = []
    job = _started(make_dispatcher, submit, ends)
    ((started, nothing),) = ends
    assert started.status is JobStatus.RUNNING and nothing is None
    assert started == store.get_job(job.id)  # the claim as written
    executor.finish(job.id, ok_result(job.id, shots=7))
    (_, (record, result)) = ends
    assert record == store.get_job(job.id) and record.status is JobStatus.DONE
    assert result is not None and result == blobs.get(job_result_key(job.id))
    assert json.loads(result)["results"][0]["shots"] == 7
    assert changes == []  # the start and the end went to on_recorded


def test_a_job_ended_without_a_result_reaches_on_recorded_without_one(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> None:
    ends: Ends = []
    job = _started(make_dispatcher, submit, ends)
    executor.fail(job.id, ExecutionError("bad circuit", "bad_request"))
    (_, (record, result)) = ends
    assert record == store.get_job(job.id) and record.status is JobStatus.ERROR
    assert record.error_code == "bad_request" and result is None


def test_an_end_that_cannot_be_recorded_takes_its_result_with_it(
    store: MemoryJobStore,
    clock: ManualClock,
    executor: ControlledExecutor,
    submit: SubmitJob,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the blobs in the store's database, the result row is written in the transaction
    that ends the job: a failed end leaves no result behind (the job stays RUNNING and
    returns to the queue when its lease expires)."""
    blobs = DatabaseBlobStore(store.database, MemoryBlobStore())
    ends: Ends = []
    dispatcher = Dispatcher(
        store,
        blobs,
        executor,
        capacity=1,
        on_recorded=lambda record, result: ends.append((record, result)),
        clock=clock,
    )
    job = submit()
    blobs.put(job.payload_key, b"payload")
    dispatcher.run_once()

    def failing(ends: Sequence[JobEnd]) -> list[JobRecord]:
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "finish_jobs", failing)
    with watch_log() as log:
        executor.finish(job.id)
        log.wait("finish_job")
    assert store.get_job(job.id).status is JobStatus.RUNNING
    assert not blobs.exists(job_result_key(job.id))
    assert [record.status for record, _ in ends] == [JobStatus.RUNNING]  # the start alone
    dispatcher.stop(timeout=0)
