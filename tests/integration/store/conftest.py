"""Fixtures: the same store tests on SQLite and on a throwaway PostgreSQL 15.

``store`` is parametrised over ``sqlite`` and ``postgresql``; each test gets a fresh database
(a copy of a migrated SQLite file, or ``CREATE DATABASE … TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openqx.core.ids import new_job_id
from openqx.store.database import Database
from openqx.store.records import JobRecord, NewJob, UserRecord
from openqx.store.sql_store import SqlJobStore
from tests import pg

# ``postgres_server`` (session, with the migrated template below) comes from tests/conftest.py.

TEMPLATE = "openqx_template"


def _migrate(url: str) -> None:
    with Database(url) as db:
        db.upgrade()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that tests copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated database of the parametrised kind."""
    if request.param == "sqlite":
        path = tmp_path / "openqx.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    url = pg.clone_database(server, TEMPLATE)
    try:
        yield url
    finally:
        pg.drop_database(server, url)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """An open ``Database`` on the fresh database."""
    with Database(database_url) as db:
        yield db


@pytest.fixture
def store(database: Database) -> SqlJobStore:
    """The SQL job store under test."""
    return SqlJobStore(database)


@pytest.fixture
def user_factory(store: SqlJobStore) -> Callable[..., UserRecord]:
    """Create users: ``user_factory(name="x", instances=[...])``; token is ``<name>-token``."""
    counter = iter(range(1_000_000))

    def make(name: str | None = None, **kwargs: Any) -> UserRecord:
        name = name or f"user{next(counter)}"
        kwargs.setdefault("instances", ["hub/group/project"])
        return store.create_user(name, kwargs.pop("token", f"{name}-token"), **kwargs)

    return make


@pytest.fixture
def user(user_factory: Callable[..., UserRecord]) -> UserRecord:
    """One default user."""
    return user_factory("alice")


@pytest.fixture
def job_factory(store: SqlJobStore, user: UserRecord) -> Callable[..., JobRecord]:
    """Create jobs stating only the fields a test cares about."""

    def make(max_active: int | None = None, **fields: Any) -> JobRecord:
        job_id = fields.pop("id", None) or new_job_id()
        values: dict[str, Any] = {
            "id": job_id,
            "kind": "circuits",
            "backend": "fake_manila",
            "owner_id": user.id,
            "instance": "hub/group/project",
            "payload_key": f"jobs/{job_id}/payload.qpy",
            "num_circuits": 1,
            "shots": 1024,
        }
        values.update(fields)
        return store.create_job(NewJob(**values), max_active=max_active)

    return make
