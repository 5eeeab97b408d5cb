"""Sign in with an API token, sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from openqx.core import errors
from openqx.core.ids import hash_token
from openqx.server.deps import ServiceDep
from openqx.web.rendering import PageRoute, render
from openqx.web.security import PageUser, read_form, require_csrf, sessions_of
from openqx.web.sessions import SESSION_COOKIE, SESSION_SECONDS

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no ``//host`` or scheme): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/jobs"
    return target


@router.get("/")
def home() -> Response:
    """The jobs page."""
    return RedirectResponse("/jobs", status_code=303)


@router.get("/signin")
def sign_in_page(request: Request, next: str = "/jobs", expired: str = "") -> Response:
    """The sign-in form (saying so when a session has expired)."""
    message = (
        "Your session has expired or its token was changed; sign in again." if expired else None
    )
    return render(
        request,
        "signin.html",
        {"next": _safe_next(next), "notice": message, "problem": None, "signed_in": None},
    )


@router.post("/signin")
async def sign_in(request: Request, service: ServiceDep) -> Response:
    """Check the token as the API does; on success open a session and set its cookie."""
    form = await read_form(request)
    require_csrf(request, form, None)
    target = _safe_next(form.get("next"))
    token = form.get("token", "").strip()
    problem = None
    if not token:
        problem = "Enter your API token."
    else:
        try:
            user = service.store.user_for_token(token)
        except errors.AuthenticationError:
            problem = "That token is not valid (or its user is disabled)."
    if problem is not None:
        context = {"next": target, "notice": None, "problem": problem, "signed_in": None}
        return render(request, "signin.html", context, status_code=401)
    session = sessions_of(request).open(user.name, hash_token(token))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=int(SESSION_SECONDS),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/signout")
async def sign_out(request: Request, signed_in: PageUser) -> Response:
    """End the session and forget its cookie."""
    form = await read_form(request)
    require_csrf(request, form, signed_in.session)
    sessions_of(request).close(signed_in.session.id)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
