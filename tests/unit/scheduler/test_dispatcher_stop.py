"""``Dispatcher.stop``: a stop of the service never ends a user's job CANCELLED. Jobs that
finish within the timeout are recorded; the rest go back to the queue at the deadline; what
their futures report after that (the executor's close cancels them) is ignored."""

from __future__ import annotations

import threading

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.scheduler.dispatcher import Dispatcher, DispatcherState
from openqx.store.memory_store import MemoryJobStore

from .conftest import MakeDispatcher, SubmitJob
from .fakes import WAIT_S, ControlledExecutor, watch_log


def _stop_in_thread(dispatcher: Dispatcher, timeout: float) -> threading.Thread:
    thread = threading.Thread(target=dispatcher.stop, args=(timeout,), daemon=True)
    thread.start()
    return thread


def test_a_job_that_finishes_within_the_timeout_is_recorded_done(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    dispatcher = make_dispatcher()
    dispatcher.run_once()

    with watch_log() as log:
        stopping = _stop_in_thread(dispatcher, timeout=60)  # the manual clock never gets there
        log.wait("drain_jobs")
        state_while_draining = dispatcher.state
        executor.finish(job.id)
        stopping.join(WAIT_S)

    assert not stopping.is_alive()
    assert (state_while_draining, dispatcher.state) == (
        DispatcherState.STOPPING,
        DispatcherState.STOPPED,
    )
    assert store.get_job(job.id).status is JobStatus.DONE


def test_a_job_still_running_at_the_deadline_goes_back_to_the_queue_not_cancelled(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    changes: list[str],
) -> None:
    job = submit()
    dispatcher = make_dispatcher()
    dispatcher.run_once()

    dispatcher.stop(timeout=0)

    requeued = store.get_job(job.id)
    assert (requeued.status, requeued.lease_owner, requeued.started_at) == (
        JobStatus.QUEUED,
        None,
        None,
    )
    assert changes[-1] == job.id  # streams are told
    executor.close()  # cancels the job's future, as the service does after stop()
    assert executor.futures[job.id].cancelled()
    assert store.get_job(job.id).status is JobStatus.QUEUED  # the callback recorded nothing


def test_a_released_job_is_run_by_the_next_dispatcher(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    first = make_dispatcher(worker_id="before-restart")
    first.run_once()
    first.stop(timeout=0)
    executor.close()

    after = ControlledExecutor()
    second = make_dispatcher(worker_id="after-restart", job_executor=after)
    second.run_once()
    after.finish(job.id)

    assert store.get_job(job.id).status is JobStatus.DONE


def test_stop_waits_its_timeout_once_then_releases(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    dispatcher = make_dispatcher(poll_seconds=WAIT_S * 10)
    dispatcher.start()
    dispatcher.wake()
    executor.wait_submitted(job.id)

    with watch_log() as log:
        stopping = _stop_in_thread(dispatcher, timeout=10)
        log.wait("drain_jobs")  # the loop thread has ended; stop waits for the job
        assert stopping.is_alive()
        clock.advance(10)  # exactly the timeout, once
        stopping.join(WAIT_S)

    assert not stopping.is_alive()
    assert store.get_job(job.id).status is JobStatus.QUEUED


def test_a_job_the_user_cancelled_ends_cancelled_when_stop_releases_it(
    store: MemoryJobStore, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    threads = ControlledExecutor(can_stop_running=False)
    job = submit()
    dispatcher = make_dispatcher(job_executor=threads)
    dispatcher.run_once()
    store.request_cancel(job.id)
    dispatcher.run_once()  # asks the executor, which cannot stop it

    dispatcher.stop(timeout=0)

    assert store.get_job(job.id).status is JobStatus.CANCELLED


def test_jobs_finished_before_the_deadline_are_kept_and_the_rest_released(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    quick, slow = submit(), submit()
    dispatcher = make_dispatcher(capacity=2)
    dispatcher.run_once()
    executor.finish(quick.id)

    dispatcher.stop(timeout=0)
    executor.close()

    assert store.get_job(quick.id).status is JobStatus.DONE
    assert store.get_job(slow.id).status is JobStatus.QUEUED


def test_a_stopping_dispatcher_claims_nothing_and_stop_is_idempotent(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    dispatcher = make_dispatcher()
    dispatcher.start()
    dispatcher.stop(timeout=5)
    dispatcher.stop(timeout=5)
    job = submit()

    assert dispatcher.state is DispatcherState.STOPPED
    assert store.get_job(job.id).status is JobStatus.QUEUED
    assert executor.requests == {}
