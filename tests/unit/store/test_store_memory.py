"""MemoryJobStore: the SQL store on a private in-memory database (its contract is in
tests/integration/store; here: what is particular to it)."""

from __future__ import annotations

import threading

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store.database import DatabaseNotOpenError
from openqx.store.memory_store import MemoryJobStore
from openqx.store.port import JobStore
from openqx.store.records import NewJob


def _job(owner_id: int, job_id: str) -> NewJob:
    return NewJob(
        id=job_id, kind="circuits", backend="b", owner_id=owner_id, instance="h/g/p",
        num_circuits=1, shots=1,
    )  # fmt: skip


def test_is_a_job_store_with_db_filter_and_clock() -> None:
    clock = ManualClock()
    store: JobStore = MemoryJobStore(clock=clock)
    user = store.create_user("alice", "tok")
    job = store.create_job(_job(user.id, "a" * 24))
    assert job.created_at == clock.now()
    page, _ = store.search_jobs(JobQuery(db_filter={"status": {"regexp": "^QUEUED"}}))
    assert [j.id for j in page] == [job.id]


def test_instances_do_not_share_data() -> None:
    with MemoryJobStore() as first, MemoryJobStore() as second:
        first.create_user("alice", "tok")
        assert (first.count_users(), second.count_users()) == (1, 0)


def test_closed_store_refuses_use() -> None:
    store = MemoryJobStore()
    store.close()
    store.close()
    with pytest.raises(DatabaseNotOpenError):
        store.count_users()


def test_threads_take_turns_on_one_connection() -> None:
    """Claims from many threads never interleave inside a transaction."""
    store = MemoryJobStore()
    user = store.create_user("alice", "tok")
    for i in range(40):
        store.create_job(_job(user.id, f"{i:024x}"))
    claimed: list[str] = []
    start = threading.Barrier(4)

    def claim() -> None:
        start.wait()
        while (job := store.claim_next("b", "w", 30)) is not None:
            claimed.append(job.id)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == [f"{i:024x}" for i in range(40)]
    running, _ = store.search_jobs(JobQuery(status=[JobStatus.RUNNING], limit=0))
    assert len(running) == 40
    store.close()
