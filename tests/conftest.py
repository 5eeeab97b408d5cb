"""Session-wide fixtures: one throwaway PostgreSQL 15 server for every test that needs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openqx.store.database import Database
from tests import pg

E2E_TEMPLATE = "openqx_template"


def _migrate(url: str) -> None:
    with Database(url) as db:
        db.upgrade()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PostgresServer]:
    """A PostgreSQL server for the session (skipped without binaries unless
    ``OPENQX_REQUIRE_POSTGRES=1``), with a migrated template database."""
    reason = pg.postgres_unavailable_reason()
    if reason is not None:
        if pg.postgres_required():
            pytest.fail(f"OPENQX_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    server = pg.start_postgres()
    try:
        pg.make_template(server, E2E_TEMPLATE, _migrate)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def postgres_database_url(postgres_server: pg.PostgresServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test module."""
    url = pg.clone_database(postgres_server, E2E_TEMPLATE)
    try:
        yield url
    finally:
        pg.drop_database(postgres_server, url)
