"""Blob stores: local folder, memory, factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from openqx.core.errors import InvalidInputError, NotFoundError
from openqx.store.blobs import (
    BlobStore,
    FsspecBlobStore,
    LocalBlobStore,
    MemoryBlobStore,
    check_key,
    job_payload_key,
    job_result_key,
    make_blob_store,
)


@pytest.fixture(params=["local", "memory"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs") if request.param == "local" else MemoryBlobStore()


def test_roundtrip(blobs: BlobStore) -> None:
    key = "jobs/0123/payload.qpy"
    assert not blobs.exists(key)
    blobs.put(key, b"abc")
    assert blobs.exists(key) and blobs.get(key) == b"abc"
    blobs.put(key, b"new")
    assert blobs.get(key) == b"new"
    blobs.delete(key)
    blobs.delete(key)
    with pytest.raises(NotFoundError):
        blobs.get(key)


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "", "a//b", "a\\b", "./a"])
def test_unsafe_keys(blobs: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInputError):
        blobs.put(key, b"x")


def test_local_atomic_leaves_no_temp(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("jobs/1/result.json", b"{}")
    assert [p.name for p in (tmp_path / "jobs" / "1").iterdir()] == ["result.json"]


def test_factory(tmp_path: Path) -> None:
    assert isinstance(make_blob_store("memory:"), MemoryBlobStore)
    assert isinstance(make_blob_store(tmp_path), LocalBlobStore)
    local = make_blob_store(f"file://{tmp_path}")
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path.resolve()


def test_fsspec_missing_names_extra() -> None:
    try:
        import fsspec  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"openqx\[s3\]"):
            FsspecBlobStore("s3://bucket/prefix")
    else:
        store = make_blob_store("memory://openqx-test")
        store.put("a/b", b"1")
        assert store.get("a/b") == b"1" and store.size("a/b") == 1


def test_job_keys_derive_from_the_id() -> None:
    job_id = "a" * 24
    assert job_payload_key(job_id, "circuits") == f"jobs/{job_id}/payload.qpy"
    assert job_payload_key(job_id, "runtime") == f"jobs/{job_id}/params.json"
    assert job_result_key(job_id) == f"jobs/{job_id}/result.json"
    for key in (job_payload_key(job_id, "runtime"), job_result_key(job_id)):
        assert check_key(key) == key
    with pytest.raises(InvalidInputError, match="pulse"):
        job_payload_key(job_id, "pulse")


def test_durable_put_flushes_the_file_and_every_folder_entry_it_made(
    tmp_path: Path, fsynced: list[str]
) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("jobs/1/result.json", b"{}")
    root = str(tmp_path.resolve())
    # The temp file's data, then the folder holding the new name, then the folders holding
    # the folders created for it (jobs/1 in jobs, jobs in the root).
    assert fsynced[0].startswith(f"{root}/jobs/1/.tmp-")
    assert fsynced[1:] == [f"{root}/jobs/1", f"{root}/jobs", root]
    fsynced.clear()
    store.put("jobs/1/payload.qpy", b"x")  # the folders exist: only the new name's folder
    assert fsynced[1:] == [f"{root}/jobs/1"]


def test_put_without_fsync_flushes_nothing_and_is_still_atomic(
    tmp_path: Path, fsynced: list[str]
) -> None:
    store = make_blob_store(tmp_path, fsync=False)
    assert isinstance(store, LocalBlobStore) and not store.fsync
    store.put("jobs/1/result.json", b"{}")
    store.put("jobs/1/result.json", b"{1}")
    assert fsynced == []
    assert store.get("jobs/1/result.json") == b"{1}"
    assert [p.name for p in (tmp_path / "jobs" / "1").iterdir()] == ["result.json"]


def test_size_is_the_stored_length(blobs: BlobStore) -> None:
    blobs.put("jobs/1/result.json", b"12345")
    assert blobs.size("jobs/1/result.json") == 5
    with pytest.raises(NotFoundError):
        blobs.size("jobs/2/result.json")


def test_get_many_leaves_out_missing_keys_and_blobs_over_max_bytes(blobs: BlobStore) -> None:
    blobs.put_many([("jobs/a/result.json", b"12345"), ("jobs/b/result.json", b"123")])
    keys = ["jobs/a/result.json", "jobs/b/result.json", "jobs/c/result.json"]
    assert blobs.get_many(keys) == {"jobs/a/result.json": b"12345", "jobs/b/result.json": b"123"}
    assert blobs.get_many(keys, max_bytes=4) == {"jobs/b/result.json": b"123"}
    assert blobs.get_many([]) == {}


def test_delete_many_removes_every_key_and_ignores_missing_ones(blobs: BlobStore) -> None:
    blobs.put_many([("jobs/a/payload.qpy", b"1"), ("jobs/b/payload.qpy", b"2")])
    blobs.delete_many(["jobs/a/payload.qpy", "jobs/b/payload.qpy", "jobs/c/payload.qpy"])
    assert not blobs.exists("jobs/a/payload.qpy") and not blobs.exists("jobs/b/payload.qpy")
