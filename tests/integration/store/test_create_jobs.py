"""Store contract, several jobs at once: ``create_jobs`` (all or none, job limits counting the
new jobs), ``get_jobs`` and ``job_access``.

Every test runs on each ``JobStore`` (memory, SQLite, PostgreSQL), with a ``ManualClock``.
"""

from __future__ import annotations

import pytest

from openqx.core.clock import ManualClock
from openqx.core.errors import InvalidInputError, JobLimitReachedError
from openqx.core.ids import new_job_id
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store.port import JobStore
from openqx.store.records import NewJob, UserRecord
from tests.integration.store.conftest import JobFactory, UserFactory, new_job

INSTANCE = "hub/group/project"


def _stored_ids(store: JobStore) -> set[str]:
    records, _ = store.search_jobs(JobQuery(limit=None))
    return {record.id for record in records}


def _jobs(owner: UserRecord, count: int, **fields: object) -> list[NewJob]:
    return [new_job(owner.id, name=f"n{i}", **fields) for i in range(count)]


def test_create_jobs_stores_every_job_and_returns_them_in_order(
    store: JobStore, user: UserRecord, clock: ManualClock
) -> None:
    jobs = [
        new_job(user.id, name="first", tags=["a", "b"], shots=100),
        new_job(user.id, name="second", backend="fake_lima", header={"h": 1}),
        new_job(user.id, name="third", kind="runtime", program_id="sampler", shots=None),
    ]
    records = store.create_jobs(jobs, max_active={"fake_manila": 5, "fake_lima": None})
    assert [r.id for r in records] == [j.id for j in jobs]
    assert [r.name for r in records] == ["first", "second", "third"]
    assert records[0].tags == ("a", "b") and records[0].shots == 100
    assert records[1].backend == "fake_lima" and records[1].header == {"h": 1}
    assert records[2].payload_key == f"jobs/{jobs[2].id}/params.json"
    assert all(r.status is JobStatus.QUEUED and r.owner_id == user.id for r in records)
    assert all(r.created_at == clock.now() for r in records)
    assert [store.get_job(j.id) for j in jobs] == records
    assert _stored_ids(store) == {j.id for j in jobs}


def test_create_jobs_of_nothing_stores_nothing(store: JobStore) -> None:
    assert store.create_jobs([]) == []
    assert _stored_ids(store) == set()


def test_a_duplicate_id_in_the_batch_stores_none(store: JobStore, user: UserRecord) -> None:
    first = new_job(user.id, name="first")
    again = new_job(user.id, id=first.id, name="again")
    other = new_job(user.id, name="other")
    with pytest.raises(InvalidInputError):
        store.create_jobs([other, first, again])
    assert _stored_ids(store) == set()


def test_an_id_already_stored_refuses_the_batch(
    store: JobStore, user: UserRecord, job_factory: JobFactory
) -> None:
    existing = job_factory()
    fresh = new_job(user.id)
    with pytest.raises(InvalidInputError):
        store.create_jobs([fresh, new_job(user.id, id=existing.id)])
    assert _stored_ids(store) == {existing.id}


def test_an_unknown_owner_refuses_the_batch(store: JobStore, user: UserRecord) -> None:
    with pytest.raises(InvalidInputError):
        store.create_jobs([new_job(user.id), new_job(user.id + 1000)])
    assert _stored_ids(store) == set()


def test_the_job_limit_counts_the_new_jobs(
    store: JobStore, user: UserRecord, job_factory: JobFactory
) -> None:
    active = {job_factory().id for _ in range(3)}
    refused = _jobs(user, 3)
    with pytest.raises(JobLimitReachedError) as info:
        store.create_jobs(refused, max_active={"fake_manila": 5})
    error = info.value
    assert error.details == {"backend": "fake_manila", "maximum_jobs": 5, "running_jobs": 3}
    assert error.message == (
        "3 new jobs would exceed the maximum number of active jobs (5) on backend "
        "fake_manila: 3 are active."
    )
    assert _stored_ids(store) == active

    accepted = store.create_jobs(_jobs(user, 2), max_active={"fake_manila": 5})
    assert _stored_ids(store) == active | {r.id for r in accepted}

    with pytest.raises(JobLimitReachedError) as single:
        store.create_jobs(_jobs(user, 1), max_active={"fake_manila": 5})
    assert (
        single.value.message == "Maximum number of active jobs (5) on backend fake_manila reached."
    )
    assert single.value.details["running_jobs"] == 5


def test_the_limit_is_per_backend_owner_and_instance(
    store: JobStore, user: UserRecord, user_factory: UserFactory
) -> None:
    store.create_jobs(_jobs(user, 2), max_active={"fake_manila": 2})
    # another backend, another instance, another owner: each counted apart
    lima = store.create_jobs(_jobs(user, 2, backend="fake_lima"), max_active={"fake_lima": 2})
    other_instance = store.create_jobs(
        _jobs(user, 2, instance="hub/group/other"), max_active={"fake_manila": 2}
    )
    bob = user_factory("bob")
    bobs = store.create_jobs(_jobs(bob, 2), max_active={"fake_manila": 2})
    assert len(lima) == len(other_instance) == len(bobs) == 2
    stored = _stored_ids(store)
    # one backend over its limit refuses the whole batch, the other backend's jobs included
    mixed = [new_job(bob.id, backend="fake_lima"), new_job(bob.id)]
    with pytest.raises(JobLimitReachedError) as info:
        store.create_jobs(mixed, max_active={"fake_manila": 2, "fake_lima": 5})
    assert info.value.details["backend"] == "fake_manila"
    assert _stored_ids(store) == stored
    # a backend without a limit (None, or not named) takes any number
    many = store.create_jobs(_jobs(bob, 4), max_active={"fake_manila": None})
    assert len(many) == 4
    assert len(store.create_jobs(_jobs(bob, 3))) == 3


def test_final_jobs_do_not_count(
    store: JobStore, user: UserRecord, job_factory: JobFactory
) -> None:
    jobs = [job_factory() for _ in range(3)]
    store.request_cancel(jobs[0].id)  # QUEUED: cancelled at once
    records = store.create_jobs(_jobs(user, 1), max_active={"fake_manila": 3})
    assert len(records) == 1


def test_get_jobs_answers_the_existing_ones_and_final_only_the_final_ones(
    store: JobStore, job_factory: JobFactory
) -> None:
    queued, running, done, cancelled = (job_factory(backend=b) for b in ("a", "b", "c", "d"))
    assert store.claim_next("b", "w", 60.0) is not None
    assert store.claim_next("c", "w", 60.0) is not None
    store.finish_job(done.id, JobStatus.DONE, result_key=f"jobs/{done.id}/result.json")
    store.request_cancel(cancelled.id)
    missing = new_job_id()
    ids = [missing, cancelled.id, done.id, running.id, queued.id, done.id]

    found = store.get_jobs(ids)
    assert set(found) == {queued.id, running.id, done.id, cancelled.id}
    assert all(found[job_id] == store.get_job(job_id) for job_id in found)
    assert found[running.id].status is JobStatus.RUNNING

    final = store.get_jobs(ids, final_only=True)
    assert set(final) == {done.id, cancelled.id}
    assert final[done.id].status is JobStatus.DONE
    assert final[done.id].result_key == f"jobs/{done.id}/result.json"
    assert final[cancelled.id].status is JobStatus.CANCELLED
    assert store.get_jobs([]) == {} and store.get_jobs([missing], final_only=True) == {}


def test_job_access_tells_owner_instance_and_share_level(
    store: JobStore, user: UserRecord, user_factory: UserFactory, job_factory: JobFactory
) -> None:
    bob = user_factory("bob", instances=["hub/group/other"])
    private = job_factory()
    shared = job_factory(owner_id=bob.id, instance="hub/group/other", share_level="project")
    missing = new_job_id()
    access = store.job_access([shared.id, missing, private.id, shared.id])
    assert access == {
        private.id: (user.id, INSTANCE, "none"),
        shared.id: (bob.id, "hub/group/other", "project"),
    }
    assert store.job_access([]) == {}


def test_get_jobs_and_job_access_take_more_than_a_thousand_ids(
    store: JobStore, user: UserRecord
) -> None:
    jobs = _jobs(user, 3)
    store.create_jobs(jobs)
    ids = [new_job_id() for _ in range(1500)] + [j.id for j in jobs]
    assert set(store.get_jobs(ids)) == {j.id for j in jobs}
    assert set(store.job_access(ids)) == {j.id for j in jobs}
