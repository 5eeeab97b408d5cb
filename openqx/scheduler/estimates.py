"""Queue-time estimates: when a queued job should start and finish.

Pure arithmetic over what the store measured (a job's queue position, the backend's mean run
time), the dispatcher's worker slots and the windows in which the device starts no job of the
job's instance (maintenance, another instance's reservation); the caller supplies "now".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["DEFAULT_RUN_SECONDS", "QueueEstimate", "Window", "estimate_queue", "first_open"]

Window = tuple[datetime, datetime | None]
"""``[start, end)`` in which a device starts no job of an instance (``end`` None: until an
administrator ends it)."""

DEFAULT_RUN_SECONDS = 1.0
"""Run time assumed (seconds) on a backend that has no finished job to measure yet."""


@dataclass(frozen=True, slots=True)
class QueueEstimate:
    """Where a queued job stands and when it should start and complete."""

    position: int
    """1-based place in its backend's queue."""
    start: datetime | None
    """None: unknown (held by a maintenance window without an end)."""
    complete: datetime | None


def first_open(at: datetime, closed: Sequence[Window]) -> datetime | None:
    """The first moment at or after ``at`` outside every window of ``closed``; None when a
    window without an end holds it."""
    moment = at
    moved = True
    while moved:
        moved = False
        for start, end in closed:
            if start <= moment and (end is None or moment < end):
                if end is None:
                    return None
                moment, moved = end, True
    return moment


def estimate_queue(
    *,
    position: int | None,
    mean_run_seconds: float | None,
    slots: int,
    now: datetime,
    running: int = 0,
    maintenance: Sequence[Window] = (),
    reservations: Sequence[Window] = (),
) -> QueueEstimate:
    """Estimate a queued job's start and completion.

    The job starts when a slot frees after the jobs ahead of it have started: with ``A``
    jobs ahead, ``R`` running and ``S`` slots, the jobs run in waves of ``S``, each wave
    taking the mean run time, and the job is in wave ``(A + R) // S`` (0: it starts now).

    Under maintenance now nothing starts before the window ends, so the jobs ahead start
    after it: the job starts no earlier than the end plus ``A // S`` waves (the running jobs
    go on during the window). Then, if the start falls in a maintenance window or in a
    reservation of another instance (now or later), it moves to that window's end; a
    window without an end makes the start (and completion) unknown.

    Args:
        position: the job's 1-based queue position (``None`` or 0 counts as first).
        mean_run_seconds: the backend's measured mean run time (``None`` or 0: assume
            ``DEFAULT_RUN_SECONDS``).
        slots: jobs the backend runs at once (at least 1 is assumed).
        now: the moment to count from.
        running: jobs running on the backend now.
        maintenance: the backend's maintenance windows not yet over.
        reservations: the backend's reservations not yet over that do not admit the job's
            instance.

    Returns:
        The position used and the estimated start and completion times (None: unknown).
    """
    place = position or 1
    mean = mean_run_seconds or DEFAULT_RUN_SECONDS
    slots = max(1, slots)
    waves = (place - 1 + max(0, running)) // slots
    unknown = QueueEstimate(position=place, start=None, complete=None)
    reopens = first_open(now, maintenance)
    if reopens is None:
        return unknown
    start = now + timedelta(seconds=waves * mean)
    if reopens > now:  # under maintenance: the jobs ahead start after it too
        start = max(start, reopens + timedelta(seconds=(place - 1) // slots * mean))
    opens = first_open(start, [*maintenance, *reservations])
    if opens is None:
        return unknown
    return QueueEstimate(position=place, start=opens, complete=opens + timedelta(seconds=mean))
