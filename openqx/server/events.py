"""In-process notification of job status changes, so status streams wake at once.

The dispatcher runs in a thread; SSE handlers wait in the event loop. ``JobEvents.notify``
is thread-safe. With several server replicas a change made elsewhere is seen by the
stream's polling fallback instead.

A change this process has just written can come with the job as written
(``JobEvents.recorded``: a start, an end with its result), so that a waiter need not read it
back; a change that comes without it (``notify``) makes the waiter read the job again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from openqx.store.records import JobRecord

__all__ = ["Changes", "JobEvents", "Recorded", "wait_for_event"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """A job as this process has just written it, and the bytes of its result as stored
    (``None``: no result, or not a change that stores one)."""

    record: JobRecord
    result: bytes | None = None


class JobEvents:
    """Wake waiters of job ids from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches_changed = threading.Condition(self._lock)
        """Notified whenever a watch opens or ends (``wait_watchers``)."""
        self._waiters: dict[str, set[_Waiter]] = defaultdict(set)
        self.closing = False
        """Set by ``close``: the server is shutting down; waits end instead of waiting on."""

    def notify(self, job_id: str) -> None:
        """Signal that ``job_id`` changed (waiters read it again)."""
        self._send(job_id, None)

    def recorded(self, record: JobRecord, result: bytes | None = None) -> None:
        """Signal that the job of ``record`` changed as written there (with ``result``: it
        ended, its result stored so); waiters get both (``Changes.recorded``)."""
        self._send(record.id, Recorded(record, result))

    def close(self) -> None:
        """The server is shutting down: wake every waiter, which ends its wait (``closing``).
        Later watches end at their first wake-up."""
        with self._lock:
            self.closing = True
            waiters = [(job_id, w) for job_id, held in self._waiters.items() for w in held]
        for job_id, waiter in waiters:
            _wake(waiter, job_id, None)

    def watchers(self, job_id: str) -> int:
        """How many watches of ``job_id`` are open (status streams, waits)."""
        with self._lock:
            return self._count(job_id)

    def wait_watchers(self, job_id: str, count: int, timeout: float) -> int:
        """Block until ``job_id`` has ``count`` open watches, or ``timeout`` seconds pass;
        return how many it has then. For a caller outside the event loop that must see a
        stream begin or end (a test, a shutdown that waits for its streams)."""
        with self._watches_changed:
            self._watches_changed.wait_for(lambda: self._count(job_id) == count, timeout)
            return self._count(job_id)

    def _count(self, job_id: str) -> int:
        """Open watches of ``job_id``; the lock held."""
        return len(self._waiters.get(job_id, ()))

    def _send(self, job_id: str, recorded: Recorded | None) -> None:
        with self._lock:
            waiters = list(self._waiters.get(job_id, ()))
        for waiter in waiters:
            _wake(waiter, job_id, recorded)

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
            self._watches_changed.notify_all()
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
                self._watches_changed.notify_all()


_Waiter = tuple[asyncio.AbstractEventLoop, Callable[[str, Recorded | None], None]]


def _wake(waiter: _Waiter, job_id: str, recorded: Recorded | None) -> None:
    loop, mark = waiter
    try:
        loop.call_soon_threadsafe(mark, job_id, recorded)
    except RuntimeError:  # loop closed
        pass


class Changes:
    """The changes a ``JobEvents.watch`` saw: ``event`` is set at every change; ``take``
    returns the ids changed since the last ``take`` and clears the event; ``recorded`` holds
    the jobs as this process wrote them (all run in the event loop's thread, as the marks
    do)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._ids: set[str] = set()
        self.recorded: dict[str, Recorded] = {}
        """The job as written by the last change of each job id, when that change came with
        it: take it out when read. A change without it removes it (the job must be read);
        an end is never replaced by a change that arrives after it (marks from different
        threads may arrive out of order; nothing follows an end)."""

    def mark(self, job_id: str, recorded: Recorded | None = None) -> None:
        """``job_id`` changed (``recorded``: to that)."""
        self._ids.add(job_id)
        held = self.recorded.get(job_id)
        if recorded is None:
            self.recorded.pop(job_id, None)
        elif held is None or not held.record.status.is_final:
            self.recorded[job_id] = recorded
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
