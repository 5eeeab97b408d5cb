"""Store contract, leases: renewal, expiry, requeue, and release by a stopping worker.

Time moves only through the ``ManualClock`` the store reads, so every boundary is exact.
"""

from __future__ import annotations

from datetime import timedelta

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.store.port import JobStore
from tests.integration.store.conftest import JobFactory


def test_lease_expiry_requeues(
    store: JobStore, job_factory: JobFactory, clock: ManualClock
) -> None:
    job = job_factory()
    claimed = store.claim_next("fake_manila", "w", 10)
    assert claimed is not None and claimed.lease_expires_at == clock.now() + timedelta(seconds=10)
    clock.advance(5)
    assert store.requeue_expired() == []
    store.renew_lease([job.id], "w", 60)
    renewed = store.get_job(job.id)
    assert renewed.lease_expires_at == clock.now() + timedelta(seconds=60)
    assert renewed.updated_at == clock.now()
    clock.advance(30)
    assert store.requeue_expired() == []
    store.renew_lease([job.id], "intruder", 0)  # not the holder: no effect
    assert store.get_job(job.id).lease_expires_at == renewed.lease_expires_at
    store.renew_lease([], "w", 60)
    clock.advance(30)  # exactly at the expiry moment: still held
    assert store.requeue_expired() == []
    clock.advance(0.001)
    assert store.requeue_expired() == [job.id]
    again = store.get_job(job.id)
    assert again.status is JobStatus.QUEUED
    assert (again.lease_owner, again.lease_expires_at, again.started_at) == (None, None, None)
    assert again.time_per_step["QUEUED"] == again.updated_at == clock.now()
    assert store.requeue_expired() == []
    reclaimed = store.claim_next("fake_manila", "w2", 10)
    assert reclaimed is not None and reclaimed.id == job.id and reclaimed.lease_owner == "w2"


def test_renew_ignores_jobs_that_are_not_running(store: JobStore, job_factory: JobFactory) -> None:
    queued = job_factory()
    store.renew_lease([queued.id, "0" * 24], "w", 60)
    assert store.get_job(queued.id) == queued


def test_expired_lease_of_cancel_requested_job_cancels(
    store: JobStore, job_factory: JobFactory, clock: ManualClock
) -> None:
    job = job_factory()
    store.claim_next("fake_manila", "w", 1)
    store.request_cancel(job.id)
    clock.advance(10)
    assert store.requeue_expired() == []
    cancelled = store.get_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == cancelled.time_per_step["CANCELLED"] == clock.now()
    assert cancelled.lease_owner is None


def test_only_expired_leases_are_requeued(
    store: JobStore, job_factory: JobFactory, clock: ManualClock
) -> None:
    short, long = job_factory(), job_factory()
    store.claim_next("fake_manila", "w", 5)
    store.claim_next("fake_manila", "w", 50)
    clock.advance(6)
    assert store.requeue_expired() == [short.id]
    assert store.get_job(long.id).status is JobStatus.RUNNING


def test_release_jobs(store: JobStore, job_factory: JobFactory, clock: ManualClock) -> None:
    """A stopping worker hands its running jobs back at once; others' jobs stay."""
    mine, other, cancel, queued = job_factory(), job_factory(), job_factory(), job_factory()
    store.claim_next("fake_manila", "w", 30)
    store.claim_next("fake_manila", "w2", 30)
    store.claim_next("fake_manila", "w", 30)
    store.request_cancel(cancel.id)
    clock.advance(2)
    ids = [mine.id, other.id, cancel.id, queued.id, "0" * 24]
    assert store.release_jobs(ids, "w") == [mine.id]
    released = store.get_job(mine.id)
    assert released.status is JobStatus.QUEUED and not released.cancel_requested
    assert (released.lease_owner, released.lease_expires_at, released.started_at) == (None,) * 3
    assert released.time_per_step["QUEUED"] == released.updated_at == clock.now()
    assert store.queue_position(released) == 1
    ended = store.get_job(cancel.id)
    assert ended.status is JobStatus.CANCELLED and ended.finished_at == clock.now()
    assert store.get_job(other.id).lease_owner == "w2"
    assert store.get_job(queued.id) == queued
    assert store.release_jobs(ids, "w") == []
    assert store.release_jobs([], "w") == []
    reclaimed = store.claim_next("fake_manila", "w3", 30)
    assert reclaimed is not None and reclaimed.id == mine.id


def test_release_jobs_returns_every_requeued_id(store: JobStore, job_factory: JobFactory) -> None:
    made = [job_factory().id for _ in range(3)]
    for _ in made:
        store.claim_next("fake_manila", "w", 30)
    assert sorted(store.release_jobs(made, "w")) == sorted(made)
    assert store.count_queued("fake_manila") == 3


def test_release_does_not_touch_final_jobs(store: JobStore, job_factory: JobFactory) -> None:
    job = job_factory()
    store.claim_next("fake_manila", "w", 30)
    done = store.finish_job(job.id, JobStatus.DONE)
    assert store.release_jobs([job.id], "w") == []
    assert store.get_job(job.id) == done
