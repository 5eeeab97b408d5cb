"""``ReplicaChanges`` on a real PostgreSQL: what another writer of the database commits to a
job (queued, started, a cancel asked, ended) reaches the listener as it commits; the
listener's own ``Database`` is not heard; a lost connection is made again."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.store.database import Database, sqlite_url
from openqx.store.replica_changes import JobChange, ReplicaChanges
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import new_job

pytestmark = pytest.mark.postgres

WAIT_S = 60.0
"""The most a test waits for an announcement that should come at once (a loaded machine)."""


@pytest.fixture
def store_kind() -> str:
    return "postgresql"


@pytest.fixture
def heard(database_url: str) -> Iterator[tuple[ReplicaChanges, queue.Queue[JobChange]]]:
    """A listener on its own ``Database`` of the test's database, and what it hears."""
    got: queue.Queue[JobChange] = queue.Queue()
    with Database(database_url) as own:
        listener = ReplicaChanges(own)
        listener.start(got.put)
        try:
            assert listener.listening.wait(WAIT_S)
            yield listener, got
        finally:
            listener.close()


def test_another_writers_job_changes_are_heard_in_commit_order(
    heard: tuple[ReplicaChanges, queue.Queue[JobChange]],
    store: SqlJobStore,
) -> None:
    _, got = heard
    owner = store.create_user("ann", "ann-token", instances=["hub/group/project"])
    first = store.create_job(new_job(owner.id))
    second = store.create_job(new_job(owner.id))
    claimed = store.claim_next("fake_manila", "replica-b", 60.0)
    assert claimed is not None and claimed.id == first.id
    store.request_cancel(first.id)
    store.request_cancel(second.id)  # still queued: cancelled at once

    assert got.get(timeout=WAIT_S) == JobChange(first.id, JobStatus.QUEUED, False)
    assert got.get(timeout=WAIT_S) == JobChange(second.id, JobStatus.QUEUED, False)
    assert got.get(timeout=WAIT_S) == JobChange(first.id, JobStatus.RUNNING, False)
    assert got.get(timeout=WAIT_S) == JobChange(first.id, JobStatus.RUNNING, True)
    assert got.get(timeout=WAIT_S) == JobChange(second.id, JobStatus.CANCELLED, True)


def test_a_lease_renewal_is_not_announced(
    heard: tuple[ReplicaChanges, queue.Queue[JobChange]], store: SqlJobStore
) -> None:
    _, got = heard
    owner = store.create_user("bo", "bo-token", instances=["hub/group/project"])
    job = store.create_job(new_job(owner.id))
    assert store.claim_next("fake_manila", "replica-b", 60.0) is not None
    assert store.renew_lease([job.id], "replica-b", 60.0) == [job.id]
    store.create_job(new_job(owner.id, name="marker"))

    assert got.get(timeout=WAIT_S).status is JobStatus.QUEUED
    assert got.get(timeout=WAIT_S).status is JobStatus.RUNNING
    marker = got.get(timeout=WAIT_S)  # the renewal came between: nothing was said of it
    assert marker.job_id != job.id and marker.status is JobStatus.QUEUED


def test_the_listeners_own_database_is_not_heard(
    heard: tuple[ReplicaChanges, queue.Queue[JobChange]], store: SqlJobStore
) -> None:
    listener, got = heard
    owner = store.create_user("cy", "cy-token", instances=["hub/group/project"])
    own_store = SqlJobStore(listener.database, clock=ManualClock())
    own_store.create_job(new_job(owner.id, name="own"))  # the listener's origin: not heard
    other = store.create_job(new_job(owner.id, name="other"))

    assert got.get(timeout=WAIT_S).job_id == other.id  # committed after the own one


def test_a_lost_connection_is_made_again(
    heard: tuple[ReplicaChanges, queue.Queue[JobChange]], store: SqlJobStore
) -> None:
    listener, got = heard
    owner = store.create_user("di", "di-token", instances=["hub/group/project"])
    listening = sa.text(
        "SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN openqx_jobs' "
        "AND state = 'idle' AND datname = current_database()"
    )
    with store.database.engine.connect() as conn:
        (before,) = conn.execute(listening).scalars().all()
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
        conn.rollback()
        # Wait for the listener to be back: a new backend that runs LISTEN (each look in a
        # transaction of its own: pg_stat_activity is a snapshot for the transaction).
        deadline = time.monotonic() + WAIT_S
        while not [pid for pid in conn.execute(listening).scalars() if pid != before]:
            conn.rollback()
            assert time.monotonic() < deadline, "the listener did not reconnect"
            time.sleep(0.05)
    job = store.create_job(new_job(owner.id))

    assert got.get(timeout=WAIT_S) == JobChange(job.id, JobStatus.QUEUED, False)


def test_only_postgresql_announces_changes(tmp_path: Path) -> None:
    with Database(sqlite_url(tmp_path)) as sqlite, pytest.raises(ValueError, match="PostgreSQL"):
        ReplicaChanges(sqlite)


def test_a_failing_callback_does_not_stop_the_listener(
    database_url: str, store: SqlJobStore
) -> None:
    got: queue.Queue[JobChange] = queue.Queue()

    def on_change(change: JobChange) -> None:
        got.put(change)
        if got.qsize() == 1:
            raise RuntimeError("a listener's bug")

    owner = store.create_user("ed", "ed-token", instances=["hub/group/project"])
    with Database(database_url) as own:
        listener = ReplicaChanges(own)
        listener.start(on_change)
        try:
            assert listener.listening.wait(WAIT_S)
            first = store.create_job(new_job(owner.id))
            second = store.create_job(new_job(owner.id))
            assert got.get(timeout=WAIT_S).job_id == first.id
            assert got.get(timeout=WAIT_S).job_id == second.id
        finally:
            listener.close()
