"""The dispatch loop woken as soon as a slot frees (before the ended job is recorded), and a
micro-batch whose result blobs cannot be written."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager

import pytest

from openqx.core.status import JobStatus
from openqx.execution.port import BATCH_KIND
from openqx.store.blobs import MemoryBlobStore, job_result_key
from openqx.store.memory_store import MemoryJobStore

from .conftest import MakeDispatcher, SubmitJob
from .fakes import WAIT_S, ControlledExecutor
from .test_micro_batching import run_one_batch


class FailingPutMany(MemoryBlobStore):
    """A memory blob store whose ``put_many``, once ``full``, writes the first item, then
    fails (a disk that filled up half way)."""

    def __init__(self) -> None:
        super().__init__()
        self.put_many_calls = 0
        self.full = False

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self.put_many_calls += 1
        if not self.full:
            super().put_many(items)
            return
        self.put(*items[0])
        raise OSError("No space left on device")


@pytest.fixture
def blobs() -> FailingPutMany:
    """The dispatchers' blob store (``put`` works; ``put_many`` fails once ``full``)."""
    return FailingPutMany()


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
    unit_of_work = store.unit_of_work

    def recording() -> AbstractContextManager[None]:
        if not claimed_first.is_set():  # the slot is free already: the loop claims the
            executor.wait_submitted(second.id)  # next job before the first is recorded
            claimed_first.set()
        return unit_of_work()

    monkeypatch.setattr(store, "unit_of_work", recording)
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
    blobs.full = True
    executor, finals = run_one_batch(store, blobs, submit, make_dispatcher)
    assert len(executor.requests) == 1 and executor.requests[0].kind == BATCH_KIND
    assert blobs.put_many_calls == 1  # the batch's results, written together
    for record in finals:
        assert (record.status, record.error_code) == (JobStatus.ERROR, "recording_failed")
        assert record.error_message is not None
        assert "No space left on device" in record.error_message
        assert record.result_key is None
        assert not blobs.exists(job_result_key(record.id))  # the one written was removed
    assert all(blobs.exists(j.payload_key) for j in finals)
