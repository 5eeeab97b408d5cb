"""Store contract, ``queue_position`` where the device's queue holds one job or none (no
fair-share order is computed then).

Every test runs on each ``JobStore`` (memory, SQLite, PostgreSQL), with a ``ManualClock``.
"""

from __future__ import annotations

from openqx.core.status import JobStatus
from openqx.store.port import JobStore
from tests.integration.store.conftest import JobFactory


def test_the_only_queued_job_of_its_device_is_first(
    store: JobStore, job_factory: JobFactory
) -> None:
    other_device = job_factory(backend="simulator_statevector")
    job = job_factory(backend="fake_manila")
    assert store.queue_position(job) == 1
    assert store.queue_position(other_device) == 1
    second = job_factory(backend="fake_manila")
    assert [store.queue_position(j) for j in (job, second)] == [1, 2]


def test_a_job_claimed_since_it_was_read_has_no_position(
    store: JobStore, job_factory: JobFactory
) -> None:
    job = job_factory(backend="fake_manila")
    claimed = store.claim_next("fake_manila", "w", 30)
    assert claimed is not None and claimed.id == job.id
    assert job.status is JobStatus.QUEUED  # as read before the claim
    assert store.queue_position(job) is None
    assert store.queue_position(claimed) is None
