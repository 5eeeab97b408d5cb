"""A fresh, migrated benchmark database of either kind (PostgreSQL started for the run)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openqx.store.database import Database


@contextmanager
def open_database(kind: str, workdir: Path) -> Iterator[Database]:
    """A fresh migrated database of ``kind`` (``sqlite`` in ``workdir``, or ``postgresql``)."""
    if kind == "sqlite":
        with Database(f"sqlite:///{workdir / 'bench.sqlite3'}") as db:
            db.upgrade()
            yield db
        return
    from tests import pg

    server = pg.start_postgres()
    try:
        server.execute("CREATE DATABASE bench")
        with Database(server.url("bench")) as db:
            db.upgrade()
            yield db
    finally:
        server.stop()
