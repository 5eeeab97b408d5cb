"""Fair share in the store, on every implementation (memory, SQLite, PostgreSQL).

A device (``fake_manila``) is saturated by simulated dispatch: claim one job, move the
``ManualClock`` by the job's device time, finish it with that usage, repeat. The policy must
give two projects with shares 3:1 device time within 10 % of 3:1, start a late project's
first job next, and ``queue_position`` must be the order claims then follow.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from openqx.core.clock import ManualClock
from openqx.core.errors import InvalidInputError, NotFoundError
from openqx.core.status import JobStatus
from openqx.store.records import JobRecord
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import JobFactory, UserFactory

BACKEND = "fake_manila"
A, B, C = "hub/group/a", "hub/group/b", "hub/group/c"


@pytest.fixture
def projects(store: SqlJobStore, user_factory: UserFactory) -> dict[str, int]:
    """Three projects of one group (shares 3, 1, 1), one member each: instance → user id."""
    owners = {inst: user_factory(instances=[inst]).id for inst in (A, B, C)}
    store.set_unit_share(A, 3)
    return owners


def _run(store: SqlJobStore, clock: ManualClock, seconds: dict[str, float]) -> JobRecord | None:
    """Claim the next job, run it for its project's job length, finish it; return it."""
    job = store.claim_next(BACKEND, "w", 60)
    if job is None:
        return None
    clock.advance(seconds[job.instance])
    store.finish_job(job.id, JobStatus.DONE, usage_seconds=seconds[job.instance])
    return job


def test_shares_3_to_1_give_device_time_3_to_1(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, projects: dict[str, int]
) -> None:
    """Saturated by A and B (jobs of different lengths), the device time splits 3:1 ± 10 %."""
    seconds = {A: 2.0, B: 3.0}
    for _ in range(60):
        for inst in (A, B):
            job_factory(instance=inst, owner_id=projects[inst])
    used: dict[str, float] = {A: 0.0, B: 0.0}
    for _ in range(60):
        job = _run(store, clock, seconds)
        assert job is not None
        used[job.instance] += seconds[job.instance]
    ratio = used[A] / used[B]
    assert 3 * 0.9 <= ratio <= 3 * 1.1, used


def test_late_project_starts_next_not_behind_the_backlog(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, projects: dict[str, int]
) -> None:
    seconds = {A: 1.0, B: 1.0, C: 1.0}
    for _ in range(20):
        job_factory(instance=A, owner_id=projects[A])
        job_factory(instance=B, owner_id=projects[B])
    for _ in range(6):
        _run(store, clock, seconds)
    running = store.claim_next(BACKEND, "w", 60)  # a job running when C arrives
    assert running is not None
    late = job_factory(instance=C, owner_id=projects[C])
    assert store.queue_position(store.get_job(late.id)) == 1
    store.finish_job(running.id, JobStatus.DONE, usage_seconds=1.0)
    nxt = store.claim_next(BACKEND, "w", 60)
    assert nxt is not None and nxt.id == late.id


def test_queue_position_is_the_order_claims_follow(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, projects: dict[str, int]
) -> None:
    """With equal job lengths the predicted order is exactly the claim order."""
    seconds = {A: 1.0, B: 1.0, C: 1.0}
    _ = [
        job_factory(instance=inst, owner_id=projects[inst]) for _ in range(5) for inst in (A, B, C)
    ]
    _run(store, clock, seconds)  # one finished job gives the device its mean
    predicted = store.fair_queue(BACKEND)
    positions = {job_id: store.queue_position(store.get_job(job_id)) for job_id in predicted}
    assert positions == {job_id: i + 1 for i, job_id in enumerate(predicted)}
    claimed = []
    while (job := _run(store, clock, seconds)) is not None:
        claimed.append(job.id)
    assert claimed == predicted


def test_usage_recorded_at_the_end(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory
) -> None:
    """Given usage is kept; without it a started job is charged its host seconds."""
    first, second = job_factory(), job_factory()
    claimed = store.claim_next(BACKEND, "w", 60)
    assert claimed is not None and claimed.id == first.id and claimed.run_mode == "fairshare"
    assert store.finish_job(first.id, JobStatus.DONE, usage_seconds=0.25).usage_seconds == 0.25
    store.claim_next(BACKEND, "w", 60)
    clock.advance(4)
    assert store.finish_job(second.id, JobStatus.DONE).usage_seconds == pytest.approx(4.0)
    queued = job_factory()
    assert store.request_cancel(queued.id).usage_seconds is None


def test_usage_outside_the_window_is_forgotten(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, projects: dict[str, int]
) -> None:
    store.set_unit_share(A, 1)
    job_factory(instance=A, owner_id=projects[A])
    _run(store, clock, {A: 100.0})
    job_factory(instance=B, owner_id=projects[B])
    job_factory(instance=A, owner_id=projects[A])
    head = store.fair_queue(BACKEND)[0]
    assert store.get_job(head).instance == B  # A used 100 s within the window
    clock.advance(store.fairshare_window.total_seconds() + 1)
    head = store.fair_queue(BACKEND)[0]
    assert store.get_job(head).instance == B  # B's job is older once usage is forgotten


def test_priorities_are_real_numbers(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, projects: dict[str, int]
) -> None:
    for inst in (A, B):
        job_factory(instance=inst, owner_id=projects[inst])
    fresh = store.fair_share_priorities(store.get_job(store.fair_queue(BACKEND)[0]))
    assert (fresh.hub, fresh.group, fresh.project) == (1.0, 1.0, 1.0)
    _run(store, clock, {A: 1.0, B: 1.0})
    _run(store, clock, {A: 1.0, B: 1.0})
    jobs = [job_factory(instance=inst, owner_id=projects[inst]) for inst in (A, B)]
    a, b = (store.fair_share_priorities(j) for j in jobs)
    # Each used half the device; A's share is 3/4 (2 ** -(1/2 / 3/4)), B's 1/4 (2 ** -2).
    assert a.project == pytest.approx(2 ** (-(0.5 / 0.75)))
    assert b.project == pytest.approx(0.25)
    assert a.hub == b.hub == pytest.approx(0.5)


# --- reservations and maintenance ------------------------------------------------------------
def test_reservation_runs_only_its_instance(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, projects: dict[str, int]
) -> None:
    other = job_factory(instance=A, owner_id=projects[A])
    mine = job_factory(instance=B, owner_id=projects[B])
    start = clock.now() + timedelta(seconds=10)
    store.create_reservation(BACKEND, B, start, start + timedelta(hours=1), created_by="root")
    running = store.claim_next(BACKEND, "w", 60)  # before the window: fair share
    assert running is not None and running.id == other.id and running.run_mode == "fairshare"
    later = job_factory(instance=A, owner_id=projects[A])
    clock.advance(20)  # inside the window; the running job goes on
    assert store.get_job(other.id).status is JobStatus.RUNNING
    store.finish_job(other.id, JobStatus.DONE)
    claimed = store.claim_next(BACKEND, "w", 60)
    assert claimed is not None and claimed.id == mine.id and claimed.run_mode == "dedicated"
    store.finish_job(mine.id, JobStatus.DONE)
    assert store.claim_next(BACKEND, "w", 60) is None  # others wait
    assert store.queue_position(store.get_job(later.id)) == 1
    clock.advance(3600)
    resumed = store.claim_next(BACKEND, "w", 60)
    assert resumed is not None and resumed.id == later.id and resumed.run_mode == "fairshare"


def test_reservation_bad_windows(
    store: SqlJobStore, clock: ManualClock, projects: dict[str, int]
) -> None:
    now = clock.now()
    hour = timedelta(hours=1)
    with pytest.raises(InvalidInputError, match="end after it starts"):
        store.create_reservation(BACKEND, A, now + hour, now, created_by="root")
    with pytest.raises(InvalidInputError, match="ends in the past"):
        store.create_reservation(BACKEND, A, now - 2 * hour, now - hour, created_by="root")
    with pytest.raises(InvalidInputError, match="starts in the past"):
        store.create_reservation(BACKEND, A, now - hour, now + hour, created_by="root")
    with pytest.raises(NotFoundError, match="no project"):
        store.create_reservation(BACKEND, "hub/group/nope", now, now + hour, created_by="root")
    kept = store.create_reservation(BACKEND, A, now + hour, now + 2 * hour, created_by="root")
    with pytest.raises(InvalidInputError, match="may not overlap"):
        store.create_reservation(BACKEND, B, now + hour / 2, now + hour * 1.5, created_by="root")
    store.create_reservation(BACKEND, B, now + 2 * hour, now + 3 * hour, created_by="root")
    store.create_reservation("fake_kolkata", B, now + hour, now + 2 * hour, created_by="root")
    found = store.list_reservations(backend=BACKEND, start=now, end=now + hour * 1.5)
    assert [r.id for r in found] == [kept.id]


def test_maintenance_holds_the_queue(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory
) -> None:
    job = job_factory()
    window = store.start_maintenance(BACKEND, message="cryostat warm-up", created_by="root")
    assert store.device_maintenance(BACKEND) == window
    assert store.claim_next(BACKEND, "w", 60) is None
    assert store.get_job(job.id).status is JobStatus.QUEUED
    with pytest.raises(InvalidInputError, match="may not overlap"):
        store.start_maintenance(BACKEND, message="again", created_by="root")
    ended = store.end_maintenance(BACKEND)
    assert ended.end_at == clock.now() and store.device_maintenance(BACKEND) is None
    with pytest.raises(NotFoundError, match="not under maintenance"):
        store.end_maintenance(BACKEND)
    claimed = store.claim_next(BACKEND, "w", 60)
    assert claimed is not None and claimed.id == job.id


def test_maintenance_window_in_the_future(store: SqlJobStore, clock: ManualClock) -> None:
    now = clock.now()
    with pytest.raises(InvalidInputError, match="end after it starts"):
        store.start_maintenance(
            BACKEND, message="x", created_by="root", start=now + timedelta(hours=1), end=now
        )
    with pytest.raises(InvalidInputError, match="ends in the past"):
        store.start_maintenance(
            BACKEND,
            message="x",
            created_by="root",
            start=now - timedelta(hours=2),
            end=now - timedelta(hours=1),
        )
    store.start_maintenance(
        BACKEND,
        message="x",
        created_by="root",
        start=now + timedelta(hours=1),
        end=now + timedelta(hours=2),
    )
    assert store.device_maintenance(BACKEND) is None
    clock.advance(3600 + 1)
    current = store.device_maintenance(BACKEND)
    assert current is not None and current.message == "x"
    clock.advance(3600)
    assert store.device_maintenance(BACKEND) is None


def test_a_device_grant_share_overrides_the_project_share(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory, projects: dict[str, int]
) -> None:
    store.set_unit_share(A, 1)
    for inst, seconds in ((A, 2.0), (B, 1.0)):
        job_factory(instance=inst, owner_id=projects[inst])
        _run(store, clock, {inst: seconds})
    jobs = {inst: job_factory(instance=inst, owner_id=projects[inst]) for inst in (A, B)}
    assert store.fair_queue(BACKEND)[0] == jobs[B].id  # A used more with an equal share
    store.grant_device(A, BACKEND, share=3)  # on this device A weighs 3: 2/3 < 1/1
    assert store.fair_queue(BACKEND)[0] == jobs[A].id
    store.create_unit("other", share=1)
    assert store.fair_queue("fake_kolkata") == []


def test_the_claimed_record_is_the_stored_job(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory
) -> None:
    """``claim_next`` returns the job as stored after the claim (it is not read back)."""
    first = job_factory(tags=["t"], name="n")
    claimed = store.claim_next(BACKEND, "w", 30)
    assert claimed is not None and claimed.id == first.id
    assert claimed == store.get_job(first.id)
    assert store.retry_job(first.id, "w")
    clock.advance(2.5)
    again = store.claim_next(BACKEND, "w2", 12.5, snapshot_id="snap-1")
    assert again is not None and again.attempts == 2 and again.snapshot_id == "snap-1"
    assert {"QUEUED", "RUNNING", "RUNNING_2"} <= set(again.time_per_step)
    assert again == store.get_job(first.id)
