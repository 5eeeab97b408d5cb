"""MemoryJobStore: the fake behaves like the SQL store on the policy-relevant paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openqx.core.errors import AuthenticationError, JobLimitReachedError, JobNotFoundError
from openqx.core.ids import new_job_id
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store.cursor import Cursor, decode_cursor, encode_cursor
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import NewJob


def new(owner: int, **fields: Any) -> NewJob:
    values: dict[str, Any] = {
        "id": new_job_id(), "kind": "circuits", "backend": "b", "owner_id": owner,
        "instance": "h/g/p", "payload_key": "k", "num_circuits": 1, "shots": 1,
    }  # fmt: skip
    values.update(fields)
    return NewJob(**values)


def test_lifecycle() -> None:
    store = MemoryJobStore()
    user = store.create_user("alice", "tok")
    assert store.user_for_token("tok") == user
    with pytest.raises(AuthenticationError):
        store.user_for_token("nope")
    a = store.create_job(new(user.id, name="one", tags=["x"]), max_active=2)
    b = store.create_job(new(user.id, priority=3), max_active=2)
    with pytest.raises(JobLimitReachedError):
        store.create_job(new(user.id), max_active=2)
    assert store.queue_position(b) == 1 and store.queue_position(a) == 2
    now = datetime.now(UTC)
    claimed = store.claim_next("b", "w", 5, now=now)
    assert claimed is not None and claimed.id == b.id
    assert store.requeue_expired(now + timedelta(seconds=10)) == [b.id]
    store.claim_next("b", "w", 5)
    store.claim_next("b", "w", 5)
    done = store.finish_job(a.id, JobStatus.DONE)
    assert done.status is JobStatus.DONE
    assert store.request_cancel(b.id).cancel_requested
    assert store.cancel_requested([a.id, b.id, "0" * 24]) == {b.id}
    assert store.count_active(user.id, "b") == 1
    with pytest.raises(JobNotFoundError):
        store.get_job("0" * 24)


def test_search_pages() -> None:
    store = MemoryJobStore()
    user = store.create_user("alice", "tok")
    made = [store.create_job(new(user.id, name=f"job{i}")).id for i in range(7)]
    seen, cursor = [], None
    while True:
        page, cursor = store.search_jobs(JobQuery(limit=3, cursor=cursor, descending=False))
        seen += [j.id for j in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 7
    page, _ = store.search_jobs(JobQuery(name="job[12]"))
    assert len(page) == 2
    with pytest.raises(NotImplementedError):
        store.search_jobs(JobQuery(db_filter={"name": "x"}))


def test_cursor_roundtrip() -> None:
    cursor = Cursor(datetime(2024, 1, 1, tzinfo=UTC), "ab" * 12, True)
    assert decode_cursor(encode_cursor(cursor)) == cursor
