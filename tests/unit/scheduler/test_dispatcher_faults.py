"""A failure while preparing, running or recording one job ends that job only: the loop, its
threads and the workers survive, other jobs keep running, and a loop thread that dies anyway
is restarted by the supervisor (which logs why)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from openqx.core.status import JobStatus
from openqx.execution.process import ProcessExecutor
from openqx.scheduler.dispatcher import Dispatcher
from openqx.store.blobs import MemoryBlobStore, job_result_key
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import NewJob
from tests.unit.execution.helpers import ghz, qpy_bytes

from .conftest import LEASE_S, MakeDispatcher, SubmitJob
from .fakes import WAIT_S, ControlledExecutor, ok_result, watch_log


def _nested(depth: int) -> dict[str, Any]:
    header: dict[str, Any] = {}
    level = header
    for _ in range(depth - 1):
        level["a"] = {}
        level = level["a"]
    return header


@pytest.fixture
def workers() -> Iterator[ProcessExecutor]:
    with ProcessExecutor(1) as executor:
        yield executor


def _circuit_job(submit: SubmitJob, blobs: MemoryBlobStore, **fields: Any) -> str:
    record = submit("simulator_statevector", **fields)
    blobs.put(record.payload_key, qpy_bytes([ghz(2)]))
    return record.id


@pytest.mark.parametrize("after_restart", [False, True])
def test_a_header_too_deep_to_pickle_fails_its_job_only(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    workers: ProcessExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    after_restart: bool,
) -> None:
    deep = _circuit_job(submit, blobs, header=_nested(500))
    others = [_circuit_job(submit, blobs) for _ in range(2)]
    if after_restart:  # a run of this dispatcher claimed it, then was SIGKILLed
        assert store.claim_next("simulator_statevector", "replica-a", LEASE_S) is not None
    dispatcher = make_dispatcher(job_executor=workers, worker_id="replica-a", capacity=1)
    with watch_log() as log:
        dispatcher.start()
        for job_id in [deep, *others]:
            log.wait_job("finish_job", job_id)

    failed = store.get_job(deep)
    assert (failed.status, failed.error_code) == (JobStatus.ERROR, "start_failed")
    assert failed.error_message is not None and "RecursionError" in failed.error_message
    assert [store.get_job(j).status for j in others] == [JobStatus.DONE, JobStatus.DONE]
    assert dispatcher.restarts == 0 and workers.restarts == 0


class _FailingBlobs(MemoryBlobStore):
    """Refuses to store the result of one job."""

    def __init__(self, refused_key: str) -> None:
        super().__init__()
        self.refused_key = refused_key

    def put(self, key: str, data: bytes) -> None:
        if key == self.refused_key:
            raise OSError("disk full")
        super().put(key, data)


def test_a_result_that_cannot_be_stored_fails_its_job_only(
    store: MemoryJobStore, executor: ControlledExecutor, make_dispatcher: MakeDispatcher
) -> None:
    owner = store.create_user("bob", "bob-token", instances=["h/g/p"])

    jobs = [
        store.create_job(
            NewJob(
                id=f"job-{i}",
                kind="circuits",
                backend="fake_manila",
                owner_id=owner.id,
                instance="h/g/p",
                num_circuits=1,
                shots=1,
            )
        ).id
        for i in range(2)
    ]
    blobs = _FailingBlobs(job_result_key(jobs[0]))
    for job_id in jobs:
        blobs.put(store.get_job(job_id).payload_key, b"x")

    dispatcher = Dispatcher(store, blobs, executor, capacity=2)
    dispatcher.run_once()
    for job_id in jobs:
        executor.finish(job_id)
    failed = store.get_job(jobs[0])
    assert (failed.status, failed.error_code) == (JobStatus.ERROR, "recording_failed")
    assert failed.error_message == "The job's result could not be recorded: OSError: disk full"
    assert store.get_job(jobs[1]).status is JobStatus.DONE
    dispatcher.stop(timeout=0)


def test_a_result_that_is_not_json_fails_its_job_only(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    bad, good = submit(), submit()
    make_dispatcher().run_once()
    executor.finish(bad.id, {**ok_result(bad.id), "odd": {1, 2}})
    executor.finish(good.id)
    failed = store.get_job(bad.id)
    assert (failed.status, failed.error_code) == (JobStatus.ERROR, "result_unencodable")
    assert failed.error_message is not None and "TypeError" in failed.error_message
    assert store.get_job(good.id).status is JobStatus.DONE


def test_a_failing_change_listener_does_not_stop_jobs(
    store: MemoryJobStore, blobs: MemoryBlobStore, executor: ControlledExecutor, submit: SubmitJob
) -> None:
    def broken(job_id: str) -> None:
        raise RuntimeError("listener bug")

    job = submit()
    dispatcher = Dispatcher(store, blobs, executor, capacity=1, on_change=broken)
    dispatcher.run_once()
    executor.finish(job.id)
    assert store.get_job(job.id).status is JobStatus.DONE
    dispatcher.stop(timeout=0)


class _StoreDyingOnce(MemoryJobStore):
    """A store whose first look for queued jobs ends the calling thread (SystemExit)."""

    died = False

    def backends_with_queued_jobs(self) -> list[str]:
        if not self.died:
            self.died = True
            raise SystemExit("injected: the loop thread ends")
        return super().backends_with_queued_jobs()


def test_the_supervisor_restarts_a_dead_loop_thread_and_jobs_run(
    blobs: MemoryBlobStore, executor: ControlledExecutor, caplog: pytest.LogCaptureFixture
) -> None:

    with _StoreDyingOnce() as store:
        owner = store.create_user("carol", "carol-token", instances=["h/g/p"])
        job = store.create_job(
            NewJob(
                id="job-1",
                kind="circuits",
                backend="fake_manila",
                owner_id=owner.id,
                instance="h/g/p",
                num_circuits=1,
                shots=1,
            )
        )
        blobs.put(job.payload_key, b"x")
        dispatcher = Dispatcher(store, blobs, executor, capacity=1, poll_seconds=0.05)
        with caplog.at_level(logging.ERROR, logger="openqx.scheduler.dispatcher"):
            dispatcher.start()
            executor.wait_submitted(job.id)
        executor.finish(job.id)
        dispatcher.stop(timeout=WAIT_S)
        assert store.get_job(job.id).status is JobStatus.DONE
        assert dispatcher.restarts == 1
        assert "restarting it (SystemExit: injected: the loop thread ends)" in caplog.text
