"""A submission's wake-up names the backends of its jobs (``Dispatcher.wake(queued)``): when the
queues were known to hold nothing claimable before, the woken pass claims from those backends
without reading every queue, and a job's end then reads nothing. Passes on the loop's timer,
and wake-ups that name nothing, read every queue as before."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.execution.port import BATCH_KIND
from openqx.scheduler.dispatcher import Dispatcher
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord

from .conftest import MakeDispatcher, SubmitJob
from .fakes import ControlledExecutor


@pytest.fixture
def queue_reads(store: MemoryJobStore, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """What each ``backends_with_queued_jobs`` call answered, in order."""
    reads: list[list[str]] = []
    read = store.backends_with_queued_jobs

    def counted() -> list[str]:
        reads.append(read())
        return reads[-1]

    monkeypatch.setattr(store, "backends_with_queued_jobs", counted)
    return reads


def looked(make_dispatcher: MakeDispatcher, **options: Any) -> Dispatcher:
    """A dispatcher whose timer's pass has read every queue (and found them idle)."""
    dispatcher = make_dispatcher(**options)
    dispatcher.run_once()
    return dispatcher


def announce(dispatcher: Dispatcher, *jobs: JobRecord) -> None:
    """Wake ``dispatcher`` as the submission of ``jobs`` does: naming their backends."""
    dispatcher.wake(Counter(job.backend for job in jobs))


def test_a_named_job_is_claimed_without_reading_every_queue_and_its_end_reads_nothing(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    queue_reads: list[list[str]],
) -> None:
    dispatcher = looked(make_dispatcher, capacity=1)  # every queue read: nothing queued
    assert queue_reads == [[]]

    job = submit()
    announce(dispatcher, job)
    dispatcher.run_once(woken=True)

    assert job.id in executor.requests
    assert queue_reads == [[]]  # claimed without another read
    executor.finish(job.id)  # the job's end wakes the loop
    dispatcher.run_once(woken=True)
    assert store.get_job(job.id).status is JobStatus.DONE
    assert queue_reads == [[]]

    later = submit(backend="fake_lima")  # and again, now on another backend
    announce(dispatcher, later)
    dispatcher.run_once(woken=True)
    assert later.id in executor.requests
    assert queue_reads == [[]]


def test_named_jobs_beyond_the_free_slots_are_claimed_as_slots_free(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    queue_reads: list[list[str]],
) -> None:
    dispatcher = looked(make_dispatcher, capacity=1, batch_limit=1)
    first, second = submit(), submit()
    announce(dispatcher, first, second)

    dispatcher.run_once(woken=True)
    assert list(executor.requests) == [first.id]
    executor.finish(first.id)
    dispatcher.run_once(woken=True)  # one named job is still queued: it is claimed

    assert list(executor.requests) == [first.id, second.id]
    assert queue_reads == [[]]
    executor.finish(second.id)
    dispatcher.run_once(woken=True)
    assert queue_reads == [[]]
    assert store.get_job(second.id).status is JobStatus.DONE


def test_a_wake_up_without_names_reads_every_queue(
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    queue_reads: list[list[str]],
) -> None:
    dispatcher = looked(make_dispatcher)
    named, unnamed = submit(), submit(backend="fake_lima")
    announce(dispatcher, named)
    dispatcher.wake()  # e.g. a requeue, a cancel, another replica's job

    dispatcher.run_once(woken=True)

    assert queue_reads == [[], ["fake_lima", "fake_manila"]]
    assert set(executor.requests) == {named.id, unnamed.id}


def test_a_job_nobody_named_is_found_by_the_timers_pass(
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    queue_reads: list[list[str]],
) -> None:
    dispatcher = looked(make_dispatcher)
    named = submit()
    unannounced = submit(backend="fake_lima")  # queued by another replica, say
    announce(dispatcher, named)

    dispatcher.run_once(woken=True)
    assert set(executor.requests) == {named.id}
    dispatcher.run_once()  # the timer's pass reads every queue

    assert queue_reads == [[], ["fake_lima"]]
    assert set(executor.requests) == {named.id, unannounced.id}


def test_a_named_job_that_cannot_be_claimed_is_left_to_the_timers_pass(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    queue_reads: list[list[str]],
) -> None:
    dispatcher = looked(make_dispatcher)
    job = submit()
    store.request_cancel(job.id)  # a queued job is cancelled at once: nothing to claim
    announce(dispatcher, job)

    dispatcher.run_once(woken=True)
    dispatcher.run_once(woken=True)  # nothing named is left: no read, no claim

    assert executor.requests == {}
    assert queue_reads == [[]]
    assert store.get_job(job.id).status is JobStatus.CANCELLED


def test_before_the_first_full_read_a_named_wake_up_reads_every_queue(
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    queue_reads: list[list[str]],
) -> None:
    dispatcher = make_dispatcher()
    earlier = submit(backend="fake_lima")  # queued before this dispatcher ever looked
    job = submit()
    announce(dispatcher, job)

    dispatcher.run_once(woken=True)

    assert queue_reads == [["fake_lima", "fake_manila"]]
    assert set(executor.requests) == {earlier.id, job.id}


def test_a_loop_woken_every_time_still_reads_every_queue_each_poll_interval(
    clock: ManualClock,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    queue_reads: list[list[str]],
) -> None:
    dispatcher = looked(make_dispatcher, capacity=3, poll_seconds=0.5)
    unannounced = submit(backend="fake_lima")  # e.g. its device's maintenance just ended
    named = submit()
    announce(dispatcher, named)
    dispatcher.run_once(woken=True)
    assert set(executor.requests) == {named.id}

    clock.advance(0.5)  # woken before the timer every time, the loop reads all the same
    later = submit()
    announce(dispatcher, later)
    dispatcher.run_once(woken=True)

    assert queue_reads == [[], ["fake_lima", "fake_manila"]]
    assert set(executor.requests) == {named.id, later.id, unannounced.id}


class _BatchingControlled(ControlledExecutor):
    """A ``ControlledExecutor`` that takes micro-batches."""

    runs_batches = True


@pytest.fixture
def batch_claims(store: MemoryJobStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The backend of each ``claim_batch`` call, in order."""
    claims: list[str] = []
    claim_batch = store.claim_batch

    def counted(backend: str, *args: Any, **kwargs: Any) -> list[JobRecord]:
        claims.append(backend)
        return claim_batch(backend, *args, **kwargs)

    monkeypatch.setattr(store, "claim_batch", counted)
    return claims


def test_a_single_named_job_is_claimed_alone_and_several_as_a_micro_batch(
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    batch_claims: list[str],
) -> None:
    executor = _BatchingControlled()
    dispatcher = looked(make_dispatcher, job_executor=executor, capacity=1)
    job = submit()
    announce(dispatcher, job)
    dispatcher.run_once(woken=True)  # nothing can join it: no micro-batch is looked for

    assert list(executor.requests) == [job.id]
    assert batch_claims == []
    executor.finish(job.id)
    dispatcher.run_once(woken=True)

    first, second = submit(), submit()
    announce(dispatcher, first, second)
    dispatcher.run_once(woken=True)

    assert batch_claims == [first.backend]
    (batch,) = [r for r in executor.requests.values() if r.kind == BATCH_KIND]
    assert [r.job_id for r in batch.batch] == [first.id, second.id]
