"""Migrating an empty database gives exactly the models' schema (both databases)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openqx.store.database import Database, DatabaseState
from openqx.store.models import metadata


def test_migrations_match_models(database: Database) -> None:
    assert database.current_revision() is not None
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_upgrade_is_idempotent(database: Database) -> None:
    head = database.current_revision()
    database.upgrade()
    assert database.current_revision() == head == "0001"


def test_lifecycle(database_url: str) -> None:
    db = Database(database_url)
    assert db.state is DatabaseState.NEW
    with db:
        assert db.state is DatabaseState.OPEN
    assert db.state is DatabaseState.CLOSED
