"""``FreshPayloads`` alone, and the dispatcher taking a submission's payload from it instead of
reading the blob store."""

from __future__ import annotations

import pytest

from openqx.core.status import JobStatus
from openqx.scheduler.fresh_payloads import FreshPayloads
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore

from .conftest import MakeDispatcher, SubmitJob
from .fakes import ControlledExecutor


def test_a_payload_is_taken_once() -> None:
    fresh = FreshPayloads()
    fresh.offer({"a": b"1", "b": b"22"})
    assert fresh.take(["a", "c"]) == {"a": b"1"}
    assert fresh.take(["a", "b"]) == {"b": b"22"}
    assert len(fresh) == 0


def test_the_oldest_payloads_are_dropped_beyond_max_bytes() -> None:
    fresh = FreshPayloads(max_bytes=40)
    fresh.offer({"old": b"x" * 10, "mid": b"y" * 10})
    fresh.offer({"new": b"z" * 10, "newer": b"w" * 10, "last": b"v" * 5})
    assert fresh.take(["old", "mid", "new", "newer", "last"]) == {
        "mid": b"y" * 10,
        "new": b"z" * 10,
        "newer": b"w" * 10,
        "last": b"v" * 5,
    }
    fresh.offer({"big": b"b" * 11})  # over a quarter of max_bytes: not kept
    fresh.offer({"k": b"1" * 10})
    fresh.offer({"k": b"2" * 10})  # the same key again: counted once
    fresh.offer({"a": b"a" * 10, "b": b"b" * 10, "c": b"c" * 10})
    assert fresh.take(["big", "k", "a", "b", "c"]) == {
        "k": b"2" * 10,
        "a": b"a" * 10,
        "b": b"b" * 10,
        "c": b"c" * 10,
    }


def test_max_bytes_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        FreshPayloads(max_bytes=-1)


def test_a_claim_takes_the_payload_its_submission_handed_over_without_reading_it_back(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    handed, stored = submit(), submit()
    dispatcher = make_dispatcher()
    dispatcher.wake({"fake_manila": 1}, payloads={handed.payload_key: b"as submitted"})
    blobs.delete(handed.payload_key)  # not read: a read would fail the job

    dispatcher.run_once(woken=True)
    dispatcher.run_once()

    assert executor.requests[handed.id].payload == b"as submitted"
    assert executor.requests[stored.id].payload == f"payload of {stored.id}".encode()
    assert store.get_job(handed.id).status is JobStatus.RUNNING
    assert len(dispatcher.fresh_payloads) == 0
