"""A job's status stream (server-sent events): one ``status`` event now and at every change,
until final; just before the final one, a ``job`` event (``wire.JobFinal``) with the record
and, when small, the result.

``GET /jobs/{id}/events`` sends it, and ``POST /jobs`` asked for ``text/event-stream`` (its
first event, ``submitted``, the job as queued). The stream watches the job *before* it reads
it, so no change is lost in between, and the first read is the route's own (the access check,
or the submission): a job that nothing changed since is not read again. A job this process
starts, or ends, arrives with its record (and result: ``events.Recorded``): nothing is read
back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from openqx.core.status import JobStatus
from openqx.core.wire import JOB_EVENT, JobStatusInfo
from openqx.server.events import Changes, Recorded, wait_for_event
from openqx.server.finals import final_json, recorded_json
from openqx.server.service import Service
from openqx.server.views import job_status_info
from openqx.store.records import JobRecord

__all__ = [
    "EVENT_STREAM",
    "LastChunk",
    "STREAM_KEEPALIVE_SECONDS",
    "STREAM_MAX_SECONDS",
    "STREAM_HEADERS",
    "STREAM_POLL_SECONDS",
    "WatchedStream",
    "read_events",
    "sse",
    "status_events",
    "wants_stream",
]

EVENT_STREAM = "text/event-stream"
STREAM_POLL_SECONDS = 1.0
"""Status streams re-read the job this often when no in-process event wakes them."""
STREAM_KEEPALIVE_SECONDS = 15.0
STREAM_MAX_SECONDS = 3600.0
"""A stream ends after this long; clients reconnect."""

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""The headers of every event stream: not cached, not buffered by a proxy (nginx honours
``X-Accel-Buffering``; docs/scaling.md)."""
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def sse(event: str, data: str) -> str:
    """One server-sent event; a line break in ``data`` (JSON whitespace) starts another
    ``data:`` line, which the reader joins back with a line feed."""
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"event: {event}\n{lines}\n"


class LastChunk(str):
    """The last chunk of a status stream: ``WatchedStream`` sends it with the end of the
    body, in one write, so the client learns that the stream is over without another read
    (0.23-0.34 ms a job, ``benchmarks/README.md``, session 16)."""


class WatchedStream(StreamingResponse):
    """A status stream that ends the job's watch (``cleanup``) when the response is over,
    also when the client left before its body started (its generator never ran).

    It streams in the request's own task. Starlette's ``StreamingResponse`` runs a second
    task beside it that waits for the client to leave (under ASGI 2.3, which uvicorn
    speaks), which cost 0.25 ms of CPU per job (``benchmarks/README.md``, session 15);
    ``status_events`` asks ``request.is_disconnected()`` after each event and each wait
    instead, so a client that left is let go within ``STREAM_POLL_SECONDS``."""

    def __init__(
        self,
        content: AsyncIterator[str],
        cleanup: contextlib.ExitStack,
        *,
        status_code: int = 200,
    ) -> None:
        super().__init__(content, status_code=status_code, media_type=EVENT_STREAM)
        self.headers.update(STREAM_HEADERS)
        self._cleanup = cleanup

    async def stream_response(self, send: Send) -> None:
        """Starlette's, but a ``LastChunk`` goes with the end of the body."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        ended = False
        async for chunk in self.body_iterator:
            if ended:  # nothing follows a last chunk
                continue
            ended = isinstance(chunk, LastChunk)
            body = chunk.encode(self.charset) if isinstance(chunk, str) else bytes(chunk)
            await send({"type": "http.response.body", "body": body, "more_body": not ended})
        if not ended:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError:  # the connection broke under a send: the client has left
            raise ClientDisconnect() from None
        finally:
            self._cleanup.close()


def read_events(
    service: Service, job_id: str, record: JobRecord | None = None
) -> tuple[JobStatusInfo, bool, str | None]:
    """The job's status view, whether it is final, and then its ``job`` event (one thread
    hop); ``record``: the job as just read, when the caller has it."""
    if record is None:
        record = service.store.get_job(job_id)
    info = job_status_info(record, queue_position=service.store.queue_position(record))
    final = record.status.is_final
    return info, final, _final_event(service, record) if final else None


def _final_event(service: Service, record: JobRecord) -> str | None:
    """The ``job`` event of a final job (``finals.final_json``); None when the record cannot
    be encoded."""
    final = final_json(service, record)
    return None if final is None else sse(JOB_EVENT, final[0])


def _ended_events(ended: Recorded) -> tuple[JobStatusInfo, bool, str | None]:
    """``read_events`` of a job this process has just ended, from what the dispatcher
    recorded (no read, no thread hop)."""
    final = recorded_json(ended)
    job_event = None if final is None else sse(JOB_EVENT, final[0])
    return job_status_info(ended.record), True, job_event


async def status_events(
    service: Service,
    request: Request,
    changes: Changes,
    record: JobRecord,
    *,
    first: str | None = None,
    view: JobStatusInfo | None = None,
) -> AsyncIterator[str]:
    """The status stream of ``record``'s job, watched through ``changes`` since before
    ``record`` was read. ``first``: an event sent before the others; ``view``: ``record``'s
    status view, already made (its queue position read)."""
    job_id = record.id
    last: JobStatusInfo | None = None
    # What one pass has to say goes out as one chunk (one send through the middleware and
    # the socket): ``first`` with the first status, the ``job`` event with the final one.
    out = [] if first is None else [first]
    started = idle = service.clock.monotonic()
    known: JobRecord | None = record
    while not service.events.closing:  # a server shutting down ends its streams
        # A change since the watch began (before or after the read): the read may be old.
        stale = known is None or changes.event.is_set()
        changes.take()
        recorded = changes.recorded.pop(job_id, None)
        if recorded is not None and recorded.record.status.is_final:
            info, final, job_event = _ended_events(recorded)
        elif recorded is not None and recorded.record.status is JobStatus.RUNNING:
            info, final, job_event = job_status_info(recorded.record), False, None
        elif recorded is not None:  # queued again: its position is read
            info, final, job_event = await run_in_threadpool(
                read_events, service, job_id, recorded.record
            )
        elif known is not None and not stale and view is not None:
            info, final, job_event = view, False, None  # nothing changed since the route read
        elif known is not None and not stale and known.status is JobStatus.RUNNING:
            info, final, job_event = job_status_info(known), False, None  # nothing to add
        else:
            info, final, job_event = await run_in_threadpool(
                read_events, service, job_id, None if stale else known
            )
        known = None
        if job_event is not None:
            out.append(job_event)
        if info != last:
            last = info
            idle = service.clock.monotonic()
            out.append(sse("status", info.model_dump_json()))
        if out:
            text = "".join(out)
            yield LastChunk(text) if final else text
            out = []
        if final:
            return
        now = service.clock.monotonic()
        if now - started > STREAM_MAX_SECONDS:
            return
        if now - idle > STREAM_KEEPALIVE_SECONDS:
            idle = now
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await wait_for_event(changes.event, STREAM_POLL_SECONDS)


def wants_stream(request: Request) -> bool:
    """Whether the request asks for an event stream (``Accept: text/event-stream``)."""
    return EVENT_STREAM in request.headers.get("accept", "")
