"""Job changes that other writers of one PostgreSQL database commit, as they commit them.

Migration 0010 announces every change of a job's status or cancel request on the
``openqx_jobs`` channel (``NOTIFY``, sent when the writing transaction commits). A server
replica listens there on a connection of its own (``ReplicaChanges``, a daemon thread) and
hands each change that another writer made (not its own ``Database``: ``Database.origin``) to
a callback: the server wakes the job's status streams and, for a job queued or a cancel asked
elsewhere, its dispatcher. So a client waiting on one replica learns at once that another
replica ran its job, and a job submitted to one replica is claimed at once by whichever has
a free worker.

Nothing depends on a notification arriving: when the connection fails the thread reconnects
(``RECONNECT_MIN_S`` doubling up to ``RECONNECT_MAX_S``), and meanwhile, as for anything
missed, streams and dispatchers find changes at their next poll, as they do on SQLite.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openqx.core.status import JobStatus
from openqx.store.database import Database

if TYPE_CHECKING:  # psycopg is the ``postgres`` extra's: imported when a listener connects
    import psycopg

__all__ = ["CHANNEL", "JobChange", "ReplicaChanges", "parse_announcement"]

logger = logging.getLogger(__name__)

CHANNEL = "openqx_jobs"
"""The channel migration 0010 announces job changes on."""
WAIT_S = 0.25
"""How long the listening thread waits for a notification before it checks ``close``."""
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
"""The pause before reconnecting after a failure: doubled from the first to the second."""
CONNECT_TIMEOUT_S = 10
"""How long one attempt to connect may take (a database host that does not answer)."""
CLOSE_TIMEOUT_S = CONNECT_TIMEOUT_S + 5.0
"""How long ``close`` waits for the thread (it is a daemon: it does not keep the process)."""


@dataclass(frozen=True, slots=True)
class JobChange:
    """A job whose status or cancel request another writer changed."""

    job_id: str
    status: JobStatus | None
    """The status it was changed to (``None``: one this version does not know)."""
    cancel_requested: bool


def parse_announcement(payload: str) -> tuple[str, JobChange] | None:
    """The origin and the change of an announcement (``origin|job id|status|0 or 1``);
    ``None`` for a payload of another shape."""
    parts = payload.split("|")
    if len(parts) != 4 or not parts[1]:
        return None
    origin, job_id, status, cancel = parts
    try:
        known: JobStatus | None = JobStatus(status)
    except ValueError:
        known = None
    return origin, JobChange(job_id, known, cancel == "1")


class ReplicaChanges:
    """Listen for the job changes other writers of ``database`` commit (PostgreSQL).

    Example:
        >>> changes = ReplicaChanges(database)
        >>> changes.start(lambda change: print(change.job_id, change.status))
        >>> ...
        >>> changes.close()
    """

    def __init__(self, database: Database) -> None:
        if database.dialect != "postgresql":
            raise ValueError("only a PostgreSQL database announces job changes")
        self.database = database
        self.listening = threading.Event()
        """Set while the thread's ``LISTEN`` is in force (cleared while it reconnects)."""
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_change: Callable[[JobChange], None] = lambda change: None

    def start(self, on_change: Callable[[JobChange], None]) -> None:
        """Start listening in a daemon thread; ``on_change`` is called there, once for each
        change another writer commits."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._on_change = on_change
        self._thread = threading.Thread(
            target=self._run, name="openqx-replica-changes", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop listening (within ``WAIT_S``) and close the connection. Idempotent."""
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(CLOSE_TIMEOUT_S)

    def _run(self) -> None:
        pause = RECONNECT_MIN_S
        while not self._closed.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    logger.info(
                        "listening for job changes of other replicas",
                        extra={"action": "listen_replicas"},
                    )
                    pause = RECONNECT_MIN_S
                    while not self._closed.is_set():
                        for notice in conn.notifies(timeout=WAIT_S):
                            self._handle(notice.payload)
            except Exception as exc:  # the database went away: poll meanwhile, then retry
                self.listening.clear()
                if self._closed.is_set():
                    return
                logger.warning(
                    "lost the job change announcements of other replicas (%s: %s); "
                    "reconnecting in %.1f s, polling meanwhile",
                    type(exc).__name__,
                    exc,
                    pause,
                    extra={"action": "listen_replicas"},
                )
                self._closed.wait(pause)
                pause = min(pause * 2, RECONNECT_MAX_S)
        self.listening.clear()

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A connection of its own (autocommit: ``LISTEN`` takes effect at once), made with
        the engine's own connection arguments."""
        import psycopg

        engine = self.database.engine
        args, params = engine.dialect.create_connect_args(engine.url)
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        return psycopg.connect(*args, **params, autocommit=True)

    def _handle(self, payload: str) -> None:
        parsed = parse_announcement(payload)
        if parsed is None:
            logger.debug("unknown announcement %r", payload, extra={"action": "listen_replicas"})
            return
        origin, change = parsed
        if origin == self.database.origin:
            return  # this server's own change: it told its waiters itself
        try:
            self._on_change(change)
        except Exception:  # a listener's failure must not end the thread
            logger.exception(
                "job change listener failed",
                extra={"action": "listen_replicas", "job_id": change.job_id},
            )
