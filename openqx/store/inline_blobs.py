"""``DatabaseBlobStore``: small blobs in the database, larger ones in a file or object store.

Every job has a payload and, once it ends, a result; most are a few kilobytes. Kept as files,
each job costs a folder and two files (six system calls a file, ~0.1–0.7 ms of CPU each on
a virtual disk), written and read by the server's one interpreter. Kept in ``inline_blobs``
they cost one row each, written many at a time (``put_many``: one statement per batch of
payloads or results), as durable as the job rows that name them and shared by every replica
that shares the database. Blobs over ``max_inline_bytes`` (large results, which the result
route sends as they are) go to the ``large`` store as before.

``get`` looks in the table first, then in the large store (where every blob written before
this store existed still is). ``put`` of a large blob removes a row of the same key; a large
blob that a small one replaced stays shadowed by its row until ``delete`` removes both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from openqx.store.blobs import BlobStore, check_key
from openqx.store.database import Database
from openqx.store.models import InlineBlob
from openqx.store.queries import in_chunks

__all__ = ["DEFAULT_MAX_INLINE_BYTES", "DatabaseBlobStore"]

DEFAULT_MAX_INLINE_BYTES = 256 * 1024
"""Blobs up to this size are rows (a small job's payload and result); larger ones files."""

_blobs = cast(sa.Table, InlineBlob.__table__)
_GET = sa.select(_blobs.c.data).where(_blobs.c.key == sa.bindparam("key"))
_SIZE = sa.select(sa.func.length(_blobs.c.data)).where(_blobs.c.key == sa.bindparam("key"))
_GET_MANY = sa.select(_blobs.c.key, _blobs.c.data).where(
    _blobs.c.key.in_(sa.bindparam("keys", expanding=True))
)
_DELETE_MANY = sa.delete(_blobs).where(_blobs.c.key.in_(sa.bindparam("keys", expanding=True)))


def _upsert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (key) DO UPDATE SET data`` in ``dialect``'s words."""
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(_blobs)
    return insert.on_conflict_do_update(
        index_elements=[_blobs.c.key], set_={"data": insert.excluded.data}
    )


class DatabaseBlobStore(BlobStore):
    """Blobs up to ``max_inline_bytes`` in the database's ``inline_blobs`` table, the others
    in ``large``.

    Args:
        database: the open database (migrated: ``inline_blobs`` exists).
        large: where blobs over the limit go (and where older blobs are found).
        max_inline_bytes: the largest blob kept in the database (0: none, all go to
            ``large``).
    """

    def __init__(
        self,
        database: Database,
        large: BlobStore,
        *,
        max_inline_bytes: int = DEFAULT_MAX_INLINE_BYTES,
    ) -> None:
        if max_inline_bytes < 0:
            raise ValueError("max_inline_bytes must be >= 0")
        self.database = database
        self.large = large
        self.max_inline_bytes = max_inline_bytes
        self._upsert = _upsert(database.dialect)

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, in the table or in ``large`` by its size."""
        self.put_many([(key, data)])

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store every item: the small ones in one transaction (all or none), the large ones
        through ``large.put_many``."""
        small = [(check_key(key), bytes(data)) for key, data in items if self._inline(data)]
        large = [(key, data) for key, data in items if not self._inline(data)]
        if small:
            with self.database.transaction(write=True) as conn:
                conn.execute(self._upsert, [{"key": key, "data": data} for key, data in small])
        if large:  # a row of the same key would shadow the new bytes: it goes
            self.large.put_many(large)
            with self.database.transaction(write=True) as conn:
                for chunk in in_chunks([check_key(key) for key, _ in large]):
                    conn.execute(_DELETE_MANY, {"keys": chunk})

    def get(self, key: str) -> bytes:
        """The bytes under ``key`` (``NotFoundError`` when neither place has it)."""
        with self.database.transaction() as conn:
            data = conn.execute(_GET, {"key": check_key(key)}).scalar_one_or_none()
        return bytes(data) if data is not None else self.large.get(key)

    def get_many(self, keys: Sequence[str], *, max_bytes: int | None = None) -> dict[str, bytes]:
        """The blobs of ``keys`` (up to ``max_bytes`` each): the rows in one read per
        thousand keys, then the keys without a row from ``large``."""
        found: dict[str, bytes] = {}
        in_rows: set[str] = set()
        checked = [check_key(key) for key in keys]
        with self.database.transaction() as conn:
            for chunk in in_chunks(checked):
                for key, data in conn.execute(_GET_MANY, {"keys": chunk}):
                    in_rows.add(key)
                    if max_bytes is None or len(data) <= max_bytes:
                        found[key] = bytes(data)
        rest = [key for key in checked if key not in in_rows]
        if rest:
            found.update(self.large.get_many(rest, max_bytes=max_bytes))
        return found

    def size(self, key: str) -> int:
        """The blob's length, without reading a large one."""
        with self.database.transaction() as conn:
            size = conn.execute(_SIZE, {"key": check_key(key)}).scalar_one_or_none()
        return int(size) if size is not None else self.large.size(key)

    def exists(self, key: str) -> bool:
        """Whether either place has ``key``."""
        with self.database.transaction() as conn:
            found = conn.execute(_SIZE, {"key": check_key(key)}).first() is not None
        return found or self.large.exists(key)

    def delete(self, key: str) -> None:
        """Remove ``key`` from both places (no error when absent)."""
        self.delete_many([key])

    def delete_many(self, keys: Sequence[str]) -> None:
        """Remove every one of ``keys`` from both places: the rows in one transaction (a
        refused batch of a thousand jobs takes its payloads back in one statement)."""
        checked = [check_key(key) for key in keys]
        with self.database.transaction(write=True) as conn:
            for chunk in in_chunks(checked):
                conn.execute(_DELETE_MANY, {"keys": chunk})
        self.large.delete_many(checked)

    def _inline(self, data: bytes) -> bool:
        return len(data) <= self.max_inline_bytes
