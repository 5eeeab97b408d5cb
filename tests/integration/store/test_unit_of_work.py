"""Store contract, ``unit_of_work``: the store calls of one thread inside the block, and the
database blob store's, are one transaction; they commit together or not at all.

Every test runs on each ``JobStore`` (memory, SQLite, PostgreSQL), with a ``ManualClock``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from openqx.core.errors import JobNotFoundError, NotFoundError
from openqx.core.status import JobStatus
from openqx.store.blobs import LocalBlobStore
from openqx.store.inline_blobs import DatabaseBlobStore
from openqx.store.records import UserRecord
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import JobFactory, new_job

KEY = "jobs/0123456789abcdef01234567/payload.qpy"


class Abandoned(Exception):
    """Raised inside a unit to abandon it."""


@pytest.fixture
def blobs(store: SqlJobStore, tmp_path: Path) -> DatabaseBlobStore:
    """Blobs in the store's own database (the server's arrangement)."""
    return DatabaseBlobStore(store.database, LocalBlobStore(tmp_path / "blobs", fsync=False))


def test_a_blob_and_a_job_written_in_a_unit_commit_together(
    store: SqlJobStore, blobs: DatabaseBlobStore, user: UserRecord
) -> None:
    with store.unit_of_work():
        blobs.put(KEY, b"payload")
        job = store.create_job(new_job(owner_id=user.id))
    assert blobs.get(KEY) == b"payload"
    assert store.get_job(job.id).status is JobStatus.QUEUED


def test_a_unit_that_raises_leaves_nothing_of_it(
    store: SqlJobStore, blobs: DatabaseBlobStore, user: UserRecord
) -> None:
    made: list[str] = []
    with pytest.raises(Abandoned), store.unit_of_work():
        blobs.put(KEY, b"payload")
        made.append(store.create_job(new_job(owner_id=user.id)).id)
        raise Abandoned
    with pytest.raises(NotFoundError):
        blobs.get(KEY)
    with pytest.raises(JobNotFoundError):
        store.get_job(made[0])


def test_a_unit_inside_a_unit_is_part_of_the_outer_one(
    store: SqlJobStore, blobs: DatabaseBlobStore, job_factory: JobFactory
) -> None:
    job = job_factory()
    assert store.claim_next(job.backend, "w", 60) is not None
    with pytest.raises(Abandoned), store.unit_of_work():
        with store.unit_of_work():
            blobs.put(KEY, b"result")
            store.finish_job(job.id, JobStatus.DONE, result_key=KEY)
        assert store.get_job(job.id).status is JobStatus.DONE  # seen inside the unit
        raise Abandoned
    assert store.get_job(job.id).status is JobStatus.RUNNING
    assert not blobs.exists(KEY)


def test_other_threads_keep_their_own_transactions(
    store: SqlJobStore, blobs: DatabaseBlobStore, user: UserRecord
) -> None:
    """A unit joins the calls of its own thread only: another thread's write is its own
    transaction, kept when the unit is abandoned (it waits for the unit's end to write)."""
    other: list[str] = []

    def write_elsewhere() -> None:
        other.append(store.create_job(new_job(owner_id=user.id)).id)

    thread = threading.Thread(target=write_elsewhere)
    with pytest.raises(Abandoned), store.unit_of_work():
        blobs.put(KEY, b"payload")
        thread.start()
        raise Abandoned
    thread.join(30)
    assert not thread.is_alive()
    assert store.get_job(other[0]).status is JobStatus.QUEUED
    assert not blobs.exists(KEY)
