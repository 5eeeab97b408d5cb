"""``DatabaseBlobStore`` on SQLite and PostgreSQL: blobs up to the limit are rows of
``inline_blobs``, larger ones files of the large store; reads find either, older blobs (files
written before the table existed) included; ``put_many`` of small blobs is all or none."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from openqx.core.errors import InvalidInputError, NotFoundError
from openqx.store.blobs import LocalBlobStore
from openqx.store.database import Database
from openqx.store.inline_blobs import DatabaseBlobStore

LIMIT = 100
"""The test store's ``max_inline_bytes``."""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """The database under the blob store (the conftest's ``database_url`` reads it)."""
    return str(request.param)


@pytest.fixture
def files(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs", fsync=False)


@pytest.fixture
def blobs(database_url: str, files: LocalBlobStore) -> DatabaseBlobStore:
    database = Database(database_url).open()
    return DatabaseBlobStore(database, files, max_inline_bytes=LIMIT)


def _rows(blobs: DatabaseBlobStore) -> dict[str, bytes]:
    with blobs.database.transaction() as conn:
        rows = conn.execute(sa.text("SELECT key, data FROM inline_blobs")).all()
    return {key: bytes(data) for key, data in rows}


def test_small_blobs_are_rows_and_large_ones_files(
    blobs: DatabaseBlobStore, files: LocalBlobStore
) -> None:
    small, large = b"s" * LIMIT, b"L" * (LIMIT + 1)
    blobs.put_many([("jobs/a/payload.qpy", small), ("jobs/a/result.json", large)])
    assert _rows(blobs) == {"jobs/a/payload.qpy": small}
    assert not files.exists("jobs/a/payload.qpy")
    assert files.get("jobs/a/result.json") == large
    assert blobs.get("jobs/a/payload.qpy") == small
    assert blobs.get("jobs/a/result.json") == large
    assert (blobs.size("jobs/a/payload.qpy"), blobs.size("jobs/a/result.json")) == (100, 101)
    assert blobs.exists("jobs/a/payload.qpy") and blobs.exists("jobs/a/result.json")


def test_a_blob_written_before_the_table_existed_is_found_in_the_large_store(
    blobs: DatabaseBlobStore, files: LocalBlobStore
) -> None:
    files.put("jobs/old/result.json", b"{}")
    assert blobs.get("jobs/old/result.json") == b"{}"
    assert blobs.size("jobs/old/result.json") == 2
    assert blobs.get_many(["jobs/old/result.json"]) == {"jobs/old/result.json": b"{}"}
    blobs.delete("jobs/old/result.json")
    assert not files.exists("jobs/old/result.json")


def test_get_many_reads_both_places_and_leaves_out_missing_and_oversized_blobs(
    blobs: DatabaseBlobStore,
) -> None:
    blobs.put_many([(f"jobs/{i}/result.json", b"x" * (10 * i)) for i in range(1, 13)])
    keys = [f"jobs/{i}/result.json" for i in range(1, 13)] + ["jobs/none/result.json"]
    everything = blobs.get_many(keys)
    assert set(everything) == set(keys[:-1])
    assert everything["jobs/12/result.json"] == b"x" * 120  # from the large store
    small = blobs.get_many(keys, max_bytes=50)
    assert set(small) == {f"jobs/{i}/result.json" for i in range(1, 6)}


def test_replacing_a_key_across_the_limit_leaves_one_copy_that_reads_back(
    blobs: DatabaseBlobStore, files: LocalBlobStore
) -> None:
    key = "jobs/r/result.json"
    blobs.put(key, b"small")
    blobs.put(key, b"B" * (LIMIT + 5))  # now large: the row goes
    assert key not in _rows(blobs)
    assert blobs.get(key) == b"B" * (LIMIT + 5)
    blobs.put(key, b"small again")  # a row again: it shadows the file
    assert blobs.get(key) == b"small again"
    assert blobs.size(key) == len(b"small again")
    blobs.delete(key)
    assert not blobs.exists(key) and not files.exists(key)
    with pytest.raises(NotFoundError):
        blobs.get(key)


def test_delete_many_removes_rows_and_files_of_every_key(
    blobs: DatabaseBlobStore, files: LocalBlobStore
) -> None:
    small = [(f"jobs/{i}/payload.qpy", b"p") for i in range(1100)]  # over one IN list
    blobs.put_many([*small, ("jobs/big/result.json", b"R" * (LIMIT + 1))])
    blobs.delete_many([key for key, _ in small] + ["jobs/big/result.json", "jobs/none/x.json"])
    assert _rows(blobs) == {}
    assert not files.exists("jobs/big/result.json")


def test_put_many_of_small_blobs_stores_all_or_none(blobs: DatabaseBlobStore) -> None:
    with pytest.raises(InvalidInputError, match="Invalid blob key"):
        blobs.put_many([("jobs/ok/payload.qpy", b"1"), ("../escape", b"2")])
    assert _rows(blobs) == {}


def test_a_limit_of_zero_keeps_every_blob_in_the_large_store(
    database_url: str, files: LocalBlobStore
) -> None:
    blobs = DatabaseBlobStore(Database(database_url).open(), files, max_inline_bytes=0)
    blobs.put("jobs/z/payload.qpy", b"tiny")
    assert _rows(blobs) == {}
    assert files.get("jobs/z/payload.qpy") == b"tiny"
    with pytest.raises(ValueError, match="max_inline_bytes"):
        DatabaseBlobStore(blobs.database, files, max_inline_bytes=-1)
