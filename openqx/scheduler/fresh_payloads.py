"""``FreshPayloads``: the payloads a submission of this server has just stored, handed to its
dispatcher so that claiming the job does not read them back from the blob store.

A submission offers its payloads with the wake-up that tells the dispatcher of its jobs
(``Dispatcher.wake``), once the transaction that stored them has committed. The dispatcher
takes a claimed job's payload from here when it is here, and reads it otherwise: a job claimed
by another replica, or one whose payload was dropped. Each payload is taken once. The
oldest are dropped beyond ``max_bytes`` (a job cancelled before its claim, or claimed by
another replica, is never taken), so the memory held stays bounded.

Blob keys name one job's payload, which never changes once stored, so a payload taken
from here is the one the blob store holds.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping, Sequence

__all__ = ["DEFAULT_MAX_BYTES", "FreshPayloads"]

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""Payload bytes kept at most; a payload over a quarter of it is not kept at all."""


class FreshPayloads:
    """Payloads by blob key, each taken at most once, the oldest dropped beyond
    ``max_bytes``; thread-safe.

    Args:
        max_bytes: the most payload bytes held (0: none are kept).
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = max_bytes
        self._held: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def offer(self, payloads: Mapping[str, bytes]) -> None:
        """Keep ``payloads`` (by blob key) for a claim to take, dropping the oldest held."""
        with self._lock:
            for key, data in payloads.items():
                if len(data) > self.max_bytes // 4:
                    continue
                old = self._held.pop(key, None)
                self._bytes += len(data) - (len(old) if old is not None else 0)
                self._held[key] = data
            while self._bytes > self.max_bytes:
                _, dropped = self._held.popitem(last=False)
                self._bytes -= len(dropped)

    def take(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The payloads of ``keys`` held here (no longer held afterwards), by key."""
        found: dict[str, bytes] = {}
        with self._lock:
            for key in keys:
                data = self._held.pop(key, None)
                if data is not None:
                    self._bytes -= len(data)
                    found[key] = data
        return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)
