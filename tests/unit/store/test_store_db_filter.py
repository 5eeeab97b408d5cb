"""db_filter translation, compiled without a database."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from openqx.core.errors import InvalidFilterError
from openqx.core.wire import JobQuery
from openqx.store import queries as q
from openqx.store.db_filter import normalize_status, parse_datetime, translate_where
from openqx.store.models import Job

# SQLAlchemy's dialect constructors are untyped.
PG: sa.Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
SQLITE: sa.Dialect = sqlite.dialect()  # type: ignore[no-untyped-call]


def compiled(
    where: dict[str, Any], dialect: sa.Dialect | None = None
) -> tuple[str, dict[str, Any]]:
    expr = translate_where(where).compile(
        dialect=dialect or PG, compile_kwargs={"render_postcompile": True}
    )
    return str(expr), dict(expr.params)


def test_equality_and_dotted_paths() -> None:
    sql, params = compiled({"backend.name": "manila", "hubInfo.hub.name": "ibm-q"})
    assert "jobs.backend = " in sql and "jobs.hub = " in sql
    assert set(params.values()) == {"manila", "ibm-q"}


def test_values_are_bound_never_inlined() -> None:
    evil = "x'; DROP TABLE jobs; --"
    sql, params = compiled({"name": evil, "tags": {"inq": [evil]}})
    assert evil not in sql
    assert evil in params.values()


def test_operators_render() -> None:
    sql, _ = compiled(
        {
            "or": [
                {"shots": {"gt": 1, "lte": 5}},
                {
                    "and": [
                        {"name": {"regexp": "/ab/i"}},
                        {"creationDate": {"between": ["2024-01-01", "2024-02-01"]}},
                    ]
                },
            ],
            "status": {"nin": ["COMPLETED"]},
            "owner": "bob",
        }
    )
    for fragment in (
        "jobs.shots >",
        "jobs.shots <=",
        "jobs.name ~",
        "BETWEEN",
        "NOT IN",
        "users.name =",
    ):
        assert fragment in sql
    sql_lite, params = compiled({"name": {"regexp": "/ab/i"}}, SQLITE)
    assert "REGEXP" in sql_lite and "(?i)ab" in params.values()


def listing(where: dict[str, Any]) -> str:
    """The filter inside a listing of jobs (where correlation happens)."""
    stmt = sa.select(Job.id).where(translate_where(where))
    return str(stmt.compile(dialect=PG))


def test_tags_use_correlated_exists_on_job_tags() -> None:
    sql = listing({"tags": "a"})
    assert "FROM jobs \nWHERE EXISTS (SELECT" in sql
    assert "FROM job_tags \nWHERE job_tags.job_id = jobs.id AND job_tags.tag =" in sql
    sql = listing({"tags": {"nin": ["a"]}})
    assert "WHERE NOT (EXISTS (SELECT" in sql and "job_tags.tag IN" in sql


@pytest.mark.parametrize(
    ("pattern", "statuses"),
    [
        ("^ERROR", ["ERROR"]),
        ("/^error$/i", ["ERROR"]),
        ("NG$", ["INITIALIZING", "VALIDATING", "RUNNING"]),
        ("E", ["QUEUED", "DONE", "CANCELLED", "ERROR"]),
    ],
)
def test_status_regexp_is_in_over_matching_statuses(pattern: str, statuses: list[str]) -> None:
    for dialect in (PG, SQLITE):
        sql, params = compiled({"status": {"regexp": pattern}}, dialect)
        assert "~" not in sql and "REGEXP" not in sql
        assert sorted(params.values()) == sorted(statuses)
        assert ("IN" in sql) == (len(statuses) > 1)


def test_status_regexp_matching_nothing_is_false() -> None:
    sql, params = compiled({"status": {"regexp": "^COMPLETED"}})
    assert sql == "false" and params == {}


def test_status_names() -> None:
    assert normalize_status("COMPLETED") == "DONE"
    assert normalize_status("error_running_job") == "ERROR"
    assert normalize_status("CREATED") == "INITIALIZING"
    assert normalize_status("pending_in_queue") == "QUEUED"
    with pytest.raises(InvalidFilterError, match="BOGUS"):
        normalize_status("BOGUS")


def test_dates() -> None:
    assert parse_datetime("2024-01-01T00:00:00Z").tzinfo is not None
    assert parse_datetime("2024-01-01").utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    with pytest.raises(InvalidFilterError):
        parse_datetime("yesterday")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"summaryData.summary.qobj_config.n_qubits": 5}, "summaryData"),
        ({"name": {"ilike": "x"}}, "ilike"),
        ({"name": {}}, "name"),
        ({"shots": True}, "shots"),
        ({"name": {"inq": "x"}}, "inq"),
        ({"name": {"between": [1]}}, "between"),
        ({"and": "x"}, "and"),
        ({"name": {"regexp": "/x/g"}}, "flags"),
        ({"tags": {"lt": "b"}}, "lt"),
    ],
)
def test_rejections(where: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        translate_where(where)


def test_rare_tags_are_collected_common_tags_probed() -> None:
    rare = (
        sa.select(Job.id)
        .where(translate_where({"tags": {"inq": ["a", "b"]}}, lambda tags: ["j1", "j2", "j1"]))
        .compile(dialect=PG, compile_kwargs={"render_postcompile": True})
    )
    assert "jobs.id IN (" in str(rare) and "job_tags" not in str(rare)
    assert sorted(rare.params.values()) == ["j1", "j2"]
    common = str(
        sa.select(Job.id)
        .where(translate_where({"tags": "a"}, lambda tags: None))
        .compile(dialect=PG)
    )
    assert "WHERE EXISTS (SELECT" in common and "OFFSET" in common


def test_tags_that_no_job_carries_match_nothing() -> None:
    where = translate_where({"tags": {"inq": ["nobody"]}}, lambda tags: [])
    assert str(where.compile(dialect=PG)) == "false"


def test_and_tags_driven_by_the_rarest() -> None:
    carried = {"common": None, "rare": ["r1", "r2", "r3"], "rarer": ["x"]}
    stmt = q.search_jobs(
        JobQuery(tags=["common", "rare", "rarer"], tags_operator="AND"),
        1,
        None,
        10,
        lambda tags: carried[tags[0]],
    )
    compiled = stmt.compile(dialect=PG, compile_kwargs={"render_postcompile": True})
    sql = str(compiled)
    assert sql.count("jobs.id IN (") == 1
    assert sql.count("EXISTS (SELECT") == 2
    assert "x" in compiled.params.values()
    assert not {"r1", "c"} & set(compiled.params.values())
