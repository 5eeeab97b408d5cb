"""An idle dispatcher starts a submission's job before it is stored
(``Dispatcher.start_early``); the claim after the store adopts that run instead of starting
the job again. A run its claim does not take (the store failed, the claim picked another
job, the job was cancelled first) is stopped and never recorded, and no job starts early for a
while after."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.scheduler.dispatcher import Dispatcher
from openqx.scheduler.early_start import COOLDOWN_SECONDS, EarlyStart
from openqx.store.blobs import MemoryBlobStore, job_payload_key
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord, NewJob, UserRecord

from .conftest import MakeDispatcher, SubmitJob
from .fakes import WAIT_S, ControlledExecutor


def idle(make_dispatcher: MakeDispatcher, **options: Any) -> Dispatcher:
    """A running dispatcher that polls only on wake-ups and whose first pass found no queued
    job (so it is idle)."""
    dispatcher = make_dispatcher(poll_seconds=WAIT_S * 10, **options)
    dispatcher.start()
    dispatcher.run_once()
    return dispatcher


def new_job(owner: UserRecord, job_id: str, **fields: Any) -> NewJob:
    values: dict[str, Any] = {
        "id": job_id,
        "kind": "circuits",
        "backend": "fake_manila",
        "owner_id": owner.id,
        "instance": "hub/group/project",
        "num_circuits": 1,
        "shots": 10,
        "header": {"name": "bell"},
        "options": {"seed_simulator": 7},
        **fields,
    }
    return NewJob(**values)


def store_and_claim(
    dispatcher: Dispatcher,
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    job: NewJob,
    early: EarlyStart | None,
) -> JobRecord:
    """Store ``job`` and wake ``dispatcher`` as ``submission.store_job`` does."""
    record = store.create_job(job)
    payload = f"payload of {job.id}".encode()
    blobs.put(record.payload_key, payload)
    dispatcher.wake(Counter([job.backend]), {record.payload_key: payload}, early=early)
    return record


def test_an_idle_dispatcher_starts_the_job_before_it_is_stored_and_its_claim_adopts_it(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher)
    job = new_job(owner, "job-early")

    early = dispatcher.start_early(job, b"payload of job-early")

    assert early is not None
    request = executor.requests["job-early"]  # handed over before any row exists
    assert (request.payload, request.shots, request.header, request.options) == (
        b"payload of job-early",
        10,
        {"name": "bell"},
        {"seed_simulator": 7},
    )
    store_and_claim(dispatcher, store, blobs, job, early)
    assert early.adopted
    assert executor.requests == {"job-early": request}  # not started a second time
    assert store.get_job("job-early").status is JobStatus.RUNNING
    assert dispatcher.holds("job-early")
    executor.finish("job-early")
    done = store.get_job("job-early")
    assert done.status is JobStatus.DONE
    assert blobs.get(done.result_key or "") is not None
    assert executor.cancel_calls == []


def test_a_run_that_ends_before_its_claim_is_recorded_by_the_claim(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher)
    job = new_job(owner, "job-quick")
    early = dispatcher.start_early(job, b"qpy")
    executor.finish("job-quick")  # the worker answered while the job was being stored

    store_and_claim(dispatcher, store, blobs, job, early)

    assert store.get_job("job-quick").status is JobStatus.DONE
    assert not dispatcher.holds("job-quick")


def test_a_busy_dispatcher_or_a_known_queue_starts_nothing_early(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher, capacity=3)
    running = submit()
    dispatcher.wake(Counter([running.backend]))  # claimed and started: in flight
    assert dispatcher.holds(running.id)

    assert dispatcher.start_early(new_job(owner, "job-busy"), b"qpy") is None

    executor.finish(running.id)
    assert store.get_job(running.id).status is JobStatus.DONE
    dispatcher.wake()  # a change without names: the queues are no longer known idle
    assert dispatcher.start_early(new_job(owner, "job-unknown"), b"qpy") is None
    assert set(executor.requests) == {running.id}


def test_a_run_whose_job_was_not_stored_is_stopped_and_early_starts_pause(
    clock: ManualClock,
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher)
    early = dispatcher.start_early(new_job(owner, "job-refused"), b"qpy")
    assert early is not None

    dispatcher.drop_early(early)  # its store transaction failed (a job limit, say)

    assert executor.cancel_calls == ["job-refused"]
    assert executor.futures["job-refused"].cancelled()
    assert dispatcher.start_early(new_job(owner, "job-next"), b"qpy") is None  # paused
    clock.advance(COOLDOWN_SECONDS)
    again = dispatcher.start_early(new_job(owner, "job-later"), b"qpy")
    assert again is not None  # and the pass lock was given back: the claim can run
    store_and_claim(dispatcher, store, blobs, new_job(owner, "job-later"), again)
    assert again.adopted and store.get_job("job-later").status is JobStatus.RUNNING


def test_a_claim_that_picks_an_older_job_runs_that_one_and_drops_the_early_run(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher, capacity=1)
    older = submit()  # queued by another replica: this dispatcher was not told
    job = new_job(owner, "job-newer")
    early = dispatcher.start_early(job, b"qpy")
    assert early is not None

    store_and_claim(dispatcher, store, blobs, job, early)

    assert not early.adopted
    assert store.get_job(older.id).status is JobStatus.RUNNING  # fair share's pick runs
    assert executor.futures["job-newer"].cancelled()
    assert store.get_job("job-newer").status is JobStatus.QUEUED  # it waits for its turn
    executor.finish(older.id)
    dispatcher.run_once()
    newer = executor.wait_submitted("job-newer")  # submitted anew by its own claim
    assert not newer.cancelled()
    executor.finish("job-newer")
    assert store.get_job("job-newer").status is JobStatus.DONE


def test_a_job_cancelled_before_its_claim_is_not_run(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher)
    job = new_job(owner, "job-cancelled")
    early = dispatcher.start_early(job, b"qpy")
    record = store.create_job(job)
    blobs.put(job_payload_key(job.id, job.kind), b"qpy")
    store.request_cancel(record.id)  # another request cancels it before the claim

    dispatcher.wake(Counter([job.backend]), early=early)

    assert store.get_job(record.id).status is JobStatus.CANCELLED
    assert executor.futures[record.id].cancelled()


def test_the_claim_does_not_adopt_a_run_that_differs_from_the_stored_job(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher)
    early = dispatcher.start_early(new_job(owner, "job-x", shots=10), b"qpy")
    assert early is not None
    executor.finish("job-x", {"success": True, "note": "the early run"})

    # The stored job differs from the one started (here: its shots).
    store_and_claim(dispatcher, store, blobs, new_job(owner, "job-x", shots=20), early)

    assert not early.adopted
    assert executor.requests["job-x"].shots == 20  # started anew as stored
    executor.finish("job-x")
    assert store.get_job("job-x").status is JobStatus.DONE


def test_stop_waits_for_a_submission_whose_job_started_early_and_leaves_it_queued(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher)
    job = new_job(owner, "job-stopping")
    early = dispatcher.start_early(job, b"qpy")

    stopping = threading.Thread(target=dispatcher.stop, kwargs={"timeout": WAIT_S})
    stopping.start()
    stopping.join(0.2)
    assert stopping.is_alive()  # the submission still holds its pass: stop waits for it
    store_and_claim(dispatcher, store, blobs, job, early)
    stopping.join(WAIT_S)

    assert not stopping.is_alive()
    # A stopping dispatcher claims nothing: the job waits for the next one, its run stopped.
    assert store.get_job(job.id).status is JobStatus.QUEUED
    assert executor.futures[job.id].cancelled()


def test_a_dispatcher_made_without_early_starts_never_starts_early(
    make_dispatcher: MakeDispatcher, owner: UserRecord, executor: ControlledExecutor
) -> None:
    dispatcher = idle(make_dispatcher, early_start=False)

    assert dispatcher.start_early(new_job(owner, "job-off"), b"qpy") is None
    assert executor.requests == {}


def test_jobs_of_a_device_whose_claim_got_nothing_do_not_start_early(
    clock: ManualClock,
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    owner: UserRecord,
) -> None:
    dispatcher = idle(make_dispatcher)
    store.start_maintenance("fake_manila", message="recooling", created_by="admin")
    held = new_job(owner, "job-held")
    early = dispatcher.start_early(held, b"qpy")
    assert early is not None  # nothing told the dispatcher of the maintenance yet
    store_and_claim(dispatcher, store, blobs, held, early)
    assert early.dropped and store.get_job("job-held").status is JobStatus.QUEUED
    clock.advance(COOLDOWN_SECONDS)

    # Another device's job starts early again; the held device's jobs do not ...
    assert dispatcher.start_early(new_job(owner, "job-held-2"), b"qpy") is None
    other = new_job(owner, "job-other", backend="ibmq_qasm_simulator")
    started = dispatcher.start_early(other, b"qpy")
    assert started is not None
    store_and_claim(dispatcher, store, blobs, other, started)
    assert started.adopted
    executor.finish("job-other")

    # ... until a claim on it succeeds again.
    store.end_maintenance("fake_manila")
    dispatcher.run_once()
    assert store.get_job("job-held").status is JobStatus.RUNNING
    executor.finish("job-held")
    again = new_job(owner, "job-manila")
    later = dispatcher.start_early(again, b"qpy")
    assert later is not None
    store_and_claim(dispatcher, store, blobs, again, later)
    assert later.adopted
