"""``MemoryJobStore``: the SQL job store on a private in-memory SQLite database.

Not a second implementation of the port: it is ``SqlJobStore`` with its own queries, on
``sqlite://``, so ``db_filter``, claim order and leases behave exactly as on a file. It suits
unit tests and throwaway services; everything is gone when it closes.

The schema comes from the models (``metadata.create_all``, about 5 ms, where the Alembic
migrations take about 20 ms); ``tests/integration/store/test_store_migrations.py`` checks that
migrating gives the same schema. One SQLite connection serves every thread (``StaticPool``), so
each transaction holds a lock: threads take turns, as SQLite writers do anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import sqlalchemy as sa

from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.store.database import Database
from openqx.store.models import metadata
from openqx.store.sql_store import SqlJobStore

__all__ = ["MEMORY_URL", "MemoryJobStore"]

MEMORY_URL = "sqlite://"
"""A private in-memory SQLite database (one per engine)."""


class MemoryJobStore(SqlJobStore):
    """A ``JobStore`` in memory: ``SqlJobStore`` on its own in-memory SQLite database.

    Thread-safe; ``close()`` (or leaving a ``with`` block) discards the data.

    Example:
        >>> from openqx.core.clock import ManualClock
        >>> with MemoryJobStore(clock=ManualClock()) as store:
        ...     store.create_user("alice", "token")
    """

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        """Open an empty in-memory database with the current schema.

        Args:
            clock: the source of every time stamp and lease expiry.
        """
        database = Database(MEMORY_URL).open()
        metadata.create_all(database.engine)
        super().__init__(database, clock=clock)
        self._lock = threading.RLock()

    @contextmanager
    def _transaction(
        self, *, write: bool = False, integrity_message: str | None = None
    ) -> Iterator[sa.Connection]:
        """One transaction at a time on the shared connection."""
        with (
            self._lock,
            super()._transaction(write=write, integrity_message=integrity_message) as conn,
        ):
            yield conn

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """The shared connection's lock first, as every transaction takes it, then one
        write transaction for the block."""
        with self._lock, super().unit_of_work():
            yield

    def close(self) -> None:
        """Discard the database (idempotent); later calls raise ``DatabaseNotOpenError``."""
        with self._lock:
            self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
