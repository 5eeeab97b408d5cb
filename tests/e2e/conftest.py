"""End-to-end fixtures: a real uvicorn server on 127.0.0.1 (SQLite or PostgreSQL) and the
real client connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    """A running service with the default local executor (one worker process), on each
    database."""
    db_url = None
    if request.param == "postgresql":
        db_url = request.getfixturevalue("postgres_database_url")
    data_dir = tmp_path_factory.mktemp(f"openqx-{request.param}")
    with EmbeddedServer(data_dir=data_dir, db_url=db_url, executor="local", workers=1) as srv:
        yield srv


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> AccountProvider:
    """The admin's provider on ``server``."""
    from openqx.client import OpenQX

    return OpenQX.enable_account(server.token, url=server.url)
