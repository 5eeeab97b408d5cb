"""The database handle: owns the SQLAlchemy engine and runs the Alembic migrations.

SQLite connections get WAL, ``foreign_keys=ON``, a busy timeout and a ``REGEXP`` function
(RE2, linear time: ``store.regexps``). Their transactions begin ``DEFERRED``, and a write
transaction of ``Database.transaction`` ``IMMEDIATE``, so a read-then-write transaction takes
the write lock up front instead of failing when it upgrades (``store.sqlite_dialect``).
PostgreSQL is reached with ``postgresql+psycopg://``.

Every statement has a time budget (``statement_timeout``, seconds): PostgreSQL enforces its
``statement_timeout`` setting, given to each connection; SQLite runs a progress handler that
interrupts a statement (its execution and the reading of its rows) once the budget is spent.
``store.errors`` turns either into ``StatementTimeoutError``. A connection may change or lift
its budget with the execution option ``statement_timeout`` (SQLite; migrations lift it on both).
"""

from __future__ import annotations

import contextlib
import enum
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from openqx.core.errors import ServiceError
from openqx.store.errors import wrap_exceptions
from openqx.store.sqlite_dialect import (
    SQLITE_BUSY_TIMEOUT_MS,
    WalCheckpointer,
    begin_immediate,
    create_sqlite_engine,
    in_memory,
)

__all__ = [
    "Database",
    "DatabaseNotOpenError",
    "DatabaseState",
    "SQLITE_BUSY_TIMEOUT_MS",
    "STATEMENT_TIMEOUT_SECONDS",
    "sqlite_url",
]

STATEMENT_TIMEOUT_SECONDS = 30.0
"""Default time budget of one database statement (seconds); ``None`` lifts it."""

SQLITE_FILE_NAME = "openqx.sqlite3"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x6F70656E7178
"""PostgreSQL advisory lock held while a server migrates the database ("openqx" in hex)."""


class DatabaseState(enum.Enum):
    """Lifecycle of a ``Database``: NEW → OPEN → CLOSED."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class DatabaseNotOpenError(ServiceError):
    """The database is not open (call ``open()`` or use it as a context manager)."""


def sqlite_url(data_dir: str | Path) -> str:
    """Return the default SQLite URL for a data directory (``<data_dir>/openqx.sqlite3``).

    Args:
        data_dir: the service's data directory; created if missing.

    Returns:
        A ``sqlite:///`` URL with an absolute path.
    """
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / SQLITE_FILE_NAME}"


ORIGIN_SETTING = "openqx.origin"
"""The PostgreSQL setting that names the ``Database`` a connection belongs to: the job change
announcements (migration 0010) carry it, so a server can tell its own changes from those of
other replicas (``store.replica_changes``)."""

POSTGRES_OPTIONS = "-c plan_cache_mode=force_custom_plan"
"""Plan every statement for its values. psycopg prepares a statement run five times on a
connection, and PostgreSQL then may switch to a generic plan that ignores the values: for a
tag listing bound to a few hundred job ids that plan took 19 ms where the custom one takes 6."""


def _postgres_args(url: sa.URL, statement_timeout: float | None, origin: str) -> dict[str, Any]:
    """psycopg connection arguments: the statement budget, then any ``options`` in the URL
    (a ``statement_timeout`` there wins), then ``POSTGRES_OPTIONS`` and the connection's
    ``openqx.origin`` (``Database.origin``)."""
    given = url.query.get("options", "")
    given = given if isinstance(given, str) else " ".join(given)
    budget = "" if statement_timeout is None else f"-c statement_timeout={_ms(statement_timeout)}"
    mark = f"-c {ORIGIN_SETTING}={origin}"
    return {"options": " ".join(part for part in (budget, given, POSTGRES_OPTIONS, mark) if part)}


def _ms(seconds: float) -> int:
    """Whole milliseconds, at least 1 (PostgreSQL reads 0 as no budget)."""
    return max(1, round(seconds * 1000))


class Database:
    """A database reached through one SQLAlchemy engine.

    Example:
        >>> with Database(sqlite_url("/var/lib/openqx")) as db:
        ...     db.upgrade()
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        statement_timeout: float | None = STATEMENT_TIMEOUT_SECONDS,
    ) -> None:
        """Remember the URL; nothing connects before ``open()``.

        Args:
            url: a SQLAlchemy URL, ``sqlite:///path`` or ``postgresql+psycopg://...``.
            echo: log every statement (debugging).
            statement_timeout: the time budget of one statement in seconds (``None``: none).
        """
        self.statement_timeout = statement_timeout
        self.url = url
        self.dialect = sa.make_url(url).get_backend_name()
        """``"sqlite"`` or ``"postgresql"``."""
        self._echo = echo
        self._engine: Engine | None = None
        self.state = DatabaseState.NEW
        self.write_lock = threading.RLock()
        """Held by this process's SQLite write transactions (``SqlJobStore``): its threads
        take turns here rather than in SQLite's busy handler, which sleeps up to 100 ms
        between tries while the lock may be free."""
        self._unit = threading.local()
        """The connection of the ``unit_of_work`` open on this thread (``conn``), if any."""
        self.checkpointer: WalCheckpointer | None = None
        """Checkpoints a SQLite file's write-ahead log while the database is open."""
        self.origin = secrets.token_hex(8)
        """This object's name on its PostgreSQL connections (``ORIGIN_SETTING``)."""

    @property
    def engine(self) -> Engine:
        """The engine.

        Raises:
            DatabaseNotOpenError: before ``open()`` or after ``close()``.
        """
        if self._engine is None or self.state is not DatabaseState.OPEN:
            raise DatabaseNotOpenError(f"Database is {self.state.value}; open it first.")
        return self._engine

    @contextlib.contextmanager
    def transaction(
        self, *, write: bool = False, integrity_message: str | None = None
    ) -> Iterator[sa.Connection]:
        """One transaction, committed on success; SQLAlchemy errors translated
        (``errors.wrap_exceptions``). On SQLite a write transaction begins ``IMMEDIATE`` after
        taking ``write_lock`` (one writer at a time in this process, without SQLite's
        sleeping busy handler). Inside a ``unit_of_work`` on this thread it is that unit's
        transaction (committed when the unit ends)."""
        joined: sa.Connection | None = getattr(self._unit, "conn", None)
        if joined is not None:  # inside a unit of work on this thread: part of its transaction
            with wrap_exceptions(integrity_message):
                yield joined
            return
        serialized = write and self.dialect == "sqlite"
        with contextlib.ExitStack() as stack:
            if serialized:
                stack.enter_context(self.write_lock)
            with wrap_exceptions(integrity_message), self.engine.connect() as conn:
                if serialized:
                    begin_immediate(conn)
                with conn.begin():
                    yield conn

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """One write transaction for the block: every ``transaction()`` this thread opens on
        this database inside it joins it (the job store's and the database blob store's
        alike), so their writes commit together or not at all, for the price of one commit.
        A unit opened inside another joins the outer one.

        Example:
            >>> with database.unit_of_work():
            ...     blobs.put(key, data)  # committed with the job's row, or not at all
            ...     store.finish_job(job_id, JobStatus.DONE, result_key=key)
        """
        if getattr(self._unit, "conn", None) is not None:
            yield
            return
        with self.transaction(write=True) as conn:
            self._unit.conn = conn
            try:
                yield
            finally:
                self._unit.conn = None

    def open(self) -> Self:
        """Create the engine (idempotent while open).

        Raises:
            DatabaseNotOpenError: the database was closed already.
        """
        if self.state is DatabaseState.OPEN:
            return self
        if self.state is DatabaseState.CLOSED:
            raise DatabaseNotOpenError("Database was closed; create a new one.")
        url = sa.make_url(self.url)
        if url.get_backend_name() == "sqlite":
            engine = create_sqlite_engine(
                url, statement_timeout=self.statement_timeout, echo=self._echo
            )
            if not in_memory(url):
                assert url.database is not None  # a file
                self.checkpointer = WalCheckpointer(url.database).start()
        else:
            engine = sa.create_engine(
                url,
                echo=self._echo,
                pool_pre_ping=True,
                connect_args=_postgres_args(url, self.statement_timeout, self.origin),
            )
        self._engine = engine
        self.state = DatabaseState.OPEN
        return self

    def close(self) -> None:
        """Stop the WAL checkpointer and dispose of the engine's connections (idempotent)."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
            self.checkpointer = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self.state = DatabaseState.CLOSED

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def alembic_config(self) -> Config:
        """An Alembic ``Config`` built in code (no alembic.ini) for this database."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Run ``alembic upgrade <revision>`` on this database (on PostgreSQL under an advisory
        lock, so servers starting together migrate one at a time).

        Args:
            revision: target revision, ``head`` by default.
        """
        config = self.alembic_config()
        with self.engine.connect() as conn:
            # A migration may rewrite large tables: no statement budget for it.
            conn.execution_options(statement_timeout=None)
            if self.dialect == "postgresql":
                conn.exec_driver_sql("SET statement_timeout = 0")
                # Replicas started together on one database migrate one after the other (the
                # next finds the head and does nothing); SQLite's write lock does this itself.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            config.attributes["connection"] = conn
            try:
                command.upgrade(config, revision)
                conn.commit()
            finally:
                if self.dialect == "postgresql":
                    conn.rollback()
                    conn.exec_driver_sql("RESET statement_timeout")
                    conn.commit()

    def current_revision(self) -> str | None:
        """The revision the database is at (None when never migrated)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
