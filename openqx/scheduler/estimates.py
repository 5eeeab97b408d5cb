"""Queue-time estimates: when a queued job should start and finish.

Pure arithmetic over what the store measured (a job's queue position, the backend's mean run
time) and the dispatcher's worker slots; the caller supplies "now".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["DEFAULT_RUN_SECONDS", "QueueEstimate", "estimate_queue"]

DEFAULT_RUN_SECONDS = 1.0
"""Run time assumed (seconds) on a backend that has no finished job to measure yet."""


@dataclass(frozen=True, slots=True)
class QueueEstimate:
    """Where a queued job stands and when it should start and complete."""

    position: int
    """1-based place in its backend's queue."""
    start: datetime
    complete: datetime


def estimate_queue(
    *,
    position: int | None,
    mean_run_seconds: float | None,
    slots: int,
    now: datetime,
    running: int = 0,
) -> QueueEstimate:
    """Estimate a queued job's start and completion.

    The job starts when a slot frees after the jobs ahead of it have started: with ``A``
    jobs ahead, ``R`` running and ``S`` slots, the jobs run in waves of ``S``, each wave
    taking the mean run time, and the job is in wave ``(A + R) // S`` (0: it starts now).

    Args:
        position: the job's 1-based queue position (``None`` or 0 counts as first).
        mean_run_seconds: the backend's measured mean run time (``None`` or 0: assume
            ``DEFAULT_RUN_SECONDS``).
        slots: jobs the backend runs at once (at least 1 is assumed).
        now: the moment to count from.
        running: jobs running on the backend now.

    Returns:
        The position used and the estimated start and completion times.
    """
    place = position or 1
    mean = mean_run_seconds or DEFAULT_RUN_SECONDS
    slots = max(1, slots)
    waves = (place - 1 + max(0, running)) // slots
    start = now + timedelta(seconds=waves * mean)
    return QueueEstimate(position=place, start=start, complete=start + timedelta(seconds=mean))
