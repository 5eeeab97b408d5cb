"""Identifiers: job ids are 24 hex characters, time-ordered (like the IBM Quantum job ids);
API tokens are random and stored only as their sha256 digest."""

from __future__ import annotations

import hashlib
import os
import threading
import time

__all__ = ["hash_token", "new_job_id", "new_token"]

_lock = threading.Lock()
_counter = int.from_bytes(os.urandom(3), "big")
_process_part = os.urandom(5)


def new_job_id() -> str:
    """Return a new id: 4 bytes of seconds, 5 random bytes per process, a 3-byte counter."""
    global _counter
    with _lock:
        _counter = (_counter + 1) & 0xFFFFFF
        counter = _counter
    return (int(time.time()).to_bytes(4, "big") + _process_part + counter.to_bytes(3, "big")).hex()


def hash_token(token: str) -> str:
    """The sha256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """Return a new random API token (256 bits, hex)."""
    return os.urandom(32).hex()
