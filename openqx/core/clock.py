"""Time as a dependency: the service, the store and the dispatcher read it from a ``Clock``.

``SYSTEM_CLOCK`` is the real one. ``ManualClock`` only moves when told to, so tests of leases,
expiry and time stamps run without sleeping and cannot depend on the machine's speed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Wall-clock time for stamps and leases, monotonic time for intervals."""

    def now(self) -> datetime:
        """The current moment as an aware UTC datetime."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals and timeouts)."""


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()
"""The clock every component uses unless it is given another."""


class ManualClock:
    """A clock that stands still until ``advance`` moves it (thread-safe).

    Args:
        start: the initial moment (default: 2026-01-01 00:00 UTC).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        """The clock's current moment."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """The clock's monotonic seconds (moves with ``advance``)."""
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds`` (≥ 0)."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds
