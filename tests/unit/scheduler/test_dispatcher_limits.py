"""Time limits, retries after a worker died, and recovery under a stable name, pass by pass on
the memory store and a manual clock."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.execution.port import ExecutionError
from openqx.scheduler.dispatcher import WORKER_DIED, Dispatcher
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import NewJob

from .conftest import LEASE_S, MakeDispatcher, SubmitJob
from .fakes import ControlledExecutor, ok_result, watch_log

LIMITS = {"fake_manila": 10.0, "simulator_stabilizer": 100.0}


def _died(job_id: str) -> ExecutionError:
    return ExecutionError(
        f"worker process died (exit code -9) while running job {job_id}", WORKER_DIED
    )


# --- time limits ------------------------------------------------------------------------------


def test_a_job_over_its_time_limit_is_stopped_and_ends_in_error(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    slow, other = submit("fake_manila"), submit("simulator_stabilizer")
    dispatcher = make_dispatcher(time_limit=LIMITS.get)
    dispatcher.run_once()
    clock.advance(9.999)
    dispatcher.run_once()
    assert executor.cancel_calls == []
    clock.advance(0.001)

    dispatcher.run_once()

    assert executor.cancel_calls == [slow.id]  # the executor kills its worker
    failed = store.get_job(slow.id)
    assert (failed.status, failed.error_code) == (JobStatus.ERROR, "time_limit_exceeded")
    assert failed.error_message == "The job ran longer than its time limit of 10 s and was stopped."
    assert store.get_job(other.id).status is JobStatus.RUNNING  # its limit is 100 s
    executor.finish(other.id)
    assert store.get_job(other.id).status is JobStatus.DONE
    assert dispatcher.inflight_count() == 0


def test_a_jobs_limit_runs_from_when_a_ready_worker_begins_it(
    store: MemoryJobStore, clock: ManualClock, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    starting = ControlledExecutor(begins_on_submit=False)  # its worker is still starting up
    job = submit("fake_manila")
    dispatcher = make_dispatcher(job_executor=starting, time_limit=LIMITS.get)
    dispatcher.run_once()
    clock.advance(60)  # the worker's start-up takes longer than the job's limit of 10 s
    dispatcher.run_once()
    assert starting.cancel_calls == []
    assert store.get_job(job.id).status is JobStatus.RUNNING
    starting.begin(job.id)
    clock.advance(9.999)
    dispatcher.run_once()
    assert starting.cancel_calls == []
    clock.advance(0.001)

    dispatcher.run_once()

    assert starting.cancel_calls == [job.id]
    assert store.get_job(job.id).error_code == "time_limit_exceeded"


def test_a_job_begun_anew_by_the_executor_has_its_whole_limit_again(
    store: MemoryJobStore, clock: ManualClock, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    executor = ControlledExecutor(begins_on_submit=False)
    job = submit("fake_manila")
    dispatcher = make_dispatcher(job_executor=executor, time_limit=LIMITS.get)
    dispatcher.run_once()
    executor.begin(job.id)
    clock.advance(8)
    executor.begin(job.id)  # its worker died; the executor runs it on another (Dask does)
    clock.advance(9.999)
    dispatcher.run_once()
    assert executor.cancel_calls == []
    clock.advance(0.001)
    dispatcher.run_once()
    assert executor.cancel_calls == [job.id]


def test_a_job_the_executor_cannot_stop_still_ends_at_its_limit(
    store: MemoryJobStore, clock: ManualClock, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    threads = ControlledExecutor(can_stop_running=False)  # as InlineExecutor
    job = submit()
    dispatcher = make_dispatcher(job_executor=threads, time_limit=LIMITS.get, capacity=1)
    dispatcher.run_once()
    clock.advance(10)
    dispatcher.run_once()
    assert store.get_job(job.id).error_code == "time_limit_exceeded"
    assert dispatcher.inflight_count() == 0  # its slot is free for the next job
    threads.finish(job.id)  # what it reports later is ignored
    assert store.get_job(job.id).status is JobStatus.ERROR


def test_a_cancel_before_the_limit_still_cancels(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    dispatcher = make_dispatcher(time_limit=LIMITS.get)
    dispatcher.run_once()
    clock.advance(5)
    store.request_cancel(job.id)
    dispatcher.run_once()
    assert store.get_job(job.id).status is JobStatus.CANCELLED
    clock.advance(10)
    dispatcher.run_once()
    assert executor.cancel_calls == [job.id]  # once, for the cancel
    assert store.get_job(job.id).error_code is None


def test_no_limit_means_none(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit("unlimited")
    dispatcher = make_dispatcher(time_limit=LIMITS.get)
    dispatcher.run_once()
    clock.advance(LEASE_S * 100)
    dispatcher.run_once()
    executor.finish(job.id, ok_result(job.id))
    assert store.get_job(job.id).status is JobStatus.DONE


# --- retries ----------------------------------------------------------------------------------


def test_a_job_whose_worker_died_is_retried_then_done(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    dispatcher = make_dispatcher(max_attempts=3)
    dispatcher.run_once()
    first = executor.futures[job.id]
    with watch_log() as log:
        executor.fail(job.id, _died(job.id))
        log.wait("retry_job")
    requeued = store.get_job(job.id)
    assert (requeued.status, requeued.attempts, requeued.error_code) == (JobStatus.QUEUED, 1, None)

    dispatcher.run_once()

    assert executor.futures[job.id] is not first  # submitted again (a fresh worker)
    executor.finish(job.id)
    done = store.get_job(job.id)
    assert (done.status, done.attempts) == (JobStatus.DONE, 2)
    assert {"RUNNING", "RUNNING_2", "DONE"} <= set(done.time_per_step)


def test_a_job_whose_worker_keeps_dying_ends_in_error_after_its_last_attempt(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    dispatcher = make_dispatcher(max_attempts=3)
    for _attempt in range(3):
        dispatcher.run_once()
        executor.fail(job.id, _died(job.id))
    failed = store.get_job(job.id)
    assert (failed.status, failed.attempts, failed.error_code) == (JobStatus.ERROR, 3, WORKER_DIED)
    assert failed.error_message is not None
    assert failed.error_message.endswith("the job was tried 3 times and is not retried")
    assert {"RUNNING", "RUNNING_2", "RUNNING_3", "ERROR"} <= set(failed.time_per_step)


def test_other_errors_are_not_retried(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    make_dispatcher().run_once()
    executor.fail(job.id, ExecutionError("simulation failed: x", "simulation_failed"))
    failed = store.get_job(job.id)
    assert (failed.status, failed.attempts) == (JobStatus.ERROR, 1)


def test_a_job_started_too_often_by_dying_servers_is_not_run_again(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    for server in ("dead-1", "dead-2"):  # each claims it and dies: the lease expires
        assert store.claim_next(job.backend, server, LEASE_S) is not None
        clock.advance(LEASE_S + 1)
        assert store.requeue_expired() == [job.id]

    make_dispatcher(max_attempts=2).run_once()

    failed = store.get_job(job.id)
    assert (failed.status, failed.error_code) == (JobStatus.ERROR, "too_many_attempts")
    assert failed.error_message is not None and "started 2 times" in failed.error_message
    assert job.id not in executor.requests


# --- recovery under a stable name -------------------------------------------------------------


@pytest.mark.parametrize("cancelled", [False, True])
def test_start_takes_back_the_jobs_a_dead_run_of_the_same_name_held(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    cancelled: bool,
) -> None:
    mine, theirs = submit(), submit()
    assert store.claim_next(mine.backend, "replica-a", LEASE_S) is not None  # then it died
    assert store.claim_next(theirs.backend, "replica-b", LEASE_S) is not None  # still alive
    if cancelled:
        store.request_cancel(mine.id)

    with watch_log() as log:
        make_dispatcher(worker_id="replica-a").start()
        log.wait("start_dispatcher")

    if cancelled:
        assert store.get_job(mine.id).status is JobStatus.CANCELLED
    else:
        executor.wait_submitted(mine.id)  # requeued at once, and run again
        again = store.get_job(mine.id)
        assert (again.status, again.lease_owner, again.attempts) == (
            JobStatus.RUNNING,
            "replica-a",
            2,
        )
    assert store.get_job(theirs.id).lease_owner == "replica-b"  # another replica's: untouched
    assert theirs.id not in executor.requests


# --- fencing: never twice at once -------------------------------------------------------------


def test_a_job_whose_lease_another_replica_took_is_stopped_unrecorded(
    store: MemoryJobStore, clock: ManualClock, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    executor = ControlledExecutor(can_stop_running=False)  # so that its late result arrives
    job = submit()
    stalled = make_dispatcher(job_executor=executor, worker_id="stalled")
    stalled.run_once()
    clock.advance(LEASE_S + 1)  # its heartbeats did not happen (a pause, a partition)
    assert store.requeue_expired() == [job.id]  # by another replica
    assert store.claim_next(job.backend, "other", LEASE_S) is not None

    stalled.run_once()  # its heartbeat finds the lease gone

    assert executor.cancel_calls == [job.id]
    assert stalled.inflight_count() == 0
    executor.finish(job.id)  # late news is ignored
    taken = store.get_job(job.id)
    assert (taken.status, taken.lease_owner) == (JobStatus.RUNNING, "other")


class _Unreachable(MemoryJobStore):
    """A store whose lease renewals fail while ``down``."""

    down = False

    def renew_lease(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> list[str]:
        if self.down:
            raise ConnectionError("database unreachable")
        return super().renew_lease(job_ids, worker, lease_seconds)


def test_jobs_are_stopped_before_their_leases_can_run_out(
    blobs: MemoryBlobStore, executor: ControlledExecutor, clock: ManualClock
) -> None:
    with _Unreachable(clock=clock) as store:
        owner = store.create_user("dave", "dave-token", instances=["h/g/p"])
        job = store.create_job(
            NewJob(
                id="job-1", kind="circuits", backend="fake_manila", owner_id=owner.id,
                instance="h/g/p", num_circuits=1, shots=1,
            )
        )  # fmt: skip
        blobs.put(job.payload_key, b"x")
        dispatcher = Dispatcher(
            store, blobs, executor, capacity=1, lease_seconds=LEASE_S, clock=clock
        )
        dispatcher.run_once()
        store.down = True
        clock.advance(LEASE_S / 3)
        dispatcher.run_once()  # one renewal missed: keep going
        assert executor.cancel_calls == [] and dispatcher.inflight_count() == 1
        clock.advance(LEASE_S / 3)
        dispatcher.run_once()  # two thirds of a lease without renewal: stop before expiry
        assert executor.cancel_calls == [job.id] and dispatcher.inflight_count() == 0
        dispatcher.stop(timeout=0)
