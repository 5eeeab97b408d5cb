"""When a job handed to the executor is stopped for running past its time limit."""

from __future__ import annotations

from openqx.core.clock import Clock

__all__ = ["Deadline"]


class Deadline:
    """When a job handed to the executor is stopped: ``limit`` seconds after ``start``, which
    the executor calls when a ready worker begins the job (from one of its threads), and again
    if another worker begins it anew (Dask reruns a task whose worker died)."""

    __slots__ = ("_at", "_clock", "limit")

    def __init__(self, clock: Clock, limit: float | None) -> None:
        self._clock = clock
        self.limit = limit
        self._at: float | None = None

    def start(self) -> None:
        """A worker began the job now: it has its whole limit from here."""
        if self.limit is not None:
            self._at = self._clock.monotonic() + self.limit

    def passed(self, now: float) -> bool:
        """Whether the job began and ``now`` (``clock.monotonic()``) is past its limit."""
        at = self._at
        return at is not None and now >= at
