"""What a dispatcher knows of the job queues between two reads of them.

Reading every queue (``JobStore.backends_with_queued_jobs``) costs a database statement per
pass. A submission made in this process names the backends of the jobs it queued
(``Dispatcher.wake(queued)``). So when a pass last found nothing claimable and every job
queued since was named, the next pass claims from the named backends without reading every
queue, and a pass woken by a job's end reads nothing at all. A change that names nothing (a
requeue, a cancel, another replica's submission), a pass on the loop's timer, or
``poll_seconds`` since the last full read sends the next pass back to reading every queue, so
another replica's jobs and a device whose maintenance ended are found as before.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping

from openqx.core.clock import Clock

__all__ = ["Look", "QueueKnowledge"]


@dataclasses.dataclass(frozen=True)
class Look:
    """What one dispatch pass looks at.

    Attributes:
        as_of: the count of queue changes when the pass began (a change after it is not
            taken as seen).
        named: the jobs to claim per backend, as their submissions named them; ``None``: read
            every queue.
    """

    as_of: int
    named: dict[str, int] | None


class QueueKnowledge:
    """The queue changes a dispatcher was told of, and what its last passes found.

    Thread-safe: submissions report changes from the server's threads while the dispatch
    loop looks and settles.

    Args:
        clock: the dispatcher's clock.
        poll_seconds: the longest a busy loop goes without reading every queue.
    """

    def __init__(self, clock: Clock, poll_seconds: float) -> None:
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._changes = 0
        """Changes that may have queued jobs: submissions, requeues, releases."""
        self._idle_as_of: int | None = None
        """``_changes`` when a pass last found nothing to claim on any queue that may hold
        jobs (every queue read, or every backend named since such a read)."""
        self._read_at: int | None = None
        """``_changes`` when the queues were last read (or known, see ``_named``)."""
        self._read_time = 0.0
        """``clock.monotonic()`` when every queue was last read."""
        self._named: dict[str, int] | None = {}
        """Jobs queued since ``_read_at`` per backend, as the submissions named them; None
        once a change came without names. Claims take their jobs off."""

    def changed(self, queued: Mapping[str, int] | None = None) -> None:
        """Jobs may have been queued: ``queued`` per backend, or ``None`` when unknown (the
        next pass reads every queue)."""
        with self._lock:
            self._changes += 1
            if queued is None or self._named is None:
                self._named = None
                return
            for backend, count in queued.items():
                self._named[backend] = self._named.get(backend, 0) + count

    def idle(self) -> bool:
        """Whether a pass found nothing to claim and nothing can have been queued since."""
        with self._lock:
            return self._idle_as_of == self._changes

    def look(self, *, trust_names: bool) -> Look:
        """Begin a pass: the named backends only when ``trust_names`` and every job queued
        since the queues were known idle was named, within ``poll_seconds`` of the last full
        read; otherwise a full read, which starts a new count of named jobs."""
        with self._lock:
            now = self._clock.monotonic()
            if (
                trust_names
                and self._named is not None
                and self._idle_as_of is not None
                and self._idle_as_of == self._read_at
                and now - self._read_time < self._poll_seconds
            ):
                return Look(self._changes, dict(self._named))
            self._read_at, self._named, self._read_time = self._changes, {}, now
            return Look(self._changes, None)

    def named(self, backend: str) -> int:
        """Jobs named on ``backend`` since the queues were known idle and not claimed yet."""
        with self._lock:
            return 0 if self._named is None else self._named.get(backend, 0)

    def claimed(self, backend: str, count: int) -> None:
        """Take ``count`` jobs claimed (or found unclaimable) off ``backend``'s named jobs."""
        with self._lock:
            if self._named is None or backend not in self._named:
                return
            left = self._named[backend] - count
            if left > 0:
                self._named[backend] = left
            else:
                del self._named[backend]

    def settle(self, look: Look, *, queues_dry: bool, held_back: bool) -> None:
        """End a pass begun with ``look``.

        Args:
            look: what the pass looked at.
            queues_dry: every backend it looked at ran out of claimable jobs.
            held_back: a backend's concurrency limit left jobs unclaimed.
        """
        with self._lock:
            drained = look.named is not None and self._named is not None and not self._named
            if (queues_dry or drained) and not held_back:
                self._idle_as_of = look.as_of
                if look.named is not None:
                    self._read_at = look.as_of
