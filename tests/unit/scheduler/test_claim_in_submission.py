"""A submission's wake-up claims and starts its jobs in the submission's own thread
(``Dispatcher.wake(queued)``) when no pass is running; while one runs, the loop does it. A
claimed job is held (``Dispatcher.holds``) until its end is recorded: the submission's answer
reads no queue position for it."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any

from openqx.core.status import JobStatus
from openqx.execution.port import ExecutionRequest, Started
from openqx.scheduler.dispatcher import Dispatcher
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord

from .conftest import MakeDispatcher, SubmitJob, idle_dispatcher
from .fakes import WAIT_S, ControlledExecutor


class ThreadNotingExecutor(ControlledExecutor):
    """A ``ControlledExecutor`` that notes the thread each job was submitted from, and whose
    ``submit`` of the jobs in ``held`` waits until ``gate`` opens."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: dict[str, str] = {}
        self.held: set[str] = set()
        self.gate = threading.Event()
        self.holding = threading.Event()

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        self.threads[request.job_id] = threading.current_thread().name
        if request.job_id in self.held:
            self.holding.set()
            assert self.gate.wait(WAIT_S)
        return super().submit(request, started)


def announce(dispatcher: Dispatcher, *jobs: JobRecord) -> None:
    """Wake ``dispatcher`` as the submission of ``jobs`` does: naming their backends."""
    dispatcher.wake(Counter(job.backend for job in jobs))


def started(make_dispatcher: MakeDispatcher) -> tuple[ThreadNotingExecutor, Dispatcher]:
    """A running dispatcher that polls only on wake-ups, on a ``ThreadNotingExecutor``, whose
    first pass has read every queue and found none queued (the next wake-up trusts names)."""
    executor = ThreadNotingExecutor()
    return executor, idle_dispatcher(make_dispatcher, job_executor=executor)


def test_a_submission_starts_its_job_in_its_own_thread(
    store: MemoryJobStore, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    executor, dispatcher = started(make_dispatcher)
    job = submit()

    announce(dispatcher, job)

    # Started before wake() returned, by this thread: no wait on the loop.
    assert executor.threads == {job.id: threading.current_thread().name}
    assert store.get_job(job.id).status is JobStatus.RUNNING
    executor.finish(job.id)
    assert store.get_job(job.id).status is JobStatus.DONE


def test_while_a_pass_runs_the_loop_claims_the_submitted_job(
    store: MemoryJobStore, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    executor = ThreadNotingExecutor()
    dispatcher = make_dispatcher(job_executor=executor, capacity=2, poll_seconds=WAIT_S * 10)
    dispatcher.start()
    first = submit()
    executor.held.add(first.id)
    dispatcher.wake()  # no names: the loop's pass claims it, and is held in its submit
    assert executor.holding.wait(WAIT_S)
    second = submit()

    woken = threading.Thread(target=announce, args=(dispatcher, second))
    woken.start()
    woken.join(WAIT_S)

    assert not woken.is_alive()  # it did not wait for the running pass
    assert second.id not in executor.threads
    executor.gate.set()
    executor.wait_submitted(second.id)
    assert executor.threads == {first.id: dispatcher.worker_id, second.id: dispatcher.worker_id}


def test_stop_waits_for_a_submission_that_is_starting_its_job(
    store: MemoryJobStore, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    executor, dispatcher = started(make_dispatcher)
    job = submit()
    executor.held.add(job.id)
    submission = threading.Thread(target=announce, args=(dispatcher, job), name="submission")
    submission.start()
    assert executor.holding.wait(WAIT_S)

    stopping = threading.Thread(target=dispatcher.stop, kwargs={"timeout": WAIT_S})
    stopping.start()
    stopping.join(0.2)
    assert stopping.is_alive()  # the submission's pass still runs: stop waits for it
    executor.gate.set()
    submission.join(WAIT_S)
    executor.wait_submitted(job.id)
    executor.finish(job.id)  # the job runs to its end while stop drains
    stopping.join(WAIT_S)

    assert not stopping.is_alive()
    assert executor.threads == {job.id: "submission"}
    assert store.get_job(job.id).status is JobStatus.DONE


def test_holds_a_job_from_its_claim_until_its_end_is_recorded(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    dispatcher = make_dispatcher(capacity=1)
    running, waiting = submit(), submit()

    dispatcher.run_once()

    assert dispatcher.holds(running.id) and not dispatcher.holds(waiting.id)
    executor.finish(running.id)
    assert store.get_job(running.id).status is JobStatus.DONE
    assert not dispatcher.holds(running.id)
