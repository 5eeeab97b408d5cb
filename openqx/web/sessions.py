"""Dashboard sessions: an opaque random id in an HttpOnly cookie, the rest kept on the server.

A session holds the user's name, a CSRF token, an expiry on the service's clock and the hash
of the API token it was opened with (``core.ids.hash_token``, as the store keeps it; never the
token). The token is checked at sign-in by the same ``store.user_for_token`` the API uses, and
its hash on every request (``store.user_for_token_hash``), so a token rotated or revoked, or a
user disabled, ends the session at once. Sessions live in this process: with several server
replicas behind a load balancer, use sticky sessions (or sign in again on another replica).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from openqx.core.clock import Clock

__all__ = ["SESSION_COOKIE", "SESSION_SECONDS", "Session", "SessionStore"]

SESSION_COOKIE = "openqx_session"
SESSION_SECONDS = 8 * 3600.0
"""A session ends this long after it was last used (sliding expiry)."""
MAX_SESSIONS = 10_000
"""Sessions kept at most; the oldest go first."""


@dataclass
class Session:
    """One signed-in browser.

    Attributes:
        id: the opaque cookie value (256 random bits).
        user: the user's name.
        csrf: the token every state-changing form must echo.
        expires_at: when the session ends unless used again.
        token_hash: the hash of the API token the session was opened with (never the token).
    """

    id: str
    user: str
    csrf: str
    expires_at: datetime
    token_hash: str = field(repr=False)

    def csrf_matches(self, sent: str | None) -> bool:
        """Whether ``sent`` is this session's CSRF token (constant-time comparison)."""
        return sent is not None and hmac.compare_digest(sent, self.csrf)


class SessionStore:
    """Thread-safe sessions with server-side expiry on ``clock``."""

    def __init__(self, clock: Clock, *, lifetime_seconds: float = SESSION_SECONDS) -> None:
        self._clock = clock
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def open(self, user: str, token_hash: str) -> Session:
        """A new session for ``user``, opened with the token of hash ``token_hash``."""
        session = Session(
            id=secrets.token_urlsafe(32),
            user=user,
            csrf=secrets.token_urlsafe(32),
            expires_at=self._clock.now() + self._lifetime,
            token_hash=token_hash,
        )
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.expires_at)
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of that id, its expiry pushed back; None when unknown or expired
        (an expired one is forgotten)."""
        if not session_id:
            return None
        now = self._clock.now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.expires_at <= now:
                del self._sessions[session_id]
                return None
            session.expires_at = now + self._lifetime
            return session

    def peek(self, session_id: str | None) -> Session | None:
        """The live session of that id without pushing its expiry back (a long-lived event
        stream checks with it that its session has not ended, without keeping it alive)."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.expires_at <= self._clock.now():
            return None
        return session

    def close(self, session_id: str | None) -> None:
        """End a session (sign out); unknown ids are ignored."""
        if session_id:
            with self._lock:
                self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
