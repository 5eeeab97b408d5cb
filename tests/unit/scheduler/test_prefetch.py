"""Handing micro-batches ahead to an executor that queues them (``Dispatcher.prefetch``;
never a lone job), the time limit of a batch waiting in that queue, the loop woken as soon as
a slot frees, and a micro-batch whose result blobs cannot be written."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.execution.port import BATCH_KIND
from openqx.store.blobs import MemoryBlobStore, job_result_key
from openqx.store.memory_store import MemoryJobStore
from tests.unit.execution.helpers import qpy_bytes

from .conftest import MakeDispatcher, SubmitJob
from .fakes import WAIT_S, ControlledExecutor
from .test_micro_batching import CountingExecutor, isa, wait_final

LIMITS = {"fake_manila": 10.0}


class QueueingExecutor(ControlledExecutor):
    """A ``ControlledExecutor`` that queues requests beyond its workers, as
    ``ProcessExecutor`` does: ``running`` says which have a worker (the test moves them)."""

    queues_requests = True

    def __init__(self) -> None:
        super().__init__()
        self.running: set[str] = set()

    def is_running(self, job_id: str) -> bool:
        return job_id in self.running


class QueueingBatches(QueueingExecutor):
    """A ``QueueingExecutor`` that also takes micro-batches (the test completes them)."""

    runs_batches = True


class FailingPutMany(MemoryBlobStore):
    """A memory blob store whose ``put_many`` writes the first item, then fails (a disk that
    filled up half way)."""

    def __init__(self) -> None:
        super().__init__()
        self.put_many_calls = 0

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self.put_many_calls += 1
        self.put(*items[0])
        raise OSError("No space left on device")


@pytest.fixture
def blobs() -> FailingPutMany:
    """The dispatchers' blob store (``put`` works; ``put_many`` fails)."""
    return FailingPutMany()


# --- how many units are handed --------------------------------------------------------------
def _batch_ids(executor: QueueingExecutor) -> list[list[str]]:
    """The jobs of each request handed to ``executor``, in order."""
    return [
        [member.job_id for member in request.batch] if request.kind == BATCH_KIND else [key]
        for key, request in executor.requests.items()
    ]


def test_a_queueing_executor_gets_one_batch_ahead_never_a_lone_job(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher
) -> None:
    executor = QueueingBatches()
    jobs = [submit() for _ in range(5)]  # one batch key
    dispatcher = make_dispatcher(job_executor=executor, capacity=1, batch_limit=2)
    dispatcher.run_once()
    ids = [j.id for j in jobs]
    assert _batch_ids(executor) == [ids[0:2], ids[2:4]]  # the capacity, and one batch ahead
    assert dispatcher.slots_in_use() == 2
    assert [store.get_job(j).status for j in ids] == [JobStatus.RUNNING] * 4 + [JobStatus.QUEUED]
    dispatcher.run_once()  # full: nothing more
    assert len(executor.requests) == 2


def test_a_lone_job_waits_queued_while_the_capacity_is_used(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher
) -> None:
    executor = QueueingBatches()
    first, second = submit(shots=10), submit(shots=20)  # two batch keys: two lone jobs
    dispatcher = make_dispatcher(job_executor=executor, capacity=1, batch_limit=2)
    dispatcher.run_once()
    assert list(executor.requests) == [first.id]
    assert store.get_job(second.id).status is JobStatus.QUEUED
    assert store.queue_position(store.get_job(second.id)) == 1


@pytest.mark.parametrize("prefetch", [2, 3])
def test_prefetch_sets_how_many_batches_go_ahead(
    submit: SubmitJob, make_dispatcher: MakeDispatcher, prefetch: int
) -> None:
    executor = QueueingBatches()
    jobs = [submit() for _ in range(12)]
    make_dispatcher(job_executor=executor, capacity=2, prefetch=prefetch, batch_limit=2).run_once()
    handed = _batch_ids(executor)
    assert [len(batch) for batch in handed] == [2] * (2 + prefetch)  # capacity + prefetch
    assert len({job_id for batch in handed for job_id in batch}) == 2 * (2 + prefetch)
    assert {job_id for batch in handed for job_id in batch} <= {j.id for j in jobs}


def test_no_prefetch_hands_only_the_capacity(
    submit: SubmitJob, make_dispatcher: MakeDispatcher
) -> None:
    executor = QueueingExecutor()
    jobs = [submit() for _ in range(3)]
    make_dispatcher(job_executor=executor, capacity=1, prefetch=0).run_once()
    assert list(executor.requests) == [jobs[0].id]


def test_an_executor_that_does_not_queue_gets_only_the_capacity(
    submit: SubmitJob, make_dispatcher: MakeDispatcher, executor: ControlledExecutor
) -> None:
    assert not hasattr(executor, "queues_requests")
    jobs = [submit() for _ in range(3)]
    make_dispatcher(capacity=1, prefetch=1).run_once()
    assert list(executor.requests) == [jobs[0].id]


# --- time limits of a unit handed ahead ----------------------------------------------------
def test_an_executor_that_cannot_tell_lets_the_limit_count_from_the_hand_off(
    store: MemoryJobStore,
    clock: ManualClock,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> None:
    class Unsure(QueueingBatches):
        def is_running(self, job_id: str) -> bool:
            raise RuntimeError("cannot tell")

    executor = Unsure()
    alone = submit(shots=10)
    ahead = [submit(shots=20) for _ in range(2)]
    dispatcher = make_dispatcher(
        job_executor=executor, capacity=1, batch_limit=2, time_limit=LIMITS.get
    )
    dispatcher.run_once()
    assert len(executor.requests) == 2  # the lone job, and the batch handed ahead
    clock.advance(10)
    dispatcher.run_once()
    assert all(store.get_job(j.id).error_code == "time_limit_exceeded" for j in ahead)
    assert store.get_job(alone.id).error_code == "time_limit_exceeded"


def test_a_batch_waiting_in_the_executor_is_asked_about_by_its_id(
    store: MemoryJobStore,
    clock: ManualClock,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> None:
    executor = QueueingBatches()
    alone = submit(shots=10)
    batched = [submit(shots=20) for _ in range(2)]  # another batch key: the next unit
    dispatcher = make_dispatcher(job_executor=executor, capacity=1, time_limit=LIMITS.get)
    dispatcher.run_once()
    assert list(executor.requests)[0] == alone.id
    (batch_id,) = [key for key, r in executor.requests.items() if r.kind == BATCH_KIND]
    assert [r.job_id for r in executor.requests[batch_id].batch] == [j.id for j in batched]
    executor.running.add(alone.id)

    clock.advance(10)
    dispatcher.run_once()
    assert executor.cancel_calls == [alone.id]
    assert all(store.get_job(j.id).status is JobStatus.RUNNING for j in batched)

    executor.running.add(batch_id)
    clock.advance(10)
    dispatcher.run_once()
    assert all(store.get_job(j.id).error_code == "time_limit_exceeded" for j in batched)


# --- the loop is woken when a slot frees --------------------------------------------------
def test_the_next_job_is_claimed_before_the_last_one_is_recorded(
    store: MemoryJobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
    executor: ControlledExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = submit(), submit()
    dispatcher = make_dispatcher(capacity=1, poll_seconds=WAIT_S * 10)  # no polling
    dispatcher.start()
    executor.wait_submitted(first.id)
    claimed_first = threading.Event()
    finish_job = store.finish_job

    def recording(job_id: str, status: JobStatus, **fields: object) -> object:
        if job_id == first.id:  # the slot is free already: the loop claims the next job
            executor.wait_submitted(second.id)
            claimed_first.set()
        return finish_job(job_id, status, **fields)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "finish_job", recording)
    executor.finish(first.id)  # records on this thread
    assert claimed_first.is_set()
    assert store.get_job(first.id).status is JobStatus.DONE
    assert store.get_job(second.id).status is JobStatus.RUNNING


# --- a micro-batch's result blobs ------------------------------------------------------------
def test_results_that_cannot_be_written_end_the_batchs_jobs_in_error(
    store: MemoryJobStore,
    blobs: FailingPutMany,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> None:
    jobs = [submit(shots=30) for _ in range(3)]
    for job in jobs:
        blobs.put(job.payload_key, qpy_bytes([isa(2)]))
    with CountingExecutor() as executor:
        make_dispatcher(job_executor=executor).run_once()
        finals = wait_final(store, [j.id for j in jobs])
    assert len(executor.requests) == 1 and executor.requests[0].kind == BATCH_KIND
    assert blobs.put_many_calls == 1  # the batch's results, written together
    for record in finals:
        assert (record.status, record.error_code) == (JobStatus.ERROR, "recording_failed")
        assert record.error_message is not None
        assert "No space left on device" in record.error_message
        assert record.result_key is None
        assert not blobs.exists(job_result_key(record.id))  # the one written was removed
    assert all(blobs.exists(j.payload_key) for j in jobs)
