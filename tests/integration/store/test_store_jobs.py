"""Job lifecycle on both databases: create, limits, claim, leases, finish, cancel, update."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openqx.core.errors import (
    InvalidInputError,
    InvalidStateError,
    JobLimitReachedError,
    JobNotFoundError,
)
from openqx.core.ids import new_job_id
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store.records import JobRecord, NewJob, UserRecord
from openqx.store.sql_store import SqlJobStore

JobFactory = Callable[..., JobRecord]


def test_create_and_get(store: SqlJobStore, job_factory: JobFactory, user: UserRecord) -> None:
    created = job_factory(name="bell", tags=["a", "b", "a"], header={"x": 1}, experiment_id="e1")
    got = store.get_job(created.id)
    assert got == created
    assert got.status is JobStatus.QUEUED
    assert got.owner == "alice" and got.owner_id == user.id
    assert got.tags == ("a", "b")
    assert got.header == {"x": 1}
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert set(got.time_per_step) == {"CREATING", "VALIDATING", "QUEUED"}
    assert all(t.tzinfo is not None for t in got.time_per_step.values())


def test_get_missing_job(store: SqlJobStore) -> None:
    with pytest.raises(JobNotFoundError) as info:
        store.get_job("0" * 24)
    assert info.value.job_id == "0" * 24


def test_duplicate_id_and_unknown_owner(store: SqlJobStore, job_factory: JobFactory) -> None:
    job = job_factory()
    with pytest.raises(InvalidInputError):
        job_factory(id=job.id)
    with pytest.raises(InvalidInputError):
        job_factory(owner_id=999)


def test_job_limit_enforced(store: SqlJobStore, job_factory: JobFactory, user: UserRecord) -> None:
    job_factory(max_active=2)
    job_factory(max_active=2)
    job_factory(max_active=2, backend="other")
    with pytest.raises(JobLimitReachedError):
        job_factory(max_active=2, id="f" * 24)
    with pytest.raises(JobNotFoundError):
        store.get_job("f" * 24)
    assert store.count_active(user.id, "fake_manila") == 2


def test_job_limit_concurrent(store: SqlJobStore, user: UserRecord) -> None:
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            store.create_job(
                NewJob(
                    id=new_job_id(),
                    kind="circuits",
                    backend="b",
                    owner_id=user.id,
                    instance="h/g/p",
                    payload_key="k",
                    num_circuits=1,
                    shots=1,
                ),
                max_active=3,
            )
        except JobLimitReachedError as error:
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_active(user.id, "b") == 3
    assert len(errors) == 5


def test_claim_order(store: SqlJobStore, job_factory: JobFactory) -> None:
    first = job_factory()
    second = job_factory()
    urgent = job_factory(priority=5)
    job_factory(backend="elsewhere")
    claimed = [store.claim_next("fake_manila", "w", 30) for _ in range(4)]
    assert [c.id if c else None for c in claimed] == [urgent.id, first.id, second.id, None]
    job = claimed[0]
    assert job is not None
    assert job.status is JobStatus.RUNNING and job.lease_owner == "w"
    assert job.lease_expires_at is not None and job.started_at is not None
    assert "RUNNING" in job.time_per_step


def test_concurrent_claims_never_share(store: SqlJobStore, job_factory: JobFactory) -> None:
    ids = {job_factory().id for _ in range(20)}
    got: list[list[str]] = [[], []]

    def claimer(slot: int) -> None:
        while (job := store.claim_next("fake_manila", f"w{slot}", 30)) is not None:
            got[slot].append(job.id)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(got[0]) & set(got[1])
    assert set(got[0]) | set(got[1]) == ids
    assert len(got[0]) + len(got[1]) == 20


def test_backends_with_queued(store: SqlJobStore, job_factory: JobFactory) -> None:
    job_factory(backend="b2")
    job_factory(backend="b1")
    assert store.backends_with_queued_jobs() == ["b1", "b2"]


def test_lease_expiry_requeues(store: SqlJobStore, job_factory: JobFactory) -> None:
    job = job_factory()
    now = datetime.now(UTC)
    claimed = store.claim_next("fake_manila", "w", 10, now=now)
    assert claimed is not None
    assert store.requeue_expired(now + timedelta(seconds=5)) == []
    store.renew_lease([job.id], "w", 60)
    assert store.requeue_expired(now + timedelta(seconds=30)) == []
    store.renew_lease([job.id], "intruder", 0)  # not the holder: no effect
    assert store.requeue_expired(now + timedelta(seconds=300)) == [job.id]
    again = store.get_job(job.id)
    assert again.status is JobStatus.QUEUED and again.lease_owner is None
    assert store.claim_next("fake_manila", "w2", 10) is not None


def test_finish(store: SqlJobStore, job_factory: JobFactory) -> None:
    job = job_factory()
    store.claim_next("fake_manila", "w", 30)
    done = store.finish_job(job.id, JobStatus.DONE, result_key="r", run_mode="fairshare")
    assert done.status is JobStatus.DONE and done.result_key == "r"
    assert done.finished_at is not None and done.lease_owner is None
    assert "DONE" in done.time_per_step
    with pytest.raises(InvalidStateError):
        store.finish_job(job.id, JobStatus.ERROR)
    with pytest.raises(InvalidInputError):
        store.finish_job(job_factory().id, JobStatus.RUNNING)
    failed = store.finish_job(
        job_factory().id, JobStatus.ERROR, error_code="1234", error_message="boom"
    )
    assert (failed.error_code, failed.error_message) == ("1234", "boom")


def test_request_cancel(store: SqlJobStore, job_factory: JobFactory) -> None:
    running = job_factory()
    queued = job_factory()
    store.claim_next("fake_manila", "w", 30)
    cancelled = store.request_cancel(queued.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.finished_at is not None
    flagged = store.request_cancel(running.id)
    assert flagged.status is JobStatus.RUNNING and flagged.cancel_requested
    final = store.finish_job(running.id, JobStatus.CANCELLED)
    assert store.request_cancel(running.id) == final
    with pytest.raises(JobNotFoundError):
        store.request_cancel("0" * 24)


def test_cancel_requested_among_ids(store: SqlJobStore, job_factory: JobFactory) -> None:
    """One query tells which of the given jobs were asked to stop."""
    first, second, other = job_factory(), job_factory(), job_factory()
    store.claim_next("fake_manila", "w", 30)
    store.claim_next("fake_manila", "w", 30)
    assert store.cancel_requested([first.id, second.id]) == set()
    store.request_cancel(second.id)
    store.request_cancel(other.id)
    assert store.cancel_requested([first.id, second.id, "0" * 24]) == {second.id}
    assert store.cancel_requested([]) == set()


def test_expired_lease_of_cancel_requested_job_cancels(
    store: SqlJobStore, job_factory: JobFactory
) -> None:
    job = job_factory()
    now = datetime.now(UTC)
    store.claim_next("fake_manila", "w", 1, now=now)
    store.request_cancel(job.id)
    assert store.requeue_expired(now + timedelta(seconds=10)) == []
    assert store.get_job(job.id).status is JobStatus.CANCELLED


def test_update_name_and_tags(store: SqlJobStore, job_factory: JobFactory) -> None:
    job = job_factory(name="old", tags=["x", "y"])
    renamed = store.update_job(job.id, name="new")
    assert renamed.name == "new" and renamed.tags == ("x", "y")
    retagged = store.update_job(job.id, tags=["z"])
    assert retagged.tags == ("z",)
    page, _ = store.search_jobs(JobQuery(tags=["x"]))
    assert page == []
    page, _ = store.search_jobs(JobQuery(tags=["z"]))
    assert [j.id for j in page] == [job.id]
    assert store.update_job(job.id, tags=[]).tags == ()
    with pytest.raises(JobNotFoundError):
        store.update_job("0" * 24, name="x")


def test_queue_position_and_counts(
    store: SqlJobStore, job_factory: JobFactory, user: UserRecord
) -> None:
    a, b = job_factory(), job_factory()
    c = job_factory(priority=1)
    assert [store.queue_position(j) for j in (c, a, b)] == [1, 2, 3]
    assert store.count_queued("fake_manila") == 3
    store.claim_next("fake_manila", "w", 30)
    assert store.queue_position(store.get_job(c.id)) is None
    assert store.queue_position(a) == 1
    assert store.count_queued("fake_manila") == 2
    assert store.count_active(user.id, "fake_manila") == 3
    store.finish_job(c.id, JobStatus.DONE)
    assert store.count_active(user.id, "fake_manila") == 2


def test_mean_run_seconds(store: SqlJobStore, job_factory: JobFactory, database: Any) -> None:
    assert store.mean_run_seconds("fake_manila") is None
    for _ in range(3):
        job = job_factory()
        start = datetime.now(UTC) - timedelta(seconds=1)
        store.claim_next("fake_manila", "w", 30, now=start - timedelta(seconds=4))
        store.finish_job(job.id, JobStatus.DONE)
    mean = store.mean_run_seconds("fake_manila")
    assert mean is not None and 4.5 < mean < 10
    assert store.mean_run_seconds("fake_manila", last=1) is not None
