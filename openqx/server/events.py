"""In-process notification of job status changes, so status streams wake at once.

The dispatcher runs in a thread; SSE handlers wait in the event loop. ``JobEvents.notify``
is thread-safe. With several server replicas a change made elsewhere is seen by the
stream's polling fallback instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

__all__ = ["JobEvents"]


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

    async def wait(self, job_id: str, timeout: float) -> bool:
        """Wait until ``job_id`` changes or ``timeout`` passes; True if it changed."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        key = (loop, event)
        with self._lock:
            self._waiters[job_id].add(key)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                waiters = self._waiters.get(job_id)
                if waiters is not None:
                    waiters.discard(key)
                    if not waiters:
                        del self._waiters[job_id]
