"""Two replicas (two stores, two connection pools) on one database claim from one device at
the same time: no job is claimed twice, every job runs, and together they follow fair share
(shares 3:1 give about 3:1 of the claims while both projects wait)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.store.database import Database
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import JobFactory, UserFactory

BACKEND = "fake_manila"
A, B = "hub/group/a", "hub/group/b"
JOBS_EACH = 40


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """The real databases only: the replicas need a database both can open."""
    return str(request.param)


@pytest.fixture
def replica(database_url: str, clock: ManualClock) -> Iterator[SqlJobStore]:
    """A second store on the same database, as another ``openqx serve`` would open it."""
    with Database(database_url) as db:
        yield SqlJobStore(db, clock=clock)


def test_two_replicas_share_the_queue_in_fair_share_order(
    store: SqlJobStore,
    replica: SqlJobStore,
    user_factory: UserFactory,
    job_factory: JobFactory,
) -> None:
    owners = {inst: user_factory(instances=[inst]).id for inst in (A, B)}
    store.set_unit_share(A, 3)
    for _ in range(JOBS_EACH):
        for inst in (A, B):
            job_factory(instance=inst, owner_id=owners[inst])
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def work(replica_store: SqlJobStore, name: str) -> None:
        start.wait()
        while (job := replica_store.claim_next(BACKEND, name, 60)) is not None:
            with lock:
                claimed.append((job.id, job.instance))
            replica_store.finish_job(job.id, JobStatus.DONE, usage_seconds=1.0)

    threads = [
        threading.Thread(target=work, args=(s, f"replica-{i}"))
        for i, s in enumerate((store, replica))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive()
    ids = [job_id for job_id, _ in claimed]
    assert len(ids) == len(set(ids)) == 2 * JOBS_EACH  # nothing twice, nothing lost
    # While both projects wait (the first 40 claims), A gets about 3 of every 4.
    first = Counter(inst for _, inst in claimed[:40])
    assert 26 <= first[A] <= 34, first
    done = {store.get_job(job_id).status for job_id in ids}
    assert done == {JobStatus.DONE}
