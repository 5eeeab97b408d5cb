"""Identifiers: job ids are 24 hex characters, time-ordered (like the IBM Quantum job ids)."""

from __future__ import annotations

import os
import re
import threading
import time

__all__ = ["JOB_ID_PATTERN", "is_job_id", "new_job_id", "new_token"]

JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")

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


def is_job_id(value: str) -> bool:
    """Whether ``value`` has the shape of a job id."""
    return bool(JOB_ID_PATTERN.match(value))


def new_token() -> str:
    """Return a new random API token (256 bits, hex)."""
    return os.urandom(32).hex()
