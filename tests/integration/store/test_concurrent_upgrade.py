"""Servers started together on one new PostgreSQL database migrate it one after the other
(``Database.upgrade`` holds an advisory lock): every start succeeds and the schema is the
head once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from openqx.store.database import Database
from tests import pg

STARTS = 4
JOIN_TIMEOUT_S = 120.0
HEAD = "0010"
"""The migration head (also pinned in test_store_migrations.py)."""


@pytest.fixture
def empty_database_url(postgres_server: pg.PostgresServer) -> Iterator[str]:
    name = f"empty_{uuid.uuid4().hex[:12]}"
    postgres_server.execute(f'CREATE DATABASE "{name}"')
    url = postgres_server.url(name)
    try:
        yield url
    finally:
        pg.drop_database(postgres_server, url)


def test_concurrent_upgrades_of_a_new_database_all_succeed(empty_database_url: str) -> None:
    barrier = threading.Barrier(STARTS)
    failures: list[BaseException] = []

    def start() -> None:
        with Database(empty_database_url) as db:
            barrier.wait(timeout=JOIN_TIMEOUT_S)
            try:
                db.upgrade()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)

    threads = [threading.Thread(target=start, daemon=True) for _ in range(STARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "the upgrades deadlocked"
    assert failures == []
    with Database(empty_database_url) as db:
        assert db.current_revision() == HEAD
