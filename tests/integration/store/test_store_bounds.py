"""Store contract, bounds: out-of-range values, users' regular expressions and the statement
time budget, on every ``JobStore`` (memory, SQLite, PostgreSQL).

The HTTP schema refuses most of these first; the store refuses them again for any other
caller, with a filter or input error of ours and never the database's own text.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from openqx.core.errors import InvalidFilterError, InvalidInputError, StatementTimeoutError
from openqx.core.wire import JobQuery
from openqx.store.database import Database
from openqx.store.errors import wrap_exceptions
from openqx.store.port import JobStore
from openqx.store.records import UserRecord
from tests.integration.store.conftest import JobFactory, new_job

EAST = timezone(timedelta(hours=14))
WEST = timezone(timedelta(hours=-14))


def _query(**fields: Any) -> JobQuery:
    """A query as another caller might build it: no schema validation."""
    return JobQuery.model_construct(**{**JobQuery().model_dump(), **fields})


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"skip": 2**63}, "skip"),
        ({"limit": 2**64}, "limit"),
        ({"db_filter": {"shots": 2**64}}, "shots"),
        ({"db_filter": {"shots": {"between": [0, 2**63]}}}, "shots"),
        ({"db_filter": {"shots": {"inq": [1, -(2**70)]}}}, "shots"),
        ({"start_datetime": datetime(1, 1, 1, tzinfo=EAST)}, "start_datetime"),
        ({"end_datetime": datetime(9999, 12, 31, 23, tzinfo=WEST)}, "end_datetime"),
        ({"db_filter": {"creationDate": {"lt": "0001-01-01T00:00:00+14:00"}}}, "creationDate"),
        ({"db_filter": {"name": "a\ud800b"}}, "surrogate"),
        ({"db_filter": {"backend": "a\x00b"}}, "NUL"),
        ({"db_filter": {"name": "x" * 5000}}, "longer"),
        ({"name": "a\ud800b"}, "surrogate"),
        ({"name": "(a)\\1"}, "backreferences"),
        ({"name": "a(?!b)"}, "RE2"),
        ({"db_filter": {"status": {"regexp": "(?<=D)ONE"}}}, "RE2"),
        ({"db_filter": {"tags": {"regexp": "(t)\\1"}}}, "RE2"),
        ({"db_filter": {"and": [{"and": [{"name": "x"}]}] * 2} | {"or": []}}, None),
    ],
)
def test_out_of_range_filters_are_filter_errors(
    store: JobStore, user: UserRecord, fields: dict[str, Any], needle: str | None
) -> None:
    query = _query(**fields)
    if needle is None:  # a control: a shallow, valid filter runs
        assert store.search_jobs(query, visible_to=user) == ([], None)
        return
    with pytest.raises(InvalidFilterError) as info:
        store.search_jobs(query, visible_to=user)
    assert needle in info.value.message


def test_filter_depth_and_size_are_bounded(store: JobStore, user: UserRecord) -> None:
    deep: dict[str, Any] = {"name": "x"}
    for _ in range(9):
        deep = {"and": [deep]}
    with pytest.raises(InvalidFilterError, match="deeper than 8"):
        store.search_jobs(_query(db_filter=deep), visible_to=user)
    wide = {"or": [{"name": f"n{i}"} for i in range(300)]}
    with pytest.raises(InvalidFilterError, match="more than 200 conditions"):
        store.search_jobs(_query(db_filter=wide), visible_to=user)
    many = {"name": {"inq": [f"n{i}" for i in range(1001)]}}
    with pytest.raises(InvalidFilterError, match="at most 1000"):
        store.search_jobs(_query(db_filter=many), visible_to=user)


def test_catastrophic_regexp_runs_in_linear_time(
    store: JobStore, user: UserRecord, job_factory: JobFactory
) -> None:
    """``(a+)+$`` on ``'a' * 64 + '!'``: about 2**64 paths for a backtracking engine (it would
    never answer); RE2 on SQLite and PostgreSQL's automaton answer at once."""
    target = job_factory(name="a" * 64 + "!", tags=["a" * 64 + "!"])
    other = job_factory(name="a" * 64)
    for where in ({"name": "(a+)+$"}, {"db_filter": {"name": {"regexp": "(a+)+$"}}}):
        found, _ = store.search_jobs(_query(**where), visible_to=user)
        assert [job.id for job in found] == [other.id]
    found, _ = store.search_jobs(_query(db_filter={"tags": {"regexp": "(a+)+!$"}}), visible_to=user)
    assert [job.id for job in found] == [target.id]
    found, _ = store.search_jobs(_query(name="(?i)^(A+)+!$"), visible_to=user)
    assert [job.id for job in found] == [target.id]


def test_values_the_database_cannot_hold_get_our_message(store: JobStore, user: UserRecord) -> None:
    with pytest.raises(InvalidInputError) as info:
        store.create_job(new_job(user.id, shots=2**64))
    message = info.value.message.lower()
    assert "outside what the database can store" in message
    assert "bigint" not in message and "integer out of range" not in message
    assert store.search_jobs(_query(limit=None), visible_to=None) == ([], None)


_HEAVY = {
    "sqlite": (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000000000) "
        "SELECT count(*) FROM c"
    ),
    "postgresql": "SELECT pg_sleep(60)",
}
"""A statement that runs for a minute or more: far past the budget the test gives it."""


@pytest.mark.parametrize(
    "store_kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_statement_over_its_budget_is_stopped(database_url: str, store_kind: str) -> None:
    with Database(database_url, statement_timeout=0.05) as db:
        with pytest.raises(StatementTimeoutError) as info, wrap_exceptions():
            with db.engine.connect() as conn:
                conn.exec_driver_sql(_HEAVY[store_kind]).all()
        assert "time budget" in info.value.message
        with db.engine.connect() as conn:  # the connection pool still serves
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1


@pytest.mark.parametrize(
    "store_kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_connection_may_lift_its_budget(database_url: str, store_kind: str) -> None:
    """Migrations lift the budget; on SQLite any connection may through its options."""
    with Database(database_url, statement_timeout=0.05) as db:
        db.upgrade()  # already at head: runs Alembic's checks under no budget
        if store_kind == "sqlite":
            small = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
            small += "WHERE n < 3000000) SELECT count(*) FROM c"
            with db.engine.connect() as conn:
                conn = conn.execution_options(statement_timeout=None)
                assert conn.exec_driver_sql(small).scalar() == 3_000_000
