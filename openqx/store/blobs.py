"""Blob storage for payloads and results: one small ABC, a local folder, memory, and fsspec.

Keys are relative POSIX paths such as ``jobs/<id>/payload.qpy``; ``..``, absolute paths and
backslashes are refused so a key can never leave the store's root. A job's keys are derived
from its id here only (``job_payload_key``, ``job_result_key``).

Durability: a ``LocalBlobStore`` always replaces a file atomically (readers and a process
crash see the old or the new bytes); with ``fsync=True`` it also flushes the file and its
folders to disk before ``put`` returns, so a blob survives a power loss. The service asks for
that exactly when its database's commits survive one (``docs/durability.md``).
"""

from __future__ import annotations

import abc
import contextlib
import os
import re
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openqx.core.errors import InvalidInputError, NotFoundError

__all__ = [
    "BlobStore",
    "FsspecBlobStore",
    "LocalBlobStore",
    "MemoryBlobStore",
    "check_key",
    "job_payload_key",
    "job_result_key",
    "make_blob_store",
]

_KEY_PART = re.compile(r"^[A-Za-z0-9._=+-]+$")

PUT_MANY_THREADS = 8
"""Threads of one ``LocalBlobStore.put_many``."""

_PAYLOAD_FILES = {"circuits": "payload.qpy", "runtime": "params.json"}
"""The payload's file name per job kind: QPY circuits, or a runtime program's JSON inputs."""


def job_payload_key(job_id: str, kind: str) -> str:
    """The blob key of a job's payload (``jobs/<id>/payload.qpy`` or ``…/params.json``).

    Raises:
        InvalidInputError: an unknown job kind.
    """
    try:
        return f"jobs/{job_id}/{_PAYLOAD_FILES[kind]}"
    except KeyError:
        raise InvalidInputError(f"Unknown job kind {kind!r}.", kind=kind) from None


def job_result_key(job_id: str) -> str:
    """The blob key of a job's result JSON (``jobs/<id>/result.json``)."""
    return f"jobs/{job_id}/result.json"


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative path.

    Raises:
        InvalidInputError: empty, absolute, ``..``/``.`` parts or odd characters.
    """
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _KEY_PART.match(p) for p in parts):
        raise InvalidInputError(f"Invalid blob key {key!r}.", key=key)
    return key


class BlobStore(abc.ABC):
    """Bytes by key."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing it atomically)."""

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store each ``(key, data)`` as ``put`` does; on return every one is stored (a
        store may write them concurrently). On an error some may be stored: the caller
        deletes its keys again."""
        for key, data in items:
            self.put(key, data)

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes under ``key``.

        Raises:
            NotFoundError: nothing is stored under ``key``.
        """

    def get_many(self, keys: Sequence[str], *, max_bytes: int | None = None) -> dict[str, bytes]:
        """The bytes under each of ``keys`` that has some (and at most ``max_bytes`` of
        them, when given); the others are left out. Stores that can read them together."""
        found: dict[str, bytes] = {}
        for key in keys:
            try:
                if max_bytes is None or self.size(key) <= max_bytes:
                    found[key] = self.get(key)
            except NotFoundError:
                continue
        return found

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key`` (no error when absent)."""

    def delete_many(self, keys: Sequence[str]) -> None:
        """``delete`` each of ``keys`` (stores that can, at once)."""
        for key in keys:
            self.delete(key)

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether something is stored under ``key``."""

    def size(self, key: str) -> int:
        """The length in bytes of what is stored under ``key`` (stores that can, answer
        without reading it).

        Raises:
            NotFoundError: nothing is stored under ``key``.
        """
        return len(self.get(key))


def _missing(key: str) -> NotFoundError:
    return NotFoundError(f"Blob {key!r} not found.", key=key)


class MemoryBlobStore(BlobStore):
    """A dict behind a lock (tests, single process)."""

    def __init__(self) -> None:
        """Start empty."""
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes) -> None:
        """Store a copy of ``data``."""
        with self._lock:
            self._data[check_key(key)] = bytes(data)

    def get(self, key: str) -> bytes:
        """The stored bytes (NotFoundError when absent)."""
        with self._lock:
            try:
                return self._data[check_key(key)]
            except KeyError:
                raise _missing(key) from None

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._data.pop(check_key(key), None)

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        with self._lock:
            return check_key(key) in self._data

    def size(self, key: str) -> int:
        """The stored length (NotFoundError when absent)."""
        return len(self.get(key))

    def __len__(self) -> int:
        """How many blobs are stored (what tests count to see that nothing was left)."""
        with self._lock:
            return len(self._data)


class LocalBlobStore(BlobStore):
    """Files under a root directory, written to a temp file then ``os.replace``-d.

    Args:
        root_dir: the folder (created if missing).
        fsync: flush each new file, and the folders its name was written to, to disk before
            ``put`` returns (a power loss keeps it). Without it a blob survives a crash of
            the process but may be lost, or left empty, by a power loss of the machine.
    """

    def __init__(self, root_dir: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root_dir).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)
        self.fsync = fsync

    def put(self, key: str, data: bytes) -> None:
        """Write atomically: readers see the old or the new bytes, never a part (and, with
        ``fsync``, the bytes are on disk when this returns)."""
        folders = self._write(key, data)
        if self.fsync:
            # The new name, and the folders created for it, are entries of their parents.
            for folder in folders:
                _fsync_dir(folder)

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """``put`` each item; with ``fsync``, on a few threads (the disk flushes of
        concurrent writes are committed together) and each folder flushed once at the end."""
        if not self.fsync or len(items) < 2:
            for key, data in items:
                self._write(key, data)
            return
        with ThreadPoolExecutor(
            max_workers=min(PUT_MANY_THREADS, len(items)), thread_name_prefix="openqx-blobs"
        ) as pool:
            written = list(pool.map(lambda item: self._write(*item), items))
            folders = dict.fromkeys(folder for each in written for folder in each)
            list(pool.map(_fsync_dir, folders))

    def _write(self, key: str, data: bytes) -> list[str]:
        """Write the file atomically (flushed with ``fsync``); return the folders whose
        entries changed (its own and the parents of those created for it)."""
        # Plain strings and os calls: this runs for every payload and result.
        path = self._file(key)
        folder = os.path.dirname(path)
        created = self._make_parents(folder)
        tmp = f"{folder}/.tmp-{uuid.uuid4().hex}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                _write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return list(dict.fromkeys([folder, *(os.path.dirname(made) for made in created)]))

    def _file(self, key: str) -> str:
        """The file of ``key``: ``check_key`` refuses absolute paths and ``..``, so it stays
        under the root (resolved once, in ``__init__``) with no file system lookup per key."""
        return f"{self._root}/{check_key(key)}"

    def _make_parents(self, folder: str) -> list[str]:
        """Create ``folder`` and missing parents below the root; return those created."""
        try:  # the common case: a new job's folder in a folder that exists
            os.mkdir(folder)
            return [folder]
        except FileExistsError:
            return []
        except FileNotFoundError:
            pass
        created: list[str] = []
        missing = Path(folder)
        while missing != self.root and not missing.is_dir():
            created.append(str(missing))
            missing = missing.parent
        os.makedirs(folder, exist_ok=True)
        return created

    def get(self, key: str) -> bytes:
        """The file's bytes (NotFoundError when absent)."""
        try:
            with open(self._file(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise _missing(key) from None

    def delete(self, key: str) -> None:
        """Remove the file if present."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(key))

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return os.path.isfile(self._file(key))

    def size(self, key: str) -> int:
        """The file's length (NotFoundError when absent)."""
        try:
            return os.stat(self._file(key)).st_size
        except FileNotFoundError:
            raise _missing(key) from None


class FsspecBlobStore(BlobStore):
    """Any fsspec URL (``s3://bucket/prefix``, ``gcs://…``, ``memory://…``)."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        """Open the filesystem of ``url`` (needs the ``openqx[s3]`` extra).

        Raises:
            ImportError: fsspec is not installed.
        """
        try:
            import fsspec
        except ImportError as error:
            raise ImportError(
                f"Blob store {url!r} needs fsspec: pip install 'openqx[s3]'"
            ) from error
        self.url = url.rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.url, **storage_options)

    def _path(self, key: str) -> str:
        return f"{self.base}/{check_key(key)}"

    def put(self, key: str, data: bytes) -> None:
        """Upload ``data`` (object stores replace objects atomically)."""
        self.fs.pipe_file(self._path(key), data)

    def get(self, key: str) -> bytes:
        """Download (NotFoundError when absent)."""
        try:
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError:
            raise _missing(key) from None

    def delete(self, key: str) -> None:
        """Remove the object if present."""
        try:
            self.fs.rm_file(self._path(key))
        except FileNotFoundError:
            pass

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        return bool(self.fs.exists(self._path(key)))

    def size(self, key: str) -> int:
        """The object's length (NotFoundError when absent)."""
        try:
            return int(self.fs.size(self._path(key)))
        except FileNotFoundError:
            raise _missing(key) from None


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write fewer than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (names created or replaced in it) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_blob_store(url_or_path: str | os.PathLike[str], *, fsync: bool = True) -> BlobStore:
    """Build the blob store for a setting value.

    Args:
        url_or_path: ``memory:`` for ``MemoryBlobStore``; ``file://…`` or a plain path for
            ``LocalBlobStore``; any other ``scheme://`` URL for ``FsspecBlobStore``.
        fsync: for a ``LocalBlobStore``, whether ``put`` flushes to disk (object stores
            keep what they acknowledged; memory keeps nothing past the process).
    """
    value = os.fspath(url_or_path)
    if value in ("memory:", ":memory:"):
        return MemoryBlobStore()
    if value.startswith("file://"):
        return LocalBlobStore(value.removeprefix("file://"), fsync=fsync)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
        return FsspecBlobStore(value)
    return LocalBlobStore(value, fsync=fsync)
