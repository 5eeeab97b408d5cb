"""SQLite transactions as ``store.sqlite_dialect`` begins them: a write transaction holds the
write lock from its start, a read transaction reads one snapshot without the lock, and the
engine carries no connection-event listeners (each would send every statement through
SQLAlchemy's event dispatch); the write-ahead log is checkpointed by a thread of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from openqx.core.errors import ServiceError
from openqx.store.database import Database, sqlite_url
from openqx.store.sqlite_dialect import SQLITE_AUTOCHECKPOINT_PAGES

WAIT_S = 60.0
"""Upper bound of every wait (a failing test ends instead of hanging)."""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database(sqlite_url(tmp_path)) as database:
        with database.transaction(write=True) as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        yield database


def _other(tmp_path: Path) -> sqlite3.Connection:
    """A connection of another process's kind: no busy wait, its own transactions."""
    return sqlite3.connect(tmp_path / "openqx.sqlite3", timeout=0, isolation_level=None)


def test_a_write_transaction_holds_the_write_lock_before_its_first_statement(
    db: Database, tmp_path: Path
) -> None:
    other = _other(tmp_path)
    with db.transaction(write=True):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.execute("ROLLBACK")


def test_a_read_transaction_reads_one_snapshot_without_the_write_lock(
    db: Database, tmp_path: Path
) -> None:
    other = _other(tmp_path)
    with db.transaction() as conn:
        before = int(conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one())
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        other.execute("COMMIT")
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == before
    with db.transaction() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == before + 1


def test_a_failed_write_rolls_back_and_frees_the_lock(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ServiceError), db.transaction(write=True) as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        conn.exec_driver_sql("INSERT INTO nosuch VALUES (1)")
    other = _other(tmp_path)
    other.execute("BEGIN IMMEDIATE")
    assert other.execute("SELECT count(*) FROM t WHERE n = 2").fetchone() == (0,)
    other.execute("ROLLBACK")


def test_the_engine_has_no_connection_event_listeners(db: Database) -> None:
    dispatch = db.engine.dispatch
    for name in ("begin", "commit", "rollback", "before_cursor_execute", "after_cursor_execute"):
        assert not list(getattr(dispatch, name)), name


def test_the_write_ahead_log_is_checkpointed_beside_the_commits(
    db: Database, tmp_path: Path
) -> None:
    checkpointer = db.checkpointer
    assert checkpointer is not None
    with db.transaction() as conn:
        pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    assert pages == SQLITE_AUTOCHECKPOINT_PAGES  # commits checkpoint only as a safety net
    with db.transaction(write=True) as conn:
        for n in range(200):
            conn.exec_driver_sql("INSERT INTO t VALUES (?)", (n,))
    assert checkpointer.wait_for_pass(checkpointer.passes, timeout=WAIT_S)
    busy, logged, copied = _other(tmp_path).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, copied) == (0, logged) and logged > 0  # every frame is in the database
    db.close()
    assert db.checkpointer is None and not checkpointer._thread.is_alive()


def test_an_in_memory_database_has_no_checkpointer() -> None:
    with Database("sqlite://") as memory:
        assert memory.checkpointer is None
