"""Migrating an empty database gives exactly the models' schema (SQLite and PostgreSQL).

The memory store builds its schema from the models, so this also keeps it equal to the
migrated one. Only the SQL kinds have migrations: ``store_kind`` is narrowed here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store import queries
from openqx.store.database import Database, DatabaseState
from openqx.store.models import metadata
from openqx.store.records import JobRecord
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import STORE_KINDS


@pytest.fixture(params=[kind for kind in STORE_KINDS if kind != "memory"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """The SQL stores only (the memory store is not migrated)."""
    return str(request.param)


def test_migrations_match_models(database: Database) -> None:
    assert database.current_revision() is not None
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_upgrade_is_idempotent(database: Database) -> None:
    head = database.current_revision()
    database.upgrade()
    assert database.current_revision() == head == "0010"


def _downgrade(database: Database, revision: str) -> None:
    config = database.alembic_config()
    with database.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def test_0002_upgrades_a_0001_database_with_jobs(
    database: Database, store: SqlJobStore, job_factory: Callable[..., JobRecord]
) -> None:
    """A database at 0001 (as deployed) upgrades to head with its jobs intact, and back."""
    made = {job_factory(tags=["a"]).id for _ in range(3)}
    _downgrade(database, "0001")
    assert database.current_revision() == "0001"
    assert "ix_jobs_owner_hub_created" not in _job_indexes(database)
    database.upgrade()
    assert database.current_revision() == "0010"
    assert "ix_jobs_owner_hub_created" in _job_indexes(database)
    page, _ = store.search_jobs(JobQuery(tags=["a"], db_filter={"hubInfo.hub.name": "hub"}))
    assert {j.id for j in page} == made


def test_0003_hub_status_index(database: Database, store: SqlJobStore) -> None:
    """0003 adds (owner, hub, status, created_at, id); SQLite plans hub + status listings on it."""
    _downgrade(database, "0002")
    assert "ix_jobs_owner_hub_status_created" not in _job_indexes(database)
    database.upgrade()
    assert "ix_jobs_owner_hub_status_created" in _job_indexes(database)
    if database.dialect != "sqlite":
        return
    query = JobQuery(db_filter={"hubInfo.hub.name": "hub0", "status": {"regexp": "^ERROR"}})
    compiled = queries.search_jobs(query, owner_id=1, cursor=None, limit=10).compile(
        database.engine
    )
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    with database.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
        details = " ".join(str(row[-1]) for row in plan)
    assert "ix_jobs_owner_hub_status_created" in details


def test_0002_postgresql_statistics(database: Database) -> None:
    """PostgreSQL gets extended statistics on (owner_id, hub); downgrade drops them."""
    if database.dialect != "postgresql":
        pytest.skip("extended statistics are PostgreSQL only")
    query = "SELECT stxname FROM pg_statistic_ext WHERE stxname = 'st_jobs_owner_hub'"

    def present() -> bool:
        with database.engine.connect() as conn:
            return conn.exec_driver_sql(query).first() is not None

    assert present()
    _downgrade(database, "0001")
    assert not present()
    database.upgrade()
    assert present()


def test_0008_fills_device_usage_from_the_finished_jobs(
    database: Database,
    store: SqlJobStore,
    clock: ManualClock,
    job_factory: Callable[..., JobRecord],
) -> None:
    """A 0007 database's recorded usage lands in ``device_usage`` hour by hour: fair share
    reads the same usage after the upgrade as before it."""
    for seconds in (1.5, 2.0, 4.0):
        job_factory(backend="fake_manila")
        job = store.claim_next("fake_manila", "w", 60)
        assert job is not None
        store.finish_job(job.id, JobStatus.DONE, usage_seconds=seconds)
        clock.advance(3600)  # the next job ends in another hour
    before = store.window_usage("fake_manila")
    assert before == {"hub/group/project": pytest.approx(7.5)}
    _downgrade(database, "0007")
    with database.engine.connect() as conn:
        assert "device_usage" not in sa.inspect(conn).get_table_names()
    database.upgrade()
    assert store.window_usage("fake_manila") == before
    with database.engine.connect() as conn:
        hours = conn.execute(sa.text("SELECT count(*), sum(jobs) FROM device_usage")).one()
    assert tuple(hours) == (3, 3)


def test_0009_adds_the_inline_blobs_table_and_takes_it_back(database: Database) -> None:
    """0009 adds ``inline_blobs`` (empty: older blobs stay files); 0008 drops it again."""
    insert = sa.text("INSERT INTO inline_blobs (key, data) VALUES ('jobs/a/result.json', :d)")
    with database.transaction(write=True) as conn:
        conn.execute(insert, {"d": b"{}"})
    _downgrade(database, "0008")
    with database.engine.connect() as conn:
        assert "inline_blobs" not in sa.inspect(conn).get_table_names()
    database.upgrade()
    with database.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM inline_blobs")).scalar() == 0


def test_0010_announces_job_changes_on_postgresql_only(database: Database) -> None:
    """0010 adds the trigger that announces job changes on PostgreSQL (nothing on SQLite);
    0009 drops it again."""
    triggers = sa.text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'jobs'::regclass")

    def announcing() -> bool:
        with database.engine.connect() as conn:
            return "openqx_job_changed" in set(conn.execute(triggers).scalars())

    if database.dialect != "postgresql":
        with database.engine.connect() as conn:
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
                ).scalar()
                == 0
            )
        return
    assert announcing()
    _downgrade(database, "0009")
    assert not announcing()
    database.upgrade()
    assert announcing()


def _job_indexes(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return {str(i["name"]) for i in sa.inspect(conn).get_indexes("jobs")}


def test_lifecycle(database_url: str) -> None:
    db = Database(database_url)
    seen = [db.state]
    with db:
        seen.append(db.state)
    seen.append(db.state)
    assert seen == [DatabaseState.NEW, DatabaseState.OPEN, DatabaseState.CLOSED]


def test_postgresql_plans_each_statement_for_its_values(database_url: str) -> None:
    """Prepared statements get custom plans; ``options`` given in the URL still apply."""
    if not database_url.startswith("postgresql"):
        pytest.skip("plan_cache_mode is PostgreSQL only")
    url = sa.make_url(database_url).update_query_dict({"options": "-c statement_timeout=4321"})
    with Database(url.render_as_string(hide_password=False)) as db, db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "4321ms"
