"""Store contract, search: every filter, keyset pages, db_filter (every ``JobStore``)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from openqx.core.clock import ManualClock
from openqx.core.errors import InvalidFilterError
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store import tag_filters
from openqx.store.database import Database
from openqx.store.models import Job
from openqx.store.port import JobStore
from openqx.store.records import JobRecord, UserRecord
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import (
    STORE_KINDS,
    JobFactory,
    UserFactory,
    fresh_database_url,
    new_job,
    opened_store,
)

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _set_created(database: Database, job_id: str, at: datetime) -> None:
    with database.engine.begin() as conn:
        conn.execute(sa.update(Job).where(Job.id == job_id).values(created_at=at))


SPECS: list[dict[str, Any]] = [
    {"name": "bell-1", "tags": ["a", "b"], "backend": "manila"},
    {"name": "ghz-2", "tags": ["a"], "backend": "manila", "experiment_id": "exp1"},
    {
        "name": "bell-3",
        "tags": ["b"],
        "backend": "lima",
        "kind": "runtime",
        "program_id": "circuit-runner",
    },
    {"name": None, "tags": [], "backend": "lima", "shots": 10},
    {"name": "Bell-5", "tags": ["a", "b", "c"], "backend": "manila", "experiment_id": "exp1"},
    {"name": "qft-6", "tags": ["c"], "backend": "lima", "instance": "ibm-q/open/main"},
]
"""Six jobs of alice one hour apart: varied backend, kind, status, name, tags, experiment."""


def populate(store: SqlJobStore, alice: UserRecord, clock: ManualClock) -> list[JobRecord]:
    """Store ``SPECS`` (the first DONE, the third ERROR) and one job of a new user, bob, a day
    earlier; return alice's jobs."""

    def create(owner: UserRecord, **fields: Any) -> JobRecord:
        clock.advance(1)
        return store.create_job(new_job(owner.id, **fields))

    made = []
    for i, spec in enumerate(SPECS):
        job = create(alice, **spec)
        _set_created(store.database, job.id, BASE + timedelta(hours=i))
        made.append(job.id)
    store.finish_job(made[0], JobStatus.DONE)
    store.finish_job(made[2], JobStatus.ERROR)
    bob = store.create_user("bob", "bob-token", instances=["hub/group/project"])
    other = create(bob, name="bob-job")
    _set_created(store.database, other.id, BASE - timedelta(days=1))
    return [store.get_job(i) for i in made]


@dataclasses.dataclass(frozen=True)
class Searched:
    """The data set of ``populate`` in one store, shared by this module's tests that only
    read it (stored once per store kind, not once per test)."""

    store: SqlJobStore
    jobs: list[JobRecord]
    alice: UserRecord


@pytest.fixture(scope="module", params=STORE_KINDS)
def searched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Searched]:
    kind, folder, clock = str(request.param), tmp_path_factory.mktemp("search"), ManualClock()
    with contextlib.ExitStack() as stack:

        def database_url() -> str:
            return stack.enter_context(fresh_database_url(kind, request, folder))

        store = stack.enter_context(opened_store(kind, clock, database_url))
        alice = store.create_user("alice", "alice-token", instances=["hub/group/project"])
        yield Searched(store, populate(store, alice, clock), alice)


@pytest.fixture
def jobs(store: SqlJobStore, user: UserRecord, clock: ManualClock) -> list[JobRecord]:
    """``populate`` in the test's own store (for a test that changes it)."""
    return populate(store, user, clock)


def ids(store: JobStore, **kwargs: Any) -> list[int]:
    """Indexes (0..5, 6 = bob's) of the jobs a query returns, in order."""
    page, _ = store.search_jobs(JobQuery(**kwargs))
    return [int((j.name or "x-4").rsplit("-", 1)[1]) - 1 if j.owner == "alice" else 6 for j in page]


def test_default_order_and_visibility(searched: Searched) -> None:
    store, jobs, user = searched.store, searched.jobs, searched.alice
    assert ids(store) == [5, 4, 3, 2, 1, 0, 6]
    page, _ = store.search_jobs(JobQuery(), visible_to=user)
    assert [j.id for j in page] == [j.id for j in reversed(jobs)]
    assert ids(store, descending=False) == [6, 0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"backend": "lima"}, [5, 3, 2]),
        ({"kind": "runtime"}, [2]),
        ({"status": [JobStatus.DONE]}, [0]),
        ({"status": [JobStatus.DONE, JobStatus.ERROR]}, [2, 0]),
        ({"name": "bell"}, [2, 0]),
        ({"name": "^[Bb]ell"}, [4, 2, 0]),
        ({"name": "(?i)BELL"}, [4, 2, 0]),
        ({"experiment_id": "exp1"}, [4, 1]),
        ({"experiment_id": "nope"}, []),
        ({"program_id": "circuit-runner"}, [2]),
        ({"program_id": "circuit-runner", "status": ["QUEUED"]}, []),
        ({"program_id": "other"}, []),
        ({"status": [JobStatus.QUEUED]}, [5, 4, 3, 1, 6]),
        ({"tags": ["a"]}, [4, 1, 0]),
        ({"tags": ["a", "c"]}, [5, 4, 1, 0]),
        ({"tags": ["a", "b"], "tags_operator": "AND"}, [4, 0]),
        ({"tags": ["a", "b", "c"], "tags_operator": "AND"}, [4]),
        ({"tags": ["c", "b"], "tags_operator": "AND"}, [4]),
        ({"tags": ["a", "a"], "tags_operator": "AND"}, [4, 1, 0]),
        ({"tags": ["b", "nope"], "tags_operator": "AND"}, []),
        ({"tags": ["nope"]}, []),
        ({"tags": ["b"], "status": ["DONE", "ERROR"], "backend": "lima"}, [2]),
        ({"backend": "manila", "tags": ["b"], "name": "ell", "status": ["QUEUED"]}, [4]),
        ({"limit": 2}, [5, 4]),
        ({"limit": 2, "skip": 1}, [4, 3]),
        ({"limit": 0}, [5, 4, 3, 2, 1, 0, 6]),
    ],
)
def test_filters(searched: Searched, filters: dict[str, Any], expected: list[int]) -> None:
    store = searched.store
    assert ids(store, **filters) == expected


def test_date_bounds_inclusive_and_aware(searched: Searched) -> None:
    store = searched.store
    assert ids(store, start_datetime=BASE + timedelta(hours=1)) == [5, 4, 3, 2, 1]
    assert ids(store, end_datetime=BASE + timedelta(hours=1), start_datetime=BASE) == [1, 0]
    plus2 = timezone(timedelta(hours=2))
    local = (BASE + timedelta(hours=4)).astimezone(plus2)
    assert ids(store, start_datetime=local, end_datetime=local) == [4]


def test_bad_regexp(searched: Searched) -> None:
    store = searched.store
    with pytest.raises(InvalidFilterError, match="name"):
        store.search_jobs(JobQuery(name="bell("))


@pytest.mark.parametrize(("field", "value"), [("limit", -1), ("skip", -1)])
def test_negative_limit_or_skip(store: JobStore, field: str, value: int) -> None:
    with pytest.raises(InvalidFilterError, match=field):
        store.search_jobs(JobQuery.model_validate({field: value}))


def test_visible_to_shows_own_jobs_only(
    store: JobStore, jobs: list[JobRecord], user_factory: UserFactory
) -> None:
    bob = store.list_users()[-1]
    page, _ = store.search_jobs(JobQuery(), visible_to=bob)
    assert [j.name for j in page] == ["bob-job"]
    carol = user_factory("carol")
    assert store.search_jobs(JobQuery(), visible_to=carol) == ([], None)


@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages(store: JobStore, job_factory: JobFactory, descending: bool) -> None:
    made = [job_factory().id for _ in range(23)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, cursor = store.search_jobs(JobQuery(limit=5, cursor=cursor, descending=descending))
        seen += [j.id for j in page]
        pages += 1
        if cursor is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == set(made)
    page, _ = store.search_jobs(JobQuery(limit=100, descending=descending))
    assert seen == [j.id for j in page]


@pytest.mark.parametrize("operator", ["OR", "AND"])
def test_keyset_pages_with_tags(
    store: JobStore, job_factory: JobFactory, database: Database, operator: str
) -> None:
    made = []
    for i in range(30):
        tags = [t for t, every in (("x", 2), ("y", 3)) if i % every == 0]
        job = job_factory(tags=tags)
        _set_created(database, job.id, BASE + timedelta(minutes=i // 2))  # pairs share a time
        made.append((job, set(tags)))
    query: dict[str, Any] = {"tags": ["x", "y"], "tags_operator": operator}
    wanted = [
        j.id for j, tags in made if (tags >= {"x", "y"} if operator == "AND" else tags & {"x", "y"})
    ]
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = store.search_jobs(JobQuery(limit=4, cursor=cursor, **query))
        seen += [j.id for j in page]
        if cursor is None:
            break
    full, _ = store.search_jobs(JobQuery(limit=100, **query))
    assert seen == [j.id for j in full]
    assert set(seen) == set(wanted) and len(seen) == len(wanted)


def test_keyset_same_timestamp(
    store: JobStore, job_factory: JobFactory, database: Database
) -> None:
    made = [job_factory().id for _ in range(7)]
    for job_id in made:
        _set_created(database, job_id, BASE)
    seen, cursor = [], None
    while True:
        page, cursor = store.search_jobs(JobQuery(limit=3, cursor=cursor))
        seen += [j.id for j in page]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)


def test_bad_cursor(store: JobStore, job_factory: JobFactory) -> None:
    for _ in range(3):
        job_factory()
    _, cursor = store.search_jobs(JobQuery(limit=1))
    assert cursor is not None
    with pytest.raises(InvalidFilterError):
        store.search_jobs(JobQuery(cursor=cursor, descending=False))
    with pytest.raises(InvalidFilterError):
        store.search_jobs(JobQuery(cursor="not-a-cursor"))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"backend.name": "lima"}, [5, 3, 2]),
        ({"status": "COMPLETED"}, [0]),
        ({"status": {"regexp": "^ERROR"}}, [2]),
        ({"status": {"regexp": "/^(done|error)$/i"}}, [2, 0]),
        ({"status": {"regexp": "U"}}, [5, 4, 3, 1, 6]),
        ({"status": {"regexp": "^COMPLETED"}}, []),
        ({"status": {"regexp": "^ERROR"}, "hubInfo.hub.name": "hub"}, [2]),
        ({"or": [{"status": {"regexp": "DONE"}}, {"tags": "c"}]}, [5, 4, 0]),
        ({"tags": {"nin": ["a", "b"]}}, [5, 3, 6]),
        ({"and": [{"tags": "a"}, {"tags": {"nin": ["c"]}}]}, [1, 0]),
        ({"status": "ERROR_RUNNING_JOB"}, [2]),
        ({"status": {"inq": ["CREATING", "QUEUED"]}}, [5, 4, 3, 1, 6]),
        ({"status": {"nin": ["QUEUED"]}}, [2, 0]),
        ({"name": {"regexp": "/^bell/i"}}, [4, 2, 0]),
        ({"name": {"neq": "qft-6"}}, [4, 2, 1, 0, 6]),
        ({"name": None}, [3]),
        ({"tags": "c"}, [5, 4]),
        ({"tags": {"inq": ["c", "b"]}}, [5, 4, 2, 0]),
        ({"tags": {"nin": ["a"]}, "owner": "alice"}, [5, 3, 2]),
        ({"and": [{"tags": "a"}, {"tags": "b"}]}, [4, 0]),
        ({"or": [{"kind": "runtime"}, {"and": [{"shots": {"lt": 100}}]}]}, [3, 2]),
        ({"shots": {"between": [5, 10]}}, [3]),
        ({"shots": {"gte": 11}, "backend": "lima"}, [5, 2]),
        ({"experimentTag": "exp1"}, [4, 1]),
        ({"hubInfo.hub.name": "ibm-q"}, [5]),
        (
            {"hubInfo.group.name": "group", "hubInfo.project.name": {"inq": ["project"]}},
            [4, 3, 2, 1, 0, 6],
        ),
        ({"owner": "bob"}, [6]),
        ({"owner": {"neq": "bob"}, "backend": "manila"}, [4, 1, 0]),
        ({"creationDate": {"gt": (BASE + timedelta(hours=3)).isoformat()}}, [5, 4]),
        ({"creationDate": {"between": [BASE.isoformat(), "2024-03-01T13:00:00Z"]}}, [1, 0]),
        ({"created_at": {"lte": "2024-03-01T12:00:00"}}, [0, 6]),
        ({"kind": "runtime", "share_level": "none"}, [2]),
    ],
)
def test_db_filter(searched: Searched, where: dict[str, Any], expected: list[int]) -> None:
    store = searched.store
    assert ids(store, db_filter=where) == expected


def test_db_filter_id(searched: Searched) -> None:
    store, jobs = searched.store, searched.jobs
    page, _ = store.search_jobs(JobQuery(db_filter={"id": {"inq": [jobs[1].id, jobs[3].id]}}))
    assert {j.id for j in page} == {jobs[1].id, jobs[3].id}


@pytest.mark.parametrize(
    ("where", "names"),
    [
        ({"qObject": 1}, "qObject"),
        ({"name": {"like": "x"}}, "like"),
        ({"shots": {"regexp": "^1"}}, "regexp"),
        ({"tags": {"gt": "a"}}, "gt"),
        ({"status": "NOPE"}, "NOPE"),
        ({"or": {"name": "x"}}, "or"),
        ({"name": {"regexp": "("}}, "name"),
        ({"shots": "ten"}, "shots"),
        ({"name; DROP TABLE jobs": 1}, "DROP"),
    ],
)
def test_db_filter_rejects(searched: Searched, where: dict[str, Any], names: str) -> None:
    store = searched.store
    with pytest.raises(InvalidFilterError, match=names):
        store.search_jobs(JobQuery(db_filter=where))


def test_db_filter_values_are_bound(searched: Searched) -> None:
    store = searched.store
    assert ids(store, db_filter={"name": "x' OR '1'='1"}) == []
    assert store.count_queued("manila") == 2


TAG_QUERIES: list[tuple[dict[str, Any], list[int]]] = [
    ({"tags": ["a"]}, [4, 1, 0]),
    ({"tags": ["a", "c"]}, [5, 4, 1, 0]),
    ({"tags": ["a", "b"], "tags_operator": "AND"}, [4, 0]),
    ({"tags": ["c", "a", "b"], "tags_operator": "AND"}, [4]),
    ({"tags": ["b", "nope"], "tags_operator": "AND"}, []),
    ({"tags": ["a"], "backend": "manila", "name": "ell"}, [4, 0]),
    ({"db_filter": {"tags": "c"}}, [5, 4]),
    ({"db_filter": {"tags": {"inq": ["c", "b"]}}}, [5, 4, 2, 0]),
    ({"db_filter": {"tags": {"inq": []}}}, []),
    ({"db_filter": {"tags": {"nin": ["a", "b"]}}}, [5, 3, 6]),
    ({"db_filter": {"tags": {"regexp": "^[bc]$"}}}, [5, 4, 2, 0]),
    ({"db_filter": {"or": [{"tags": "a"}, {"shots": {"lt": 100}}]}}, [4, 3, 1, 0]),
    ({"db_filter": {"and": [{"tags": "a"}, {"tags": {"nin": ["c"]}}]}}, [1, 0]),
]


@pytest.mark.parametrize("collect_below", [0, 2, 10**9], ids=["probe", "mixed", "collect"])
@pytest.mark.parametrize(("filters", "expected"), TAG_QUERIES)
def test_tag_strategies_agree(
    searched: Searched,
    monkeypatch: pytest.MonkeyPatch,
    collect_below: int,
    filters: dict[str, Any],
    expected: list[int],
) -> None:
    """Collecting rare tags' job ids first or probing each job gives the same pages."""
    store = searched.store
    monkeypatch.setattr(tag_filters, "TAG_COLLECT_LIMIT", collect_below)
    assert ids(store, **filters) == expected
    page, cursor = store.search_jobs(JobQuery(limit=1, **filters))
    rest = store.search_jobs(JobQuery(limit=100, cursor=cursor, **filters))[0] if cursor else []
    assert [j.id for j in page + rest] == [j.id for j in store.search_jobs(JobQuery(**filters))[0]]


@pytest.mark.parametrize(
    ("tags", "cap", "expected"),
    [
        (["c"], 3, [4, 5]),  # fewer rows than the cap: the ids
        (["a", "c"], 10, [0, 1, 4, 5]),  # a job carrying both is listed once per row
        (["a"], 3, None),  # as many rows as the cap: common
        (["nobody"], 3, []),
    ],
)
def test_tag_job_ids_lookup(
    searched: Searched,
    tags: list[str],
    cap: int,
    expected: list[int] | None,
) -> None:
    """One row: the capped count, and the ids only when the count is under the cap."""
    database, jobs = searched.store.database, searched.jobs
    with database.engine.connect() as conn:
        count, joined = conn.execute(tag_filters.tag_job_ids(tags, cap)).one()
    if expected is None:
        assert count == cap and joined is None
        return
    found = joined.split(",") if joined else []
    assert count == len(found)
    assert sorted(set(found)) == sorted(jobs[i].id for i in expected)
