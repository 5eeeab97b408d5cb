"""Store contract, ``finish_jobs``: a micro-batch's outcomes recorded in one transaction, each
job ending as ``finish_job`` would end it.

Every test runs on each ``JobStore`` (memory, SQLite, PostgreSQL), with a ``ManualClock``.
"""

from __future__ import annotations

import pytest

from openqx.core.clock import ManualClock
from openqx.core.errors import InvalidInputError
from openqx.core.status import JobStatus
from openqx.store.port import JobEnd, JobStore
from openqx.store.records import JobRecord
from tests.integration.store.conftest import JobFactory

BACKEND = "fake_manila"


def _running(store: JobStore, job_factory: JobFactory, count: int) -> list[JobRecord]:
    """``count`` jobs claimed by worker ``w`` (RUNNING, leased), oldest first."""
    made = [job_factory(backend=BACKEND) for _ in range(count)]
    for _ in made:
        assert store.claim_next(BACKEND, "w", 60) is not None
    return [store.get_job(j.id) for j in made]


def test_each_job_ends_with_its_own_outcome(
    store: JobStore, job_factory: JobFactory, clock: ManualClock
) -> None:
    done, failed, cancelled, charged = _running(store, job_factory, 4)
    clock.advance(5)
    ended = store.finish_jobs(
        [
            JobEnd(done.id, JobStatus.DONE, result_key="r1", usage_seconds=0.5),
            JobEnd(
                failed.id,
                JobStatus.ERROR,
                result_key="r2",
                error_code="experiments_failed",
                error_message="boom",
                usage_seconds=0.25,
                run_mode="dedicated",
            ),
            JobEnd(cancelled.id, JobStatus.CANCELLED),
            JobEnd(charged.id, JobStatus.DONE, result_key="r4"),
        ]
    )
    assert [j.id for j in ended] == [done.id, failed.id, cancelled.id, charged.id]
    now = clock.now()
    first, second, third, fourth = (store.get_job(j.id) for j in (done, failed, cancelled, charged))
    assert ended == [first, second, third, fourth]  # each as a read gives it now
    for job in (first, second, third, fourth):
        assert job.finished_at == job.updated_at == now
        assert job.time_per_step[job.status.value] == now
        assert job.lease_owner is None and job.lease_expires_at is None
    assert (first.status, first.result_key, first.usage_seconds) == (JobStatus.DONE, "r1", 0.5)
    assert first.error_code is None and first.run_mode == done.run_mode
    assert (second.status, second.error_code, second.error_message) == (
        JobStatus.ERROR,
        "experiments_failed",
        "boom",
    )
    assert second.run_mode == "dedicated" and second.result_key == "r2"
    assert third.status is JobStatus.CANCELLED and third.result_key is None
    assert fourth.started_at is not None  # no usage given: charged its host seconds
    assert fourth.usage_seconds == pytest.approx((now - fourth.started_at).total_seconds())
    expected = 0.5 + 0.25 + third.usage_seconds + fourth.usage_seconds  # type: ignore[operator]
    assert store.window_usage(BACKEND) == {done.instance: pytest.approx(expected)}
    assert store.mean_usage_seconds(BACKEND) == pytest.approx(expected / 4)  # four jobs counted


def test_same_records_as_finishing_one_by_one(
    store: JobStore, job_factory: JobFactory, clock: ManualClock
) -> None:
    alone, together = _running(store, job_factory, 2)
    clock.advance(2)
    one = store.finish_job(alone.id, JobStatus.DONE, result_key="a", usage_seconds=1.5)
    assert store.get_job(alone.id) == one  # finish_job's answer is what a read gives
    store.finish_jobs([JobEnd(together.id, JobStatus.DONE, result_key="a", usage_seconds=1.5)])
    batch = store.get_job(together.id)
    differ = {"id", "payload_key", "created_at", "time_per_step"}
    assert {k: v for k, v in vars_of(batch).items() if k not in differ} == {
        k: v for k, v in vars_of(one).items() if k not in differ
    }


def vars_of(job: JobRecord) -> dict[str, object]:
    return {name: getattr(job, name) for name in job.__dataclass_fields__}


def test_final_and_unknown_jobs_are_skipped_and_the_others_end(
    store: JobStore, job_factory: JobFactory
) -> None:
    first, second = _running(store, job_factory, 2)
    cancelled = store.finish_job(first.id, JobStatus.CANCELLED)
    ended = store.finish_jobs(
        [
            JobEnd(first.id, JobStatus.DONE, result_key="late"),
            JobEnd("0" * 24, JobStatus.DONE),
            JobEnd(second.id, JobStatus.DONE, result_key="r"),
            JobEnd(second.id, JobStatus.ERROR),  # a repeated id ends once, as first given
        ]
    )
    after = store.get_job(second.id)
    assert ended == [after]
    assert store.get_job(first.id) == cancelled
    assert after.status is JobStatus.DONE and after.result_key == "r"


def test_a_non_final_status_records_nothing(store: JobStore, job_factory: JobFactory) -> None:
    first, second = _running(store, job_factory, 2)
    with pytest.raises(InvalidInputError, match="final status"):
        store.finish_jobs([JobEnd(first.id, JobStatus.DONE), JobEnd(second.id, JobStatus.QUEUED)])
    assert store.get_job(first.id) == first
    assert store.get_job(second.id) == second
    assert store.finish_jobs([]) == []
