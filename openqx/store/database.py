"""The database handle: owns the SQLAlchemy engine and runs the Alembic migrations.

SQLite connections get WAL, ``foreign_keys=ON``, a busy timeout and a ``REGEXP`` function.
Their transactions begin ``DEFERRED`` unless the connection carries the execution option
``sqlite_begin="IMMEDIATE"`` (write methods of the store do, so a read-then-write transaction
takes the write lock up front instead of failing when it upgrades). PostgreSQL is reached with
``postgresql+psycopg://``.
"""

from __future__ import annotations

import enum
import re
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from openqx.core.errors import ServiceError

__all__ = [
    "Database",
    "DatabaseNotOpenError",
    "DatabaseState",
    "SQLITE_BUSY_TIMEOUT_MS",
    "sqlite_url",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for a lock before giving up (milliseconds)."""

SQLITE_FILE_NAME = "openqx.sqlite3"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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


def _regexp(pattern: str | None, value: str | None) -> bool | None:
    """SQLite ``value REGEXP pattern`` with Python's ``re.search`` (partial match)."""
    if pattern is None or value is None:
        return None
    return re.search(pattern, value) is not None


def _configure_sqlite(engine: Engine) -> None:
    """Pragmas, REGEXP and explicit BEGIN on every SQLite connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, open transactions (pysqlite's own
        # implicit BEGIN would be DEFERRED and issued too late).
        dbapi_conn.isolation_level = None
        dbapi_conn.create_function("REGEXP", 2, _regexp, deterministic=True)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


POSTGRES_OPTIONS = "-c plan_cache_mode=force_custom_plan"
"""Plan every statement for its values. psycopg prepares a statement run five times on a
connection, and PostgreSQL then may switch to a generic plan that ignores the values: for a
tag listing bound to a few hundred job ids that plan took 19 ms where the custom one takes 6."""


def _postgres_args(url: sa.URL) -> dict[str, Any]:
    """psycopg connection arguments: ``POSTGRES_OPTIONS`` after any ``options`` in the URL."""
    given = url.query.get("options", "")
    given = given if isinstance(given, str) else " ".join(given)
    return {"options": f"{given} {POSTGRES_OPTIONS}".strip()}


class Database:
    """A database reached through one SQLAlchemy engine.

    Example:
        >>> with Database(sqlite_url("/var/lib/openqx")) as db:
        ...     db.upgrade()
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        """Remember the URL; nothing connects before ``open()``.

        Args:
            url: a SQLAlchemy URL, ``sqlite:///path`` or ``postgresql+psycopg://...``.
            echo: log every statement (debugging).
        """
        self.url = url
        self.dialect = sa.make_url(url).get_backend_name()
        """``"sqlite"`` or ``"postgresql"``."""
        self._echo = echo
        self._engine: Engine | None = None
        self.state = DatabaseState.NEW

    @property
    def engine(self) -> Engine:
        """The engine.

        Raises:
            DatabaseNotOpenError: before ``open()`` or after ``close()``.
        """
        if self._engine is None or self.state is not DatabaseState.OPEN:
            raise DatabaseNotOpenError(f"Database is {self.state.value}; open it first.")
        return self._engine

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
            kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
            if url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
            engine = sa.create_engine(url, echo=self._echo, **kwargs)
            _configure_sqlite(engine)
        else:
            engine = sa.create_engine(
                url, echo=self._echo, pool_pre_ping=True, connect_args=_postgres_args(url)
            )
        self._engine = engine
        self.state = DatabaseState.OPEN
        return self

    def close(self) -> None:
        """Dispose of the engine's connections (idempotent)."""
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
        """Run ``alembic upgrade <revision>`` on this database.

        Args:
            revision: target revision, ``head`` by default.
        """
        config = self.alembic_config()
        with self.engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()

    def current_revision(self) -> str | None:
        """The revision the database is at (None when never migrated)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
