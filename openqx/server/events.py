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
from collections.abc import Iterator

__all__ = ["JobEvents", "wait_for_event"]


class JobEvents:
    """Wake waiters of one job id from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = (
            defaultdict(set)
        )

    def notify(self, job_id: str) -> None:
        """Signal that ``job_id`` changed."""
        with self._lock:
            waiters = list(self._waiters.get(job_id, ()))
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # loop closed
                pass

    @contextlib.contextmanager
    def subscribe(self, *job_ids: str) -> Iterator[asyncio.Event]:
        """Register an event set at every change of any of ``job_ids`` for the ``with``
        block.

        Clear it before reading the jobs' state and wait on it afterwards: a change that
        lands in between still sets it, so no notification is lost.
        """
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        key = (loop, event)
        with self._lock:
            for job_id in job_ids:
                self._waiters[job_id].add(key)
        try:
            yield event
        finally:
            with self._lock:
                for job_id in job_ids:
                    waiters = self._waiters.get(job_id)
                    if waiters is not None:
                        waiters.discard(key)
                        if not waiters:
                            del self._waiters[job_id]


async def wait_for_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` passes; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False
