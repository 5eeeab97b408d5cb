"""An idle dispatcher starts a submission's job before it is stored
(``Dispatcher.start_early``); the claim after the store adopts that run instead of starting
the job again. A run its claim does not take (the store failed, the claim picked another
job, the job was cancelled first) is stopped and never recorded, and no job starts early for a
while after."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.scheduler.dispatcher import Dispatcher
from openqx.scheduler.early_start import COOLDOWN_SECONDS, REPLICA_QUIET_SECONDS, EarlyStart
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord, NewJob, UserRecord

from .conftest import MakeDispatcher, SubmitJob, idle_dispatcher
from .fakes import WAIT_S, ControlledExecutor


@dataclasses.dataclass
class Scene:
    """The dispatcher fixtures, and a submission's steps as ``submission.store_job`` takes
    them: start early, store, wake."""

    clock: ManualClock
    store: MemoryJobStore
    blobs: MemoryBlobStore
    executor: ControlledExecutor
    owner: UserRecord
    make_dispatcher: MakeDispatcher
    dispatcher: Dispatcher | None = None

    def idle(self, **options: Any) -> Dispatcher:
        """An idle running dispatcher (``idle_dispatcher``)."""
        self.dispatcher = idle_dispatcher(self.make_dispatcher, **options)
        return self.dispatcher

    def job(self, job_id: str, **fields: Any) -> NewJob:
        values: dict[str, Any] = {
            "id": job_id,
            "kind": "circuits",
            "backend": "fake_manila",
            "owner_id": self.owner.id,
            "instance": "hub/group/project",
            "num_circuits": 1,
            "shots": 10,
            "header": {"name": "bell"},
            "options": {"seed_simulator": 7},
            **fields,
        }
        return NewJob(**values)

    def start(self, job: NewJob) -> EarlyStart | None:
        assert self.dispatcher is not None
        return self.dispatcher.start_early(job, payload_of(job))

    def store_and_claim(self, job: NewJob, early: EarlyStart | None) -> JobRecord:
        """Store ``job`` and wake the dispatcher with its early run."""
        assert self.dispatcher is not None
        record = self.store.create_job(job)
        self.blobs.put(record.payload_key, payload_of(job))
        self.dispatcher.wake(
            Counter([job.backend]), {record.payload_key: payload_of(job)}, early=early
        )
        return record

    def status(self, job_id: str) -> JobStatus:
        return self.store.get_job(job_id).status


def payload_of(job: NewJob) -> bytes:
    return f"payload of {job.id}".encode()


@pytest.fixture
def scene(
    clock: ManualClock,
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    owner: UserRecord,
    make_dispatcher: MakeDispatcher,
) -> Scene:
    return Scene(clock, store, blobs, executor, owner, make_dispatcher)


def test_an_idle_dispatcher_starts_the_job_before_it_is_stored_and_its_claim_adopts_it(
    scene: Scene,
) -> None:
    dispatcher = scene.idle()
    job = scene.job("job-early")

    early = scene.start(job)

    assert early is not None
    request = scene.executor.requests["job-early"]  # handed over before any row exists
    assert (request.payload, request.shots, request.header, request.options) == (
        b"payload of job-early",
        10,
        {"name": "bell"},
        {"seed_simulator": 7},
    )
    scene.store_and_claim(job, early)
    assert early.adopted
    assert scene.executor.requests == {"job-early": request}  # not started a second time
    assert scene.status("job-early") is JobStatus.RUNNING
    assert dispatcher.holds("job-early")
    scene.executor.finish("job-early")
    done = scene.store.get_job("job-early")
    assert done.status is JobStatus.DONE
    assert scene.blobs.get(done.result_key or "") is not None
    assert scene.executor.cancel_calls == []


def test_a_run_that_ends_before_its_claim_is_recorded_by_the_claim(scene: Scene) -> None:
    dispatcher = scene.idle()
    job = scene.job("job-quick")
    early = scene.start(job)
    scene.executor.finish("job-quick")  # the worker answered while the job was being stored

    scene.store_and_claim(job, early)

    assert scene.status("job-quick") is JobStatus.DONE
    assert not dispatcher.holds("job-quick")


def test_a_busy_dispatcher_or_a_known_queue_starts_nothing_early(
    scene: Scene, submit: SubmitJob
) -> None:
    dispatcher = scene.idle(capacity=3)
    running = submit()
    dispatcher.wake(Counter([running.backend]))  # claimed and started: in flight
    assert dispatcher.holds(running.id)

    assert scene.start(scene.job("job-busy")) is None

    scene.executor.finish(running.id)
    assert scene.status(running.id) is JobStatus.DONE
    dispatcher.wake()  # a change without names: the queues are no longer known idle
    assert scene.start(scene.job("job-unknown")) is None
    assert set(scene.executor.requests) == {running.id}


def test_a_run_whose_job_was_not_stored_is_stopped_and_early_starts_pause(scene: Scene) -> None:
    dispatcher = scene.idle()
    early = scene.start(scene.job("job-refused"))
    assert early is not None

    dispatcher.drop_early(early)  # its store transaction failed (a job limit, say)

    assert scene.executor.cancel_calls == ["job-refused"]
    assert scene.executor.futures["job-refused"].cancelled()
    assert scene.start(scene.job("job-next")) is None  # paused
    scene.clock.advance(COOLDOWN_SECONDS)
    later = scene.job("job-later")
    again = scene.start(later)
    assert again is not None  # and the pass lock was given back: the claim can run
    scene.store_and_claim(later, again)
    assert again.adopted and scene.status("job-later") is JobStatus.RUNNING


def test_a_claim_that_picks_an_older_job_runs_that_one_and_drops_the_early_run(
    scene: Scene, submit: SubmitJob
) -> None:
    dispatcher = scene.idle(capacity=1)
    older = submit()  # queued by another replica: this dispatcher was not told
    job = scene.job("job-newer")
    early = scene.start(job)
    assert early is not None

    scene.store_and_claim(job, early)

    assert not early.adopted
    assert scene.status(older.id) is JobStatus.RUNNING  # fair share's pick runs
    assert scene.executor.futures["job-newer"].cancelled()
    assert scene.status("job-newer") is JobStatus.QUEUED  # it waits for its turn
    scene.executor.finish(older.id)
    dispatcher.run_once()
    newer = scene.executor.wait_submitted("job-newer")  # submitted anew by its own claim
    assert not newer.cancelled()
    scene.executor.finish("job-newer")
    assert scene.status("job-newer") is JobStatus.DONE


def test_a_job_cancelled_before_its_claim_is_not_run(scene: Scene) -> None:
    dispatcher = scene.idle()
    job = scene.job("job-cancelled")
    early = scene.start(job)
    record = scene.store.create_job(job)
    scene.blobs.put(record.payload_key, payload_of(job))
    scene.store.request_cancel(record.id)  # another request cancels it before the claim

    dispatcher.wake(Counter([job.backend]), early=early)

    assert scene.status(record.id) is JobStatus.CANCELLED
    assert scene.executor.futures[record.id].cancelled()


def test_the_claim_does_not_adopt_a_run_that_differs_from_the_stored_job(scene: Scene) -> None:
    scene.idle()
    early = scene.start(scene.job("job-x", shots=10))
    assert early is not None
    scene.executor.finish("job-x", {"success": True, "note": "the early run"})

    # The stored job differs from the one started (here: its shots).
    scene.store_and_claim(scene.job("job-x", shots=20), early)

    assert not early.adopted
    assert scene.executor.requests["job-x"].shots == 20  # started anew as stored
    scene.executor.finish("job-x")
    assert scene.status("job-x") is JobStatus.DONE


def test_stop_waits_for_a_submission_whose_job_started_early_and_leaves_it_queued(
    scene: Scene,
) -> None:
    dispatcher = scene.idle()
    job = scene.job("job-stopping")
    early = scene.start(job)

    stopping = threading.Thread(target=dispatcher.stop, kwargs={"timeout": WAIT_S})
    stopping.start()
    stopping.join(0.2)
    assert stopping.is_alive()  # the submission still holds its pass: stop waits for it
    scene.store_and_claim(job, early)
    stopping.join(WAIT_S)

    assert not stopping.is_alive()
    # A stopping dispatcher claims nothing: the job waits for the next one, its run stopped.
    assert scene.status(job.id) is JobStatus.QUEUED
    assert scene.executor.futures[job.id].cancelled()


def test_a_dispatcher_made_without_early_starts_never_starts_early(scene: Scene) -> None:
    scene.idle(early_start=False)

    assert scene.start(scene.job("job-off")) is None
    assert scene.executor.requests == {}


def test_jobs_of_a_device_whose_claim_got_nothing_do_not_start_early(scene: Scene) -> None:
    dispatcher = scene.idle()
    scene.store.start_maintenance("fake_manila", message="recooling", created_by="admin")
    held = scene.job("job-held")
    early = scene.start(held)
    assert early is not None  # nothing told the dispatcher of the maintenance yet
    scene.store_and_claim(held, early)
    assert early.dropped and scene.status("job-held") is JobStatus.QUEUED
    scene.clock.advance(COOLDOWN_SECONDS)

    # Another device's job starts early again; the held device's jobs do not ...
    assert scene.start(scene.job("job-held-2")) is None
    other = scene.job("job-other", backend="ibmq_qasm_simulator")
    started = scene.start(other)
    assert started is not None
    scene.store_and_claim(other, started)
    assert started.adopted
    scene.executor.finish("job-other")

    # ... until a claim on it succeeds again.
    scene.store.end_maintenance("fake_manila")
    dispatcher.run_once()
    assert scene.status("job-held") is JobStatus.RUNNING
    scene.executor.finish("job-held")
    again = scene.job("job-manila")
    later = scene.start(again)
    assert later is not None
    scene.store_and_claim(again, later)
    assert later.adopted


def test_no_job_starts_early_for_a_while_after_another_replica_changed_one(scene: Scene) -> None:
    dispatcher = scene.idle()

    dispatcher.heard_from_replica()  # e.g. a job another replica queued or ended

    assert scene.start(scene.job("job-shared")) is None
    scene.clock.advance(REPLICA_QUIET_SECONDS - 1)
    assert scene.start(scene.job("job-still-shared")) is None
    scene.clock.advance(1)
    alone = scene.job("job-alone")
    early = scene.start(alone)
    assert early is not None
    scene.store_and_claim(alone, early)
    assert early.adopted and scene.status("job-alone") is JobStatus.RUNNING
    assert set(scene.executor.requests) == {"job-alone"}
