"""In-process notification of job status changes, so status streams wake at once.

The dispatcher runs in a thread; SSE handlers wait in the event loop. ``JobEvents.notify``
is thread-safe. With several server replicas a change made elsewhere is seen by the
stream's polling fallback instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from openqx.store.records import JobRecord

__all__ = ["Changes", "Ended", "JobEvents", "wait_for_event"]


@dataclass(frozen=True, slots=True)
class Ended:
    """A job this process has just ended: its record as stored and its result's bytes as
    stored (``None``: no result), so that a waiter need not read them back."""

    record: JobRecord
    result: bytes | None


class JobEvents:
    """Wake waiters of job ids from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[_Waiter]] = defaultdict(set)
        self._sequence = 0

    @property
    def sequence(self) -> int:
        """How many notifications were sent so far: a job read while it stays the same has
        not changed in this process since (a change elsewhere reaches streams by polling)."""
        return self._sequence

    def notify(self, job_id: str) -> None:
        """Signal that ``job_id`` changed."""
        self._send(job_id, None)

    def ended(self, record: JobRecord, result: bytes | None) -> None:
        """Signal that the job of ``record`` ended as recorded, with its stored ``result``
        (the waiters get both: ``Changes.ended``)."""
        self._send(record.id, Ended(record, result))

    def _send(self, job_id: str, ended: Ended | None) -> None:
        with self._lock:
            self._sequence += 1
            waiters = list(self._waiters.get(job_id, ()))
        for loop, mark in waiters:
            try:
                loop.call_soon_threadsafe(mark, job_id, ended)
            except RuntimeError:  # loop closed
                pass

    @contextlib.contextmanager
    def subscribe(self, *job_ids: str) -> Iterator[asyncio.Event]:
        """Register an event set at every change of any of ``job_ids`` for the ``with``
        block.

        Clear it before reading the jobs' state and wait on it afterwards: a change that
        lands in between still sets it, so no notification is lost.
        """
        with self.watch(*job_ids) as changes:
            yield changes.event

    @contextlib.contextmanager
    def watch(self, *job_ids: str) -> Iterator[Changes]:
        """Like ``subscribe``, also keeping which of ``job_ids`` changed (``Changes.take``),
        so that a waiter of many jobs re-reads only those."""
        changes = Changes()
        key = (asyncio.get_running_loop(), changes.mark)
        with self._lock:
            for job_id in job_ids:
                self._waiters[job_id].add(key)
        try:
            yield changes
        finally:
            with self._lock:
                for job_id in job_ids:
                    waiters = self._waiters.get(job_id)
                    if waiters is not None:
                        waiters.discard(key)
                        if not waiters:
                            del self._waiters[job_id]


_Waiter = tuple[asyncio.AbstractEventLoop, Callable[[str, Ended | None], None]]


class Changes:
    """The changes a ``JobEvents.watch`` saw: ``event`` is set at every change; ``take``
    returns the ids changed since the last ``take`` and clears the event; ``ended`` holds
    the jobs seen ending (all run in the event loop's thread, as the marks do)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._ids: set[str] = set()
        self.ended: dict[str, Ended] = {}
        """Jobs of the watch this process ended, by id: take them out when read."""

    def mark(self, job_id: str, ended: Ended | None = None) -> None:
        """``job_id`` changed (``ended``: it ended so)."""
        self._ids.add(job_id)
        if ended is not None:
            self.ended[job_id] = ended
        self.event.set()

    def take(self) -> set[str]:
        """The ids changed since the last call; the event is cleared."""
        ids, self._ids = self._ids, set()
        self.event.clear()
        return ids


async def wait_for_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` passes; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False
