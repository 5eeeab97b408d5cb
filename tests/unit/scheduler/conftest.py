"""Fixtures for dispatcher tests: the memory store on a manual clock, a memory blob store, a
controlled executor, a job factory and a dispatcher factory that stops what it made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.execution.port import JobExecutor
from openqx.scheduler.dispatcher import Dispatcher
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord, NewJob, UserRecord

from .fakes import WAIT_S, ControlledExecutor

LEASE_S = 60.0
"""The dispatchers' lease; heartbeats are due every LEASE_S / 3."""

SubmitJob = Callable[..., JobRecord]
MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> Iterator[MemoryJobStore]:
    with MemoryJobStore(clock=clock) as job_store:
        yield job_store


@pytest.fixture
def blobs() -> MemoryBlobStore:
    return MemoryBlobStore()


@pytest.fixture
def executor() -> ControlledExecutor:
    return ControlledExecutor()


@pytest.fixture
def owner(store: MemoryJobStore) -> UserRecord:
    return store.create_user("alice", "alice-token", instances=["hub/group/project"])


@pytest.fixture
def submit(store: MemoryJobStore, blobs: MemoryBlobStore, owner: UserRecord) -> SubmitJob:
    """Queue a circuits job (and its payload blob); keyword arguments override ``NewJob``."""
    counter = iter(range(1, 1_000_000))

    def make(backend: str = "fake_manila", **fields: Any) -> JobRecord:
        values: dict[str, Any] = {
            "id": f"job-{next(counter)}",
            "kind": "circuits",
            "backend": backend,
            "owner_id": owner.id,
            "instance": "hub/group/project",
            "num_circuits": 1,
            "shots": 10,
            **fields,
        }
        record = store.create_job(NewJob(**values))
        blobs.put(record.payload_key, f"payload of {record.id}".encode())
        return record

    return make


@pytest.fixture
def changes() -> list[str]:
    """Job ids passed to the dispatchers' ``on_change``, in order."""
    return []


@pytest.fixture
def make_dispatcher(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    executor: ControlledExecutor,
    clock: ManualClock,
    changes: list[str],
) -> Iterator[MakeDispatcher]:
    """Build dispatchers on the fixtures (capacity 2 unless told); each is stopped at the end
    (at once), before the store closes."""
    made: list[Dispatcher] = []

    def make(
        *, job_executor: JobExecutor | None = None, capacity: int = 2, **options: Any
    ) -> Dispatcher:
        dispatcher = Dispatcher(
            store,
            blobs,
            job_executor or executor,
            capacity=capacity,
            lease_seconds=LEASE_S,
            on_change=changes.append,
            clock=clock,
            **options,
        )
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.stop(timeout=0)


def idle_dispatcher(make_dispatcher: MakeDispatcher, **options: Any) -> Dispatcher:
    """A running dispatcher (``make_dispatcher`` with ``options``) that polls only on
    wake-ups, whose first pass has read every queue and found none queued: it is idle, and
    the next wake-up trusts the backends it names."""
    dispatcher = make_dispatcher(poll_seconds=WAIT_S * 10, **options)
    dispatcher.start()
    dispatcher.run_once()
    return dispatcher
