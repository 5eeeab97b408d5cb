"""``WatchedStream`` sends a status stream's ``LastChunk`` with the end of the body (one ASGI
message, one write), and ends a stream without one as Starlette does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from openqx.server.status_stream import LastChunk, WatchedStream


async def _chunks(*chunks: str) -> AsyncIterator[str]:
    for chunk in chunks:
        yield chunk


def _bodies(*chunks: str) -> tuple[list[tuple[bytes, bool]], bool]:
    """The body messages ``WatchedStream`` sends for ``chunks`` (body, more_body), and
    whether it ended the job's watch."""
    sent: list[MutableMapping[str, Any]] = []
    watch = contextlib.ExitStack()
    ended: list[bool] = []
    watch.callback(lambda: ended.append(True))

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.disconnect"}

    stream = WatchedStream(_chunks(*chunks), watch)
    asyncio.run(stream({"type": "http"}, receive, send))
    assert sent[0]["type"] == "http.response.start"
    return [(m["body"], m["more_body"]) for m in sent[1:]], bool(ended)


def test_the_last_chunk_goes_with_the_end_of_the_body() -> None:
    bodies, ended = _bodies("event: status\n\n", LastChunk("event: job\n\n"))

    assert bodies == [(b"event: status\n\n", True), (b"event: job\n\n", False)]
    assert ended


def test_a_stream_without_a_last_chunk_ends_with_an_empty_body() -> None:
    bodies, ended = _bodies("event: status\n\n", ": keep-alive\n\n")

    assert bodies == [
        (b"event: status\n\n", True),
        (b": keep-alive\n\n", True),
        (b"", False),
    ]
    assert ended
