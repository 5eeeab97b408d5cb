"""Store contract, jobs: create, limits, claim order, finish, cancel, update, counts.

Every test runs on each ``JobStore`` (memory, SQLite, PostgreSQL), with a ``ManualClock``.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from openqx.core.clock import ManualClock
from openqx.core.errors import (
    InvalidInputError,
    InvalidStateError,
    JobLimitReachedError,
    JobNotFoundError,
)
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store.port import JobStore
from openqx.store.records import NEW_JOB_FIELDS, UserRecord
from tests.integration.store.conftest import JobFactory, new_job


def test_create_and_get(
    store: JobStore, job_factory: JobFactory, user: UserRecord, clock: ManualClock
) -> None:
    created = job_factory(name="bell", tags=["a", "b", "a"], header={"x": 1}, experiment_id="e1")
    got = store.get_job(created.id)
    assert got == created
    assert got.status is JobStatus.QUEUED
    assert got.owner == "alice" and got.owner_id == user.id
    assert got.tags == ("a", "b")
    assert got.header == {"x": 1}
    assert got.payload_key == f"jobs/{created.id}/payload.qpy"
    assert got.created_at == got.updated_at == clock.now()
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.time_per_step == dict.fromkeys(("CREATING", "VALIDATING", "QUEUED"), clock.now())
    assert not got.cancel_requested
    assert (got.lease_owner, got.lease_expires_at, got.started_at, got.finished_at) == (None,) * 4
    assert (got.result_key, got.error_code, got.error_message, got.run_mode) == (None,) * 4


def test_every_new_job_field_is_stored(store: JobStore, user: UserRecord) -> None:
    """Each ``NewJob`` field comes back in the record under its name."""
    job = new_job(
        user.id,
        kind="runtime",
        backend="fake_lima",
        instance="h/g/p",
        num_circuits=3,
        shots=None,
        memory=True,
        name="n",
        tags=["t"],
        share_level="project",
        experiment_id="e",
        program_id="circuit-runner",
        header={"h": [1, 2]},
        options={"o": {"deep": True}},
        snapshot_id="snap",
        live_data_enabled=False,
        client_info={"qiskit": "2.1"},
        priority=7,
    )
    record = store.create_job(job)
    stored = {name: getattr(record, name) for name in NEW_JOB_FIELDS}
    expected = {name: getattr(job, name) for name in NEW_JOB_FIELDS}
    assert stored == {**expected, "tags": ("t",)}
    assert record.payload_key == f"jobs/{job.id}/params.json"


def test_get_missing_job(store: JobStore) -> None:
    with pytest.raises(JobNotFoundError) as info:
        store.get_job("0" * 24)
    assert info.value.job_id == "0" * 24


def test_duplicate_id_and_unknown_owner(store: JobStore, job_factory: JobFactory) -> None:
    job = job_factory()
    with pytest.raises(InvalidInputError):
        job_factory(id=job.id)
    with pytest.raises(InvalidInputError):
        job_factory(owner_id=999)


def test_job_limit_enforced(store: JobStore, job_factory: JobFactory, user: UserRecord) -> None:
    job_factory(max_active=2)
    job_factory(max_active=2)
    job_factory(max_active=2, backend="other")
    with pytest.raises(JobLimitReachedError) as info:
        job_factory(max_active=2, id="f" * 24)
    assert info.value.details["maximum_jobs"] == 2
    with pytest.raises(JobNotFoundError):
        store.get_job("f" * 24)
    assert store.count_active(user.id, "fake_manila") == 2


def test_job_limit_concurrent(store: JobStore, user: UserRecord) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def submit() -> None:
        start.wait()
        try:
            store.create_job(new_job(user.id, backend="b"), max_active=3)
        except JobLimitReachedError as error:
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_active(user.id, "b") == 3
    assert len(errors) == 5


def test_claim_order(store: JobStore, job_factory: JobFactory, clock: ManualClock) -> None:
    first = job_factory()
    second = job_factory()
    urgent = job_factory(priority=5)
    job_factory(backend="elsewhere")
    clock.advance(10)
    claimed = [store.claim_next("fake_manila", "w", 30) for _ in range(4)]
    assert [c.id if c else None for c in claimed] == [urgent.id, first.id, second.id, None]
    job = claimed[0]
    assert job is not None
    assert job.status is JobStatus.RUNNING and job.lease_owner == "w"
    assert job.started_at == job.updated_at == job.time_per_step["RUNNING"] == clock.now()
    assert job.lease_expires_at == clock.now() + timedelta(seconds=30)


def test_concurrent_claims_never_share(store: JobStore, job_factory: JobFactory) -> None:
    ids = {job_factory().id for _ in range(20)}
    got: list[list[str]] = [[], []]
    start = threading.Barrier(2)

    def claimer(slot: int) -> None:
        start.wait()
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


def test_backends_with_queued(store: JobStore, job_factory: JobFactory) -> None:
    assert store.backends_with_queued_jobs() == []
    job_factory(backend="b2")
    job_factory(backend="b1")
    running = job_factory(backend="b0")
    assert store.claim_next("b0", "w", 30) == store.get_job(running.id)
    assert store.backends_with_queued_jobs() == ["b1", "b2"]


def test_finish(store: JobStore, job_factory: JobFactory, clock: ManualClock) -> None:
    job = job_factory()
    store.claim_next("fake_manila", "w", 30)
    clock.advance(7)
    done = store.finish_job(job.id, JobStatus.DONE, result_key="r", run_mode="fairshare")
    assert done.status is JobStatus.DONE and done.result_key == "r"
    assert done.run_mode == "fairshare"
    assert done.finished_at == done.updated_at == done.time_per_step["DONE"] == clock.now()
    assert done.lease_owner is None and done.lease_expires_at is None
    assert store.get_job(job.id) == done
    with pytest.raises(InvalidStateError):
        store.finish_job(job.id, JobStatus.ERROR)
    with pytest.raises(InvalidInputError):
        store.finish_job(job_factory().id, JobStatus.RUNNING)
    with pytest.raises(JobNotFoundError):
        store.finish_job("0" * 24, JobStatus.DONE)
    failed = store.finish_job(
        job_factory().id, JobStatus.ERROR, error_code="1234", error_message="boom"
    )
    assert (failed.error_code, failed.error_message) == ("1234", "boom")


def test_request_cancel(store: JobStore, job_factory: JobFactory, clock: ManualClock) -> None:
    running = job_factory()
    queued = job_factory()
    store.claim_next("fake_manila", "w", 30)
    clock.advance(3)
    cancelled = store.request_cancel(queued.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.cancel_requested
    assert cancelled.finished_at == cancelled.time_per_step["CANCELLED"] == clock.now()
    flagged = store.request_cancel(running.id)
    assert flagged.status is JobStatus.RUNNING and flagged.cancel_requested
    assert flagged.updated_at == clock.now() and flagged.finished_at is None
    final = store.finish_job(running.id, JobStatus.CANCELLED)
    assert store.request_cancel(running.id) == final
    with pytest.raises(JobNotFoundError):
        store.request_cancel("0" * 24)


def test_cancel_requested_among_ids(store: JobStore, job_factory: JobFactory) -> None:
    """One query tells which of the given jobs were asked to stop."""
    first, second, other = job_factory(), job_factory(), job_factory()
    store.claim_next("fake_manila", "w", 30)
    store.claim_next("fake_manila", "w", 30)
    assert store.cancel_requested([first.id, second.id]) == set()
    store.request_cancel(second.id)
    store.request_cancel(other.id)
    assert store.cancel_requested([first.id, second.id, "0" * 24]) == {second.id}
    assert store.cancel_requested([]) == set()


def test_update_name_and_tags(store: JobStore, job_factory: JobFactory, clock: ManualClock) -> None:
    job = job_factory(name="old", tags=["x", "y"])
    clock.advance(5)
    renamed = store.update_job(job.id, name="new")
    assert renamed.name == "new" and renamed.tags == ("x", "y")
    assert renamed.updated_at == clock.now() and renamed.created_at == job.created_at
    retagged = store.update_job(job.id, tags=["z", "z"])
    assert retagged.tags == ("z",) and retagged.name == "new"
    page, _ = store.search_jobs(JobQuery(tags=["x"]))
    assert page == []
    page, _ = store.search_jobs(JobQuery(tags=["z"]))
    assert [j.id for j in page] == [job.id]
    assert store.update_job(job.id, tags=[]).tags == ()
    with pytest.raises(JobNotFoundError):
        store.update_job("0" * 24, name="x")


def test_queue_position_and_counts(
    store: JobStore, job_factory: JobFactory, user: UserRecord
) -> None:
    a, b = job_factory(), job_factory()
    c = job_factory(priority=1)
    job_factory(backend="elsewhere")
    assert [store.queue_position(j) for j in (c, a, b)] == [1, 2, 3]
    assert store.count_queued("fake_manila") == 3
    store.claim_next("fake_manila", "w", 30)
    assert store.queue_position(store.get_job(c.id)) is None
    assert store.queue_position(a) == 1
    assert store.count_queued("fake_manila") == 2
    assert store.count_active(user.id, "fake_manila") == 3
    store.finish_job(c.id, JobStatus.DONE)
    store.request_cancel(b.id)
    assert store.count_active(user.id, "fake_manila") == 1
    assert store.count_active(user.id + 1, "fake_manila") == 0


def test_mean_run_seconds(store: JobStore, job_factory: JobFactory, clock: ManualClock) -> None:
    assert store.mean_run_seconds("fake_manila") is None
    for seconds in (4, 6, 8):
        job = job_factory()
        store.claim_next("fake_manila", "w", 30)
        clock.advance(seconds)
        store.finish_job(job.id, JobStatus.DONE)
    failed = job_factory()
    store.claim_next("fake_manila", "w", 30)
    clock.advance(100)
    store.finish_job(failed.id, JobStatus.ERROR)  # only DONE jobs count
    assert store.mean_run_seconds("fake_manila") == pytest.approx(6.0)
    assert store.mean_run_seconds("fake_manila", last=1) == pytest.approx(8.0)
    assert store.mean_run_seconds("fake_manila", last=2) == pytest.approx(7.0)
    assert store.mean_run_seconds("elsewhere") is None
