"""A job's status updates: the server-sent event stream, with polling as the fallback.

``StatusFeed`` runs in a daemon thread and puts each ``JobStatusInfo`` (the stream's
``JobFinal`` just before the final one, or the exception that ended it) on a queue, so
waiting code can also wake up on its own schedule (callback pacing, timeouts) without
blocking on a socket read.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator

from openqx.client import exceptions as exc
from openqx.client.http import ApiClient, StreamItem
from openqx.core import wire

__all__ = ["POLL_INTERVAL", "SSE_READ_TIMEOUT", "StatusFeed"]

logger = logging.getLogger(__name__)

POLL_INTERVAL = 5.0
"""Seconds between status requests when the event stream is unavailable."""
SSE_READ_TIMEOUT = 30.0
"""Seconds without an event before the stream is reopened."""

FeedItem = wire.JobStatusInfo | wire.JobFinal | BaseException
"""A status, the final record (with a small result) just before the final status, or the
exception that ended the feed."""


class StatusFeed:
    """Status updates of one job, produced in a background thread.

    Args:
        api: the API client.
        job_id: the job to follow.
        poll_interval: seconds between requests in the polling fallback.
        opened: the job's stream as its submission opened it (``ApiClient.submit_watched``),
            followed first; when it ends before the job does, the feed opens the job's
            stream itself.
    """

    def __init__(
        self,
        api: ApiClient,
        job_id: str,
        *,
        poll_interval: float = POLL_INTERVAL,
        opened: Iterator[StreamItem] | None = None,
    ) -> None:
        self.api = api
        self.job_id = job_id
        self.poll_interval = poll_interval
        self._opened = opened
        self.updates: queue.Queue[FeedItem] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"openqx-status-{job_id}", daemon=True
        )

    def start(self) -> StatusFeed:
        """Start producing updates."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the producer to stop (it exits at its next wake-up)."""
        self._stop.set()

    def _run(self) -> None:
        try:
            if self._stream():
                return
            self._poll()
        except BaseException as error:  # handed to the waiting thread, which re-raises it
            self.updates.put(error)

    def _stream(self) -> bool:
        """Follow the event stream; return whether a final status arrived."""
        opened, self._opened = self._opened, None
        while not self._stop.is_set():
            got_event = False
            try:
                items: Iterator[StreamItem] = (
                    opened
                    if opened is not None
                    else self.api.stream_job_status(
                        self.job_id, timeout=SSE_READ_TIMEOUT, on_final=self.updates.put
                    )
                )
                for item in items:
                    got_event = True
                    self.updates.put(item)
                    if isinstance(item, wire.JobStatusInfo) and item.status.is_final:
                        return True
                    if self._stop.is_set():
                        return True
            except exc.OpenQXError as error:
                logger.debug(
                    "status stream failed, polling instead",
                    extra={
                        "action": "status_stream_failed",
                        "job_id": self.job_id,
                        "error": str(error),
                    },
                )
                return False
            if not got_event:
                if opened is None:
                    # The stream closed without saying anything: the server does not stream.
                    return False
                opened = None
                continue  # the submission's stream ended at once: open the job's own
            opened = None
            # The server closed the stream before a final status: reconnect, without spinning.
            self._stop.wait(min(self.poll_interval, 1.0))
        return True

    def _poll(self) -> None:
        while not self._stop.is_set():
            info = self.api.job_status(self.job_id)
            self.updates.put(info)
            if info.status.is_final:
                return
            self._stop.wait(self.poll_interval)
