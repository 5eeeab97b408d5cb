"""``BlobStore.put_many``: every item stored as ``put`` stores it; the local store writes on a
few threads and, with fsync, flushes each file once and each folder it changed once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from openqx.core.errors import InvalidInputError
from openqx.store.blobs import BlobStore, LocalBlobStore, MemoryBlobStore

ITEMS = [
    ("jobs/1/payload.qpy", b"one"),
    ("jobs/1/result.json", b"{}"),
    ("jobs/2/payload.qpy", b"two"),
    ("deep/a/b/c.bin", b"\x00\x01"),
    ("top.txt", b""),
]


@pytest.fixture(params=["local", "local-no-fsync", "memory"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "memory":
        return MemoryBlobStore()
    return LocalBlobStore(tmp_path / "blobs", fsync=request.param == "local")


def test_put_many_stores_every_item(blobs: BlobStore) -> None:
    blobs.put("jobs/1/payload.qpy", b"old")
    blobs.put_many(ITEMS)
    for key, data in ITEMS:
        assert blobs.get(key) == data
    assert blobs.get("jobs/1/payload.qpy") == b"one"  # replaced


@pytest.mark.parametrize("count", [0, 1])
def test_put_many_of_few_items(blobs: BlobStore, count: int) -> None:
    blobs.put_many(ITEMS[:count])
    assert [blobs.exists(key) for key, _ in ITEMS] == [True] * count + [False] * (5 - count)


def test_an_unsafe_key_is_refused(blobs: BlobStore) -> None:
    with pytest.raises(InvalidInputError):
        blobs.put_many([("jobs/1/a", b"x"), ("../escape", b"y")])


def test_local_put_many_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_many(ITEMS)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(key for key, _ in ITEMS)


def test_local_put_many_flushes_each_file_and_each_folder_once(
    tmp_path: Path, fsynced: list[str]
) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_many(ITEMS)
    root = str(tmp_path.resolve())
    files = [path for path in fsynced if "/.tmp-" in path]
    folders = [path for path in fsynced if "/.tmp-" not in path]
    assert len(files) == len(ITEMS)  # each file's data, before its rename
    # The folders holding the new names, and those holding the folders created for them.
    expected = {
        f"{root}/jobs/1",
        f"{root}/jobs/2",
        f"{root}/jobs",
        f"{root}/deep/a/b",
        f"{root}/deep/a",
        f"{root}/deep",
        root,
    }
    assert set(folders) == expected
    assert Counter(folders).most_common(1)[0][1] == 1  # none twice
    # the folders fsynced after every file was written
    assert fsynced.index(folders[0]) >= max(fsynced.index(path) for path in files)

    fsynced.clear()
    store.put_many([("jobs/1/other", b"1"), ("jobs/1/more", b"2")])  # folders exist already
    assert [path for path in fsynced if "/.tmp-" not in path] == [f"{root}/jobs/1"]


def test_local_put_many_without_fsync_flushes_nothing(tmp_path: Path, fsynced: list[str]) -> None:
    store = LocalBlobStore(tmp_path, fsync=False)
    store.put_many(ITEMS)
    store.put_many(ITEMS[:1])
    assert fsynced == []
    assert all(store.get(key) == data for key, data in ITEMS)


def test_the_default_put_many_puts_each_item_in_order() -> None:
    class Recording(MemoryBlobStore):
        def __init__(self) -> None:
            super().__init__()
            self.puts: list[str] = []

        def put(self, key: str, data: bytes) -> None:
            self.puts.append(key)
            super().put(key, data)

    store = Recording()
    store.put_many([*ITEMS, ("jobs/1/payload.qpy", b"last")])
    assert store.puts == [key for key, _ in ITEMS] + ["jobs/1/payload.qpy"]
    assert store.get("jobs/1/payload.qpy") == b"last"
    assert len(store) == len(ITEMS)
