"""A pure ASGI middleware that refuses request bodies over a size limit with a clear 413."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openqx.core.errors import PayloadTooLargeError
from openqx.server.errors import error_response

__all__ = ["BodySizeLimit"]


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Answer 413 (``payload_too_large``) when a body exceeds ``max_bytes``, whether the client
    declared its length or streams it chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                # The framework may turn the cut-off body into its own error answer (FastAPI
                # answers 400 "error parsing the body"); the 413 below replaces it.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        if too_large and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        mib = self.max_bytes / 2**20
        refusal = error_response(
            413,
            PayloadTooLargeError.code,
            f"Request body exceeds the limit of {mib:g} MiB; split the circuits into several jobs.",
            max_bytes=self.max_bytes,
        )
        await refusal(scope, receive, send)
