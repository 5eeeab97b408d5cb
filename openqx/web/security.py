"""Who is asking: the session behind the cookie, its user, and CSRF checks on every form post.

The user is loaded on every request by the hash of the token the session was opened with
(``store.user_for_token_hash``), so memberships changed since sign-in are seen at once, and a
session ends at once when its token is rotated or revoked or its user disabled: a revoked
token is refused by the dashboard as by the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request

from openqx.core import errors
from openqx.server.deps import ServiceDep
from openqx.server.service import Service
from openqx.store.records import UserRecord
from openqx.web.sessions import SESSION_COOKIE, Session, SessionStore

__all__ = [
    "CsrfError",
    "PageUser",
    "SignInRequired",
    "SignedIn",
    "read_form",
    "require_csrf",
    "sessions_of",
    "still_signed_in",
]

MAX_FORM_BYTES = 64 * 1024


class SignInRequired(Exception):  # noqa: N818 (a redirect, not an error)
    """No live session: the page answers with the sign-in page."""

    def __init__(self, next_path: str, *, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class CsrfError(Exception):
    """A state-changing form without this session's CSRF token, or from another origin."""


@dataclass(frozen=True)
class SignedIn:
    """The session and the user of a dashboard request."""

    session: Session
    user: UserRecord


def sessions_of(request: Request) -> SessionStore:
    """The app's session store (``openqx.web.install`` puts it on the app state)."""
    store: SessionStore = request.app.state.web_sessions
    return store


def _current_user(service: Service, session: Session) -> UserRecord | None:
    """The session's user while the token it was opened with is valid, else None."""
    try:
        user = service.store.user_for_token_hash(session.token_hash)
    except errors.AuthenticationError:
        return None
    return user if user.name == session.user else None


def still_signed_in(request: Request, service: Service, session: Session) -> bool:
    """Whether ``session`` is still open and its token still valid (not rotated or revoked,
    its user not disabled); an ended session is forgotten. Event streams call it before each
    event, so nothing more is sent once the session has ended (the expiry is not pushed back:
    an open stream does not keep a session alive)."""
    sessions = sessions_of(request)
    if sessions.peek(session.id) is None:
        return False
    if _current_user(service, session) is None:
        sessions.close(session.id)
        return False
    return True


def page_user(request: Request, service: ServiceDep) -> SignedIn:
    """The signed-in user, or ``SignInRequired`` (the sign-in page, saying when a session
    has expired)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session = sessions_of(request).get(cookie)
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if session is None:
        raise SignInRequired(next_path, expired=cookie is not None)
    user = _current_user(service, session)
    if user is None:
        sessions_of(request).close(session.id)
        raise SignInRequired(next_path, expired=True)
    return SignedIn(session, user)


PageUser = Annotated[SignedIn, Depends(page_user)]


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST (last value of each field), bounded in size."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise errors.PayloadTooLargeError("The form is too large.")
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def require_csrf(request: Request, form: dict[str, str], session: Session | None) -> None:
    """Refuse a form post from another origin, or (for a session) without its CSRF token.

    Raises:
        CsrfError: the post is refused.
    """
    if not _same_origin(request):
        raise CsrfError("The form came from another site.")
    if session is not None and not session.csrf_matches(form.get("csrf")):
        raise CsrfError("The form is out of date or was not sent by this dashboard.")
