"""SQLite as openqx uses it: SQLAlchemy's pysqlite dialect with explicit ``BEGIN`` and a time
budget per statement, done in the dialect's own hooks rather than in engine events.

- **Transactions begin explicitly.** The driver's own implicit ``BEGIN`` is off
  (``isolation_level = None``), so it neither comes late (only before a write) nor begins
  ``DEFERRED`` when a write transaction must take the lock up front. ``do_begin`` issues
  ``BEGIN DEFERRED``, or ``BEGIN IMMEDIATE`` for a connection marked with ``begin_immediate``
  (``Database.transaction(write=True)``): a read-then-write transaction then takes the write
  lock at once instead of failing when it upgrades.
- **Checkpoints happen beside requests, not in them.** SQLite checkpoints its write-ahead log
  in the commit that crosses ``wal_autocheckpoint`` pages, and a checkpoint ``fsync``s: that
  commit took 10–13 ms where the others took 0.1 ms (``benchmarks/README.md``, session 15).
  ``WalCheckpointer`` checkpoints from a thread of its own every ``SQLITE_CHECKPOINT_SECONDS``
  instead (``PRAGMA wal_checkpoint(PASSIVE)``: it waits for no reader or writer), and the
  automatic checkpoint is only a safety net at ``SQLITE_AUTOCHECKPOINT_PAGES``.
- **Every statement has a time budget.** Each connection runs a progress handler that
  interrupts a statement (its execution and the reading of its rows) once its budget is spent;
  ``do_execute`` starts the budget, commit and rollback stop it (they are never interrupted).
  The budget is the engine's default, or the connection's execution option
  ``statement_timeout`` (seconds; ``None`` lifts it).

Why hooks and not events: any ``ConnectionEvents`` listener on an engine sends every
transaction and statement of it through SQLAlchemy's event dispatch. With the four listeners
this used to take, an empty transaction cost 52 µs and a one-row read 136 µs; in these hooks
38 and 101–105 µs (`benchmarks/README.md`, session 15).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from openqx.store import regexps

__all__ = [
    "SQLITE_AUTOCHECKPOINT_PAGES",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_CHECKPOINT_SECONDS",
    "SQLITE_PROGRESS_STEPS",
    "BudgetedConnection",
    "WalCheckpointer",
    "begin_immediate",
    "create_sqlite_engine",
    "in_memory",
]

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for a lock before giving up (milliseconds)."""
SQLITE_PROGRESS_STEPS = 10_000
"""SQLite virtual-machine steps between two looks at the budget (a few hundred microseconds)."""
SQLITE_CHECKPOINT_SECONDS = 1.0
"""How often ``WalCheckpointer`` checkpoints the write-ahead log."""
SQLITE_AUTOCHECKPOINT_PAGES = 10_000
"""WAL pages (4 KiB each) after which a commit checkpoints anyway: only if the checkpointer
falls behind (SQLite's default is 1,000)."""

_DRIVER = "openqx_pysqlite"
_BEGIN_IMMEDIATE = "openqx_begin_immediate"
"""Key in a pooled connection's ``info``: its next ``BEGIN`` is ``IMMEDIATE``."""


class BudgetedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that carries the deadline of the statement it runs."""

    default_budget: float | None = None
    """Seconds a statement may run unless the SQLAlchemy connection says otherwise."""
    deadline: float | None = None
    """When the running statement's budget is spent (monotonic seconds), or ``None``."""

    def start_budget(self, seconds: float | None) -> None:
        """Start the budget of a statement (``None``: none)."""
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def budget_spent(self) -> int:
        """SQLite's progress handler: non-zero interrupts the statement."""
        return int(self.deadline is not None and time.monotonic() > self.deadline)


class OpenqxSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite with explicit ``BEGIN`` and the statement budget (see the module docstring)."""

    driver = _DRIVER
    supports_statement_cache = True
    """Compiled statements are cached as for pysqlite: only execution hooks differ."""

    def do_begin(self, dbapi_connection: Any) -> None:
        immediate = dbapi_connection.info.pop(_BEGIN_IMMEDIATE, False)
        _driver(dbapi_connection).execute("BEGIN IMMEDIATE" if immediate else "BEGIN DEFERRED")

    def do_commit(self, dbapi_connection: Any) -> None:
        _stop_budget(dbapi_connection)
        dbapi_connection.commit()

    def do_rollback(self, dbapi_connection: Any) -> None:
        _stop_budget(dbapi_connection)
        dbapi_connection.rollback()

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        _start_budget(cursor, context)
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        _start_budget(cursor, context)
        cursor.execute(statement)

    def do_executemany(
        self, cursor: Any, statement: str, parameters: Any, context: Any = None
    ) -> None:
        _start_budget(cursor, context)
        cursor.executemany(statement, parameters)


registry.register(f"sqlite.{_DRIVER}", __name__, "OpenqxSQLiteDialect")


def _start_budget(cursor: Any, context: Any) -> None:
    # The deadline holds until the next statement, so reading the rows counts too.
    connection = cursor.connection
    if isinstance(connection, BudgetedConnection):
        options = context.execution_options if context is not None else {}
        connection.start_budget(options.get("statement_timeout", connection.default_budget))


def _driver(dbapi_connection: Any) -> Any:
    """The ``sqlite3`` connection behind a pooled one (SQLAlchemy passes the pool's proxy)."""
    return getattr(dbapi_connection, "driver_connection", dbapi_connection)


def _stop_budget(dbapi_connection: Any) -> None:
    connection = _driver(dbapi_connection)
    if isinstance(connection, BudgetedConnection):
        connection.deadline = None


def begin_immediate(conn: sa.Connection) -> None:
    """Make the next transaction ``conn`` begins take SQLite's write lock at once
    (``BEGIN IMMEDIATE``); call it before ``conn.begin()``."""
    conn.connection.info[_BEGIN_IMMEDIATE] = True


def in_memory(url: sa.URL) -> bool:
    """Whether a ``sqlite://`` URL names an in-memory database (no file, no WAL)."""
    return url.database in (None, "", ":memory:")


def create_sqlite_engine(
    url: sa.URL, *, statement_timeout: float | None, echo: bool = False
) -> Engine:
    """An engine for a ``sqlite://`` URL through ``OpenqxSQLiteDialect``: WAL,
    ``foreign_keys=ON``, the busy timeout, a ``REGEXP`` function (RE2, linear time:
    ``store.regexps``) and ``statement_timeout`` as every statement's default budget."""
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "factory": BudgetedConnection}
    }
    if in_memory(url):
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url.set(drivername=f"sqlite+{_DRIVER}"), echo=echo, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: BudgetedConnection, record: Any) -> None:
        # The dialect's do_begin, not the driver, opens transactions.
        dbapi_conn.isolation_level = None
        dbapi_conn.create_function("REGEXP", 2, regexps.search, deterministic=True)
        dbapi_conn.default_budget = statement_timeout
        dbapi_conn.set_progress_handler(dbapi_conn.budget_spent, SQLITE_PROGRESS_STEPS)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    return engine


class WalCheckpointer:
    """Checkpoints the write-ahead log of the SQLite database at ``path`` from a daemon thread
    with a connection of its own, every ``interval`` seconds until ``stop``.

    Args:
        path: the database file.
        interval: seconds between two checkpoints.
    """

    def __init__(self, path: str, interval: float = SQLITE_CHECKPOINT_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self.passes = 0
        """Checkpoints run so far (``wait_for_pass``)."""
        self._stop = threading.Event()
        self._passed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="openqx-wal-checkpoint", daemon=True)

    def start(self) -> WalCheckpointer:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and wait for it (a checkpoint under way ends first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def wait_for_pass(self, after: int, timeout: float) -> bool:
        """Wait until more than ``after`` checkpoints have run; False after ``timeout``."""
        with self._passed:
            return self._passed.wait_for(lambda: self.passes > after, timeout)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    if connection is None:
                        connection = sqlite3.connect(self.path, isolation_level=None)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # a disk error: the commits' safety net remains
                    logger.warning(
                        "WAL checkpoint failed: %s", exc, extra={"action": "wal_checkpoint"}
                    )
                with self._passed:
                    self.passes += 1
                    self._passed.notify_all()
        finally:
            if connection is not None:
                connection.close()
