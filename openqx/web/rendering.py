"""Templates and the one place where dashboard pages turn errors into pages.

``PageRoute`` is the route class of every dashboard router: a domain error raised by the API
functions a page calls becomes an HTML page with the status the API would answer
(``server.errors.HTTP_STATUS``: a job that does not exist or is not visible is a 404 page), a
missing or expired session becomes the sign-in page, and a refused CSRF check a 403 page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from openqx import __version__
from openqx.core import errors
from openqx.server import permissions
from openqx.server.errors import HTTP_STATUS
from openqx.store.records import UserRecord
from openqx.web.security import CsrfError, SignInRequired

__all__ = ["PageRoute", "error_page", "render", "templates"]

TEMPLATES_DIR = Path(__file__).with_name("templates")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    # Only this server's own scripts and styles; no framing (clickjacking), forms post here.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "–"


def _percent(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _administers(user: UserRecord) -> bool:
    """Whether the user administers a unit (the Instances link)."""
    scopes = permissions.admin_scopes(user)
    return scopes is None or bool(scopes)


def _json_script(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``."""
    text = json.dumps(value, default=str).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text)  # noqa: S704 (escaped above)


templates.env.filters.update(when=_when, percent=_percent, number=_number, json_script=_json_script)
templates.env.globals.update(version=__version__, administers=_administers)


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render template ``name`` with ``context`` (plus the request)."""
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """An error page (for fragments requested by htmx, only the message)."""
    template = "fragment_error.html" if request.headers.get("hx-request") else "error.html"
    context = {"status": status, "title": title, "message": message, "signed_in": None}
    return render(request, template, context, status_code=status)


def _sign_in(request: Request, exc: SignInRequired) -> Response:
    params = {"next": exc.next_path}
    if exc.expired:
        params["expired"] = "1"
    target = "/signin?" + urlencode(params)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Not now"}


class PageRoute(APIRoute):
    """Dashboard routes: errors become pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return _sign_in(request, exc)
            except CsrfError as exc:
                return error_page(request, 403, "Form refused", str(exc))
            except errors.ServiceError as exc:
                status = next((HTTP_STATUS[c] for c in type(exc).__mro__ if c in HTTP_STATUS), 500)
                if status >= 500:
                    raise
                title = _TITLES.get(status, "Refused")
                return error_page(request, status, title, exc.message)

        return page_handler
