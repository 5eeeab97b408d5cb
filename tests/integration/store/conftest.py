"""Fixtures of the store contract suite: every test here runs against every ``JobStore``.

``store_kind`` is ``memory`` (``MemoryJobStore``), ``sqlite`` (a file) or ``postgresql`` (a
throwaway PostgreSQL 15, marker ``postgres``). Each test gets a fresh database: a new in-memory
one, a copy of a migrated SQLite file, or ``CREATE DATABASE … TEMPLATE`` on PostgreSQL. Time
is a ``ManualClock`` (``clock``) that tests move instead of sleeping; ``job_factory`` moves it
one second before each job, so creation order is strict and every stamp is known.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.core.ids import new_job_id
from openqx.store.database import Database
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord, NewJob, UserRecord
from openqx.store.sql_store import SqlJobStore
from tests import pg

# ``postgres_server`` (session, with the migrated template below) comes from tests/conftest.py.

TEMPLATE = "openqx_template"

JobFactory = Callable[..., JobRecord]
UserFactory = Callable[..., UserRecord]

STORE_KINDS = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""Every ``JobStore`` implementation; a module may override ``store_kind`` with fewer."""


def _migrate(url: str) -> None:
    with Database(url) as db:
        db.upgrade()


def new_job(owner_id: int, **fields: Any) -> NewJob:
    """A ``NewJob`` with defaults for every field a test does not state."""
    values: dict[str, Any] = {
        "id": new_job_id(),
        "kind": "circuits",
        "backend": "fake_manila",
        "owner_id": owner_id,
        "instance": "hub/group/project",
        "num_circuits": 1,
        "shots": 1024,
    }
    values.update(fields)
    return NewJob(**values)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that tests copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which implementation the test runs against."""
    return str(request.param)


@pytest.fixture
def clock() -> ManualClock:
    """The store's clock; it moves only when a test advances it."""
    return ManualClock()


@contextlib.contextmanager
def fresh_database_url(kind: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """URL of a fresh, migrated database of an SQL ``kind`` (an SQLite file in ``folder``),
    dropped afterwards."""
    if kind == "sqlite":
        path = folder / "openqx.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if kind != "postgresql":
        pytest.fail(f"no database URL for the {kind} store")
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    url = pg.clone_database(server, TEMPLATE)
    try:
        yield url
    finally:
        pg.drop_database(server, url)


@contextlib.contextmanager
def opened_store(
    kind: str, clock: ManualClock, database_url: Callable[[], str]
) -> Iterator[SqlJobStore]:
    """An empty store of ``kind`` on ``clock``; an SQL kind on the database ``database_url()``
    gives."""
    if kind == "memory":
        with MemoryJobStore(clock=clock) as memory:
            yield memory
        return
    with Database(database_url()) as db:
        yield SqlJobStore(db, clock=clock)


@pytest.fixture
def database_url(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated database of an SQL kind (the memory store has none)."""
    with fresh_database_url(store_kind, request, tmp_path) as url:
        yield url


@pytest.fixture
def store(
    store_kind: str, clock: ManualClock, request: pytest.FixtureRequest
) -> Iterator[SqlJobStore]:
    """The store under test, empty, on ``clock``."""
    with opened_store(
        store_kind, clock, lambda: str(request.getfixturevalue("database_url"))
    ) as made:
        yield made


@pytest.fixture
def database(store: SqlJobStore) -> Database:
    """The open ``Database`` under the store (to set up rows the port cannot write)."""
    return store.database


@pytest.fixture
def user_factory(store: SqlJobStore) -> UserFactory:
    """Create users: ``user_factory(name="x", instances=[...])``; token is ``<name>-token``."""
    counter = iter(range(1_000_000))

    def make(name: str | None = None, **kwargs: Any) -> UserRecord:
        name = name or f"user{next(counter)}"
        kwargs.setdefault("instances", ["hub/group/project"])
        return store.create_user(name, kwargs.pop("token", f"{name}-token"), **kwargs)

    return make


@pytest.fixture
def user(user_factory: UserFactory) -> UserRecord:
    """One default user."""
    return user_factory("alice")


@pytest.fixture
def job_factory(store: SqlJobStore, user: UserRecord, clock: ManualClock) -> JobFactory:
    """Create jobs stating only the fields a test cares about (one clock second apart)."""

    def make(max_active: int | None = None, **fields: Any) -> JobRecord:
        clock.advance(1)
        fields.setdefault("owner_id", user.id)
        return store.create_job(new_job(**fields), max_active=max_active)

    return make
