"""The dispatch loop, pass by pass (``run_once``) on the memory store and a manual clock:
claiming, capacity, recording results and errors, lease renewal, expiry requeue, cancels."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from openqx.core.clock import ManualClock
from openqx.core.results import failed_experiments_message
from openqx.core.status import JobStatus
from openqx.execution.port import ExecutionError
from openqx.scheduler.dispatcher import Dispatcher, DispatcherState
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore

from .conftest import LEASE_S, MakeDispatcher, SubmitJob
from .fakes import WAIT_S, ControlledExecutor, ok_result


def test_a_pass_claims_a_queued_job_under_a_lease_and_hands_it_to_the_executor(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    changes: list[str],
) -> None:
    job = submit(shots=123, memory=True, header={"experiment": "x"}, options={"seed": 1})
    dispatcher = make_dispatcher()

    dispatcher.run_once()

    running = store.get_job(job.id)
    assert running.status is JobStatus.RUNNING
    assert running.lease_owner == dispatcher.worker_id
    assert running.lease_expires_at == clock.now() + timedelta(seconds=LEASE_S)
    request = executor.requests[job.id]
    assert request.payload == f"payload of {job.id}".encode()
    assert (request.backend, request.shots, request.memory) == ("fake_manila", 123, True)
    assert request.header == {"experiment": "x"} and request.options == {"seed": 1}
    assert dispatcher.inflight_count() == 1
    assert changes == [job.id]


def test_a_finished_job_is_recorded_done_with_its_result_blob(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    changes: list[str],
) -> None:
    job = submit()
    dispatcher = make_dispatcher()
    dispatcher.run_once()

    executor.finish(job.id, ok_result(job.id, shots=10))

    done = store.get_job(job.id)
    assert done.status is JobStatus.DONE
    assert done.lease_owner is None
    assert done.result_key is not None
    assert json.loads(blobs.get(done.result_key)) == ok_result(job.id, shots=10)
    assert dispatcher.inflight_count() == 0
    assert changes == [job.id, job.id]


def test_failed_experiments_end_the_job_in_error_with_the_seed_message(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    make_dispatcher().run_once()
    result = ok_result(job.id)
    result["results"].append({"success": False, "status": "ERROR: too many qubits"})

    executor.finish(job.id, result)

    failed = store.get_job(job.id)
    assert failed.status is JobStatus.ERROR
    assert failed.error_code == "experiments_failed"
    assert failed.error_message == failed_experiments_message(result)
    assert failed.error_message == (
        "The following experiments failed:\nExperiment 1: ERROR: too many qubits"
    )
    assert failed.result_key is not None  # the experiments that ran keep their counts


def test_an_execution_error_ends_the_job_in_error_with_its_code(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    make_dispatcher().run_once()

    executor.fail(job.id, ExecutionError("backend 'nope' not found", "backend_not_found"))

    failed = store.get_job(job.id)
    assert (failed.status, failed.error_code) == (JobStatus.ERROR, "backend_not_found")
    assert failed.error_message == "backend 'nope' not found"
    assert failed.result_key is None


def test_a_job_whose_payload_is_missing_ends_in_error_without_reaching_the_executor(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    blobs.delete(job.payload_key)

    make_dispatcher().run_once()

    failed = store.get_job(job.id)
    assert (failed.status, failed.error_code) == (JobStatus.ERROR, "start_failed")
    assert job.id not in executor.requests


def test_capacity_limits_the_jobs_handed_out_and_a_free_slot_is_refilled(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    first, second, third = submit(), submit(), submit()
    dispatcher = make_dispatcher(capacity=2)

    dispatcher.run_once()
    assert sorted(executor.requests) == sorted([first.id, second.id])
    assert store.get_job(third.id).status is JobStatus.QUEUED

    executor.finish(first.id)
    dispatcher.run_once()
    assert third.id in executor.requests
    assert dispatcher.inflight_count() == 2


def test_backends_take_turns_so_one_long_queue_does_not_starve_another(
    executor: ControlledExecutor, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    for _ in range(3):
        submit(backend="fake_manila")
    other = submit(backend="fake_lima")

    make_dispatcher(capacity=2).run_once()

    assert other.id in executor.requests


def test_the_heartbeat_renews_leases_every_third_of_the_lease(
    store: MemoryJobStore, clock: ManualClock, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    job = submit()
    dispatcher = make_dispatcher()
    dispatcher.run_once()
    claimed_until = store.get_job(job.id).lease_expires_at

    clock.advance(LEASE_S / 3 - 1)
    dispatcher.run_once()
    assert store.get_job(job.id).lease_expires_at == claimed_until  # not due yet

    clock.advance(1)
    dispatcher.run_once()
    renewed = store.get_job(job.id)
    assert renewed.lease_expires_at == clock.now() + timedelta(seconds=LEASE_S)
    assert renewed.status is JobStatus.RUNNING


def test_a_job_whose_dispatcher_went_silent_is_requeued_and_claimed_by_another(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    changes: list[str],
) -> None:
    job = submit()
    silent = make_dispatcher(worker_id="silent")
    silent.run_once()  # claims the job, then never runs again (its server died)
    survivor = make_dispatcher(worker_id="survivor", job_executor=ControlledExecutor())

    for _ in range(3):  # heartbeats at 0, 20 and 40 s: the lease (60 s) still holds
        survivor.run_once()
        assert store.get_job(job.id).lease_owner == "silent"
        clock.advance(LEASE_S / 3)

    clock.advance(1)
    survivor.run_once()  # heartbeat at 61 s: requeue the expired job; then claim it
    taken = store.get_job(job.id)
    assert (taken.status, taken.lease_owner) == (JobStatus.RUNNING, "survivor")
    assert changes.count(job.id) == 3  # claimed, requeued, claimed again


def test_cancelling_a_running_job_stops_it_and_records_cancelled(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    dispatcher = make_dispatcher()
    dispatcher.run_once()

    assert store.request_cancel(job.id).status is JobStatus.RUNNING  # asked, not yet stopped
    dispatcher.run_once()

    assert executor.cancel_calls == [job.id]
    cancelled = store.get_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.lease_owner is None
    assert dispatcher.inflight_count() == 0


def test_a_job_that_cannot_be_interrupted_is_cancelled_when_it_ends(
    store: MemoryJobStore, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    threads = ControlledExecutor(can_stop_running=False)  # like InlineExecutor
    job = submit()
    dispatcher = make_dispatcher(job_executor=threads)
    dispatcher.run_once()
    store.request_cancel(job.id)
    dispatcher.run_once()
    dispatcher.run_once()
    assert threads.cancel_calls == [job.id]  # asked once, not on every pass
    assert store.get_job(job.id).status is JobStatus.RUNNING

    threads.finish(job.id)

    cancelled = store.get_job(job.id)
    assert (cancelled.status, cancelled.result_key) == (JobStatus.CANCELLED, None)


def test_a_job_the_executor_drops_unasked_goes_back_to_the_queue(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    job = submit()
    make_dispatcher().run_once()

    executor.close()  # cancels the future; the user asked nothing

    requeued = store.get_job(job.id)
    assert (requeued.status, requeued.lease_owner) == (JobStatus.QUEUED, None)


def test_the_thread_runs_passes_when_woken(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    dispatcher = make_dispatcher(poll_seconds=WAIT_S * 10)  # no polling: only wake() helps
    dispatcher.start()
    assert dispatcher.state is DispatcherState.RUNNING
    job = submit()

    dispatcher.wake()
    executor.wait_submitted(job.id)
    executor.finish(job.id)

    assert store.get_job(job.id).status is JobStatus.DONE


def test_a_dispatcher_starts_once_and_does_not_run_after_stop(
    make_dispatcher: MakeDispatcher,
) -> None:
    dispatcher = make_dispatcher()
    dispatcher.start()
    with pytest.raises(RuntimeError, match="only once"):
        dispatcher.start()
    dispatcher.stop(timeout=0)
    assert dispatcher.state is DispatcherState.STOPPED
    with pytest.raises(RuntimeError, match="stopped"):
        dispatcher.run_once()


def test_on_change_sees_the_recorded_state(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    clock: ManualClock,
    executor: ControlledExecutor,
    submit: SubmitJob,
) -> None:
    seen: list[JobStatus] = []
    done = threading.Event()

    def on_change(job_id: str) -> None:
        seen.append(store.get_job(job_id).status)
        if seen[-1] is JobStatus.DONE:
            done.set()

    dispatcher = Dispatcher(store, blobs, executor, capacity=1, on_change=on_change, clock=clock)
    job = submit()
    dispatcher.run_once()
    executor.finish(job.id)
    assert done.wait(WAIT_S)
    assert seen == [JobStatus.RUNNING, JobStatus.DONE]
    dispatcher.stop(timeout=0)
