"""A dispatcher's stable name, kept in the server's data folder and held by a file lock.

Leases are taken under the dispatcher's name. A server restarted under the same name knows
that the jobs still leased to that name were its own and that nobody runs them any more
(``Dispatcher.start`` requeues them at once), instead of waiting for their leases to expire.
That is only safe if no live dispatcher has the same name: each name here is held by an
exclusive ``flock`` on a file in the data folder for as long as the server runs (the kernel
drops the lock when the process dies, even by SIGKILL). A second server on the same folder
finds the first name held and takes the next one (``<name>-2``...), so two live servers
never share a name. Servers on different machines have different data folders, or are given
distinct names by their operator (``OPENQX_DISPATCHER_ID``).

    data_dir/dispatcher-id           the stable base name, written once
    data_dir/dispatcher-1.lock       held by the server using the base name
    data_dir/dispatcher-2.lock       held by a second server on the same folder: <base>-2
"""

from __future__ import annotations

import fcntl
import os
import socket
import uuid
from pathlib import Path

__all__ = ["ID_FILE", "MAX_SLOTS", "DispatcherIdentity", "claim_identity"]

ID_FILE = "dispatcher-id"
"""File (in the data folder) holding the base name."""
MAX_SLOTS = 64
"""How many servers may share one data folder."""


class DispatcherIdentity:
    """A name held by this process until ``close`` (or its end)."""

    def __init__(self, name: str, lock_fd: int) -> None:
        self.name = name
        self._fd: int | None = lock_fd

    def close(self) -> None:
        """Release the name (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __repr__(self) -> str:
        return f"DispatcherIdentity({self.name!r})"


def _base_name(data_dir: Path) -> str:
    path = data_dir / ID_FILE
    try:
        name = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        name = ""
    if name:
        return name
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_.")[:40] or "host"
    name = f"{host}-{uuid.uuid4().hex[:8]}"
    # Written beside, then renamed: two servers starting at once agree on whichever lands.
    scratch = path.with_name(f".{ID_FILE}.{os.getpid()}")
    scratch.write_text(name + "\n", encoding="utf-8")
    try:
        os.link(scratch, path)
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return path.read_text(encoding="utf-8").strip()


def claim_identity(data_dir: Path) -> DispatcherIdentity:
    """Take the first free name of ``data_dir`` (creating the base name on first use).

    Args:
        data_dir: the server's data folder (created if missing).

    Raises:
        RuntimeError: ``MAX_SLOTS`` servers already hold names in this folder.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    base = _base_name(data_dir)
    for slot in range(1, MAX_SLOTS + 1):
        fd = os.open(data_dir / f"dispatcher-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return DispatcherIdentity(base if slot == 1 else f"{base}-{slot}", fd)
    raise RuntimeError(f"{MAX_SLOTS} servers already use the data folder {data_dir}")
