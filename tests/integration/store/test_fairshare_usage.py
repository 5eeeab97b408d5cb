"""Usage in the fair-share window, kept per device, project and hour, on every store.

``window_usage`` must stay exactly the sum of ``usage_seconds`` of the jobs that finished
within the window, whatever happened to the jobs before (requeued, retried, cancelled) and
wherever the window's start falls within an hour.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.store.records import JobRecord
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import JobFactory, UserFactory

BACKEND = "fake_manila"
A, B = "hub/group/a", "hub/other/b"


@pytest.fixture
def owners(store: SqlJobStore, user_factory: UserFactory) -> dict[str, int]:
    """One member per project: instance → user id."""
    return {inst: user_factory(instances=[inst]).id for inst in (A, B)}


def _expected(finished: list[JobRecord], now: datetime, window: timedelta) -> dict[str, float]:
    """The definition: usage of the jobs that finished at or after ``now - window``."""
    usage: dict[str, float] = {}
    for job in finished:
        assert job.finished_at is not None
        if job.usage_seconds is not None and job.finished_at >= now - window:
            usage[job.instance] = usage.get(job.instance, 0.0) + job.usage_seconds
    return usage


def test_window_usage_is_the_finished_jobs_whatever_their_history(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, owners: dict[str, int]
) -> None:
    store.fairshare_window = window = timedelta(hours=2)
    rnd = random.Random(11)
    never_ran = job_factory(instance=A, owner_id=owners[A])
    finished = [store.request_cancel(never_ran.id)]  # cancelled in the queue: no usage
    assert finished[0].usage_seconds is None
    for i in range(30):
        inst = rnd.choice((A, B))
        clock.advance(rnd.uniform(60, 900))
        job = job_factory(instance=inst, owner_id=owners[inst])
        assert store.claim_next(BACKEND, "w", 600) is not None
        clock.advance(rnd.uniform(1, 300))
        if i % 5 == 1:  # handed back by a stopping worker, then run again
            assert store.release_jobs([job.id], "w") == [job.id]
            assert store.claim_next(BACKEND, "w", 600) is not None
        elif i % 5 == 2:  # its worker died: retried
            assert store.retry_job(job.id, "w")
            assert store.claim_next(BACKEND, "w", 600) is not None
            clock.advance(rnd.uniform(1, 30))
        if i % 5 == 3:  # no usage given: host seconds since the start
            done = store.finish_job(job.id, JobStatus.DONE)
        elif i % 5 == 4:
            store.request_cancel(job.id)
            done = store.finish_job(job.id, JobStatus.CANCELLED, usage_seconds=0.5)
        else:
            status = JobStatus.ERROR if i % 5 == 2 else JobStatus.DONE
            done = store.finish_job(job.id, status, usage_seconds=rnd.uniform(0.1, 50))
        finished.append(done)
        assert store.window_usage(BACKEND) == pytest.approx(
            _expected(finished, clock.now(), window)
        )
    # The window's start walks through the recorded hours until nothing is left in it.
    for _ in range(30):
        clock.advance(7 * 60 + 13)
        expected = _expected(finished, clock.now(), window)
        assert store.window_usage(BACKEND) == pytest.approx(expected)
    assert store.window_usage(BACKEND) == {}
    assert store.mean_usage_seconds(BACKEND) == 1.0  # none left: the default


def test_a_job_finishing_exactly_at_the_window_start_counts(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, owners: dict[str, int]
) -> None:
    store.fairshare_window = window = timedelta(hours=1)
    job_factory(instance=A, owner_id=owners[A])
    job = store.claim_next(BACKEND, "w", 60)
    assert job is not None
    done = store.finish_job(job.id, JobStatus.DONE, usage_seconds=3.0)
    assert done.finished_at is not None
    clock.advance(window.total_seconds())
    assert clock.now() - window == done.finished_at
    assert store.window_usage(BACKEND) == {A: 3.0}
    clock.advance(1e-3)
    assert store.window_usage(BACKEND) == {}


def test_renaming_a_unit_moves_its_usage(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, owners: dict[str, int]
) -> None:
    for inst, seconds in ((A, 4.0), (B, 1.0), (A, 2.0)):
        job_factory(instance=inst, owner_id=owners[inst])
        job = store.claim_next(BACKEND, "w", 60)
        assert job is not None and job.instance == inst
        store.finish_job(job.id, JobStatus.DONE, usage_seconds=seconds)
    assert store.window_usage(BACKEND) == {A: 6.0, B: 1.0}
    store.rename_unit(A, "renamed")
    assert store.window_usage(BACKEND) == {"hub/group/renamed": 6.0, B: 1.0}
    store.rename_unit("hub", "lab")
    assert store.window_usage(BACKEND) == {"lab/group/renamed": 6.0, "lab/other/b": 1.0}
