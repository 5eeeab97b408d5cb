"""Failed-authentication throttling: a pure ASGI middleware.

Each answer 401 (missing, wrong, revoked token, disabled user) counts one failure against the
client's address. Once an address has ``max_failures`` failures within ``window_seconds``,
every request from it is answered 429 (``too_many_requests``) with ``Retry-After`` until the
oldest of those failures leaves the window, so tokens cannot be guessed by brute force.
Requests that authenticate add nothing and wait for nothing; only a dictionary lookup per
request. Time comes from the service's clock, so tests move it with ``ManualClock``.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.server.errors import error_response

__all__ = ["MAX_FAILURES", "TOO_MANY_REQUESTS", "WINDOW_SECONDS", "AuthThrottle"]

MAX_FAILURES = 100
"""Failed authentications allowed per address within ``WINDOW_SECONDS``."""
WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 100_000
"""Addresses remembered at most; beyond, those without recent failures are forgotten."""
TOO_MANY_REQUESTS = "too_many_requests"


class AuthThrottle:
    """Answer 429 with ``Retry-After`` to an address with too many failed authentications."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        clock: Clock = SYSTEM_CLOCK,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.app = app
        self.clock = clock
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> float | None:
        """Seconds until ``address`` may try again (None: it is not throttled)."""
        now = self.clock.monotonic()
        with self._lock:
            failures = self._failures.get(address)
            if failures is None:
                return None
            while failures and failures[0] <= now - self.window_seconds:
                failures.popleft()
            if not failures:
                del self._failures[address]
                return None
            if len(failures) < self.max_failures:
                return None
            return failures[0] + self.window_seconds - now

    def _fail(self, address: str) -> None:
        now = self.clock.monotonic()
        with self._lock:
            if address not in self._failures and len(self._failures) >= MAX_ADDRESSES:
                self._forget_old(now)
            failures = self._failures.setdefault(address, deque())
            failures.append(now)
            while len(failures) > self.max_failures:
                failures.popleft()

    def _forget_old(self, now: float) -> None:
        stale = [a for a, f in self._failures.items() if f[-1] <= now - self.window_seconds]
        for address in stale or list(self._failures)[: MAX_ADDRESSES // 10]:
            del self._failures[address]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        wait = self.retry_after(address)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            refusal = error_response(
                429,
                TOO_MANY_REQUESTS,
                f"Too many failed authentications from this address; retry in {seconds} s.",
                retry_after=seconds,
            )
            refusal.headers["Retry-After"] = str(seconds)
            await refusal(scope, receive, send)
            return

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self._fail(address)
            await send(message)

        await self.app(scope, receive, observed_send)
