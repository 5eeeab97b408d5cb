"""Store contract, attempts: every claim counts one (stamped ``RUNNING``, ``RUNNING_2``...), a
retry after a worker died keeps the count, a stop's release gives the attempt back, and a
dispatcher restarting under its name takes back at once what its previous run held."""

from __future__ import annotations

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.store.memory_store import MemoryJobStore
from openqx.store.port import JobStore
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import JobFactory
from tests.integration.store.test_store_migrations import _downgrade


def test_claims_count_attempts_and_stamp_each_start(
    store: JobStore, job_factory: JobFactory, clock: ManualClock
) -> None:
    job = job_factory()
    assert job.attempts == 0
    first = store.claim_next("fake_manila", "w", 10)
    assert first is not None and first.attempts == 1
    assert first.time_per_step["RUNNING"] == clock.now()
    clock.advance(1)
    assert store.retry_job(job.id, "w") is True
    retried = store.get_job(job.id)
    assert (retried.status, retried.attempts, retried.lease_owner) == (JobStatus.QUEUED, 1, None)
    clock.advance(1)
    second = store.claim_next("fake_manila", "w", 10)
    assert second is not None and second.attempts == 2
    assert second.time_per_step["RUNNING_2"] == clock.now()
    assert second.time_per_step["RUNNING"] == first.time_per_step["RUNNING"]
    done = store.finish_job(job.id, JobStatus.DONE)
    assert done.attempts == 2 and set(done.time_per_step) >= {"RUNNING", "RUNNING_2", "DONE"}


def test_retry_needs_the_lease(store: JobStore, job_factory: JobFactory) -> None:
    job = job_factory()
    assert store.retry_job(job.id, "w") is False  # not running
    store.claim_next("fake_manila", "w", 10)
    assert store.retry_job(job.id, "other") is False
    assert store.get_job(job.id).status is JobStatus.RUNNING
    store.request_cancel(job.id)
    assert store.retry_job(job.id, "w") is False  # a cancel was asked for: CANCELLED instead
    assert store.get_job(job.id).status is JobStatus.CANCELLED


def test_a_stop_gives_the_attempt_back(store: JobStore, job_factory: JobFactory) -> None:
    job = job_factory()
    store.claim_next("fake_manila", "w", 10)
    store.retry_job(job.id, "w")
    store.claim_next("fake_manila", "w", 10)
    assert store.release_jobs([job.id], "w") == [job.id]
    released = store.get_job(job.id)
    assert released.attempts == 1 and "RUNNING_2" not in released.time_per_step
    again = store.claim_next("fake_manila", "w", 10)
    assert again is not None and again.attempts == 2
    store.release_jobs([job.id], "w")
    store.claim_next("fake_manila", "w", 10)
    store.release_jobs([job.id], "w")
    first_only = store.get_job(job.id)
    assert first_only.attempts == 1 and "RUNNING" in first_only.time_per_step


def test_a_restarted_dispatcher_takes_back_its_jobs(
    store: JobStore, job_factory: JobFactory
) -> None:
    mine, cancelled, theirs, queued = (job_factory() for _ in range(4))
    for job_id, worker in ((mine.id, "a"), (cancelled.id, "a"), (theirs.id, "b")):
        claimed = store.claim_next("fake_manila", worker, 60)
        assert claimed is not None and claimed.id == job_id
    store.request_cancel(cancelled.id)

    assert store.release_worker_jobs("a") == [mine.id]

    back = store.get_job(mine.id)
    assert (back.status, back.lease_owner, back.attempts) == (JobStatus.QUEUED, None, 1)
    assert store.get_job(cancelled.id).status is JobStatus.CANCELLED
    assert store.get_job(theirs.id).lease_owner == "b"
    assert store.get_job(queued.id).status is JobStatus.QUEUED
    assert store.release_worker_jobs("a") == []


def test_0004_adds_attempts_to_existing_jobs(store: JobStore, job_factory: JobFactory) -> None:
    """Downgrading to 0003 drops ``attempts``; upgrading gives existing jobs 0."""
    if isinstance(store, MemoryJobStore):
        pytest.skip("the memory store is built from the models, not migrated")
    assert isinstance(store, SqlJobStore)
    job = job_factory()
    store.claim_next("fake_manila", "w", 10)
    _downgrade(store.database, "0003")
    store.database.upgrade()
    assert store.database.current_revision() == "0010"
    assert store.get_job(job.id).attempts == 0


def test_renew_returns_the_leases_still_held(store: JobStore, job_factory: JobFactory) -> None:
    held, finished, taken = (job_factory() for _ in range(3))
    for _ in range(3):
        store.claim_next("fake_manila", "w", 10)
    store.finish_job(finished.id, JobStatus.DONE)
    store.release_jobs([taken.id], "w")
    store.claim_next("fake_manila", "other", 10)
    renewed = store.renew_lease([held.id, finished.id, taken.id], "w", 10)
    assert renewed == [held.id]
    assert store.renew_lease([], "w", 10) == []
