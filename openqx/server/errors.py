"""One table from domain errors to HTTP answers; nothing else in the server picks statuses.

Domain errors, request validation and HTTP errors are answered by exception handlers
(``install_error_handlers``). Anything else a request raises is answered by ``CatchAll``, a
pure ASGI middleware the app puts outside its own: it logs the error once, with its traceback,
and answers the usual JSON body with status 500, so the client's connection stays open.
(Starlette would run an ``Exception`` handler in its outermost middleware, which answers and
then re-raises: the server logs the traceback a second time and drops the connection.)
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openqx.core import errors
from openqx.core.wire import ErrorBody, ErrorInfo

__all__ = [
    "HTTP_STATUS",
    "MAX_MESSAGE_CHARACTERS",
    "CatchAll",
    "error_response",
    "install_error_handlers",
]

logger = logging.getLogger(__name__)

HTTP_STATUS: dict[type[errors.ServiceError], int] = {
    errors.InvalidInputError: 400,
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.NotFoundError: 404,
    errors.InvalidStateError: 409,
    errors.ResultNotAvailableError: 409,
    errors.PayloadTooLargeError: 413,
    errors.JobLimitReachedError: 429,
    errors.StatementTimeoutError: 503,
}


def _status_for(exc: errors.ServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]  # type: ignore[index]
    return 500


def error_response(status: int, code: str, message: str, /, **details: object) -> JSONResponse:
    """A JSON error answer in the shape every client expects.

    The first three parameters are positional-only, so a detail may be called ``status``
    (``InvalidStateError(..., status="CANCELLED")``) without clashing with them.
    """
    body = ErrorBody(
        error=ErrorInfo(
            code=code, message=_printable(_bounded(message)), details=_encodable(dict(details))
        )
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


_ECHO_LIMIT = 80  # longest bad value repeated in a message
_DETAIL_DEPTH = 8  # deeper detail values are shown as text


MAX_MESSAGE_CHARACTERS = 2000
"""Longest error message answered: a message that quotes the request's own value (a 30,000-item
filter list) is cut there, with the count of what was left out."""


def _printable(text: str) -> str:
    """``text`` as UTF-8 can carry it: unpaired surrogates become ``\\udxxx`` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARACTERS:
        return message
    left_out = len(message) - MAX_MESSAGE_CHARACTERS
    return f"{message[:MAX_MESSAGE_CHARACTERS]}… ({left_out} more characters)"


def _encodable(value: object, depth: int = 0) -> Any:
    """A detail value an error answer can always encode (strict JSON, UTF-8): bad text
    escaped, non-finite numbers and other objects as text, nesting bounded."""
    if isinstance(value, str):
        return _printable(value)
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth < _DETAIL_DEPTH and isinstance(value, dict):
        return {_printable(str(k)): _encodable(v, depth + 1) for k, v in value.items()}
    if depth < _DETAIL_DEPTH and isinstance(value, list | tuple):
        return [_encodable(v, depth + 1) for v in value]
    return _printable(repr(value)[:_ECHO_LIMIT])


def _describe_validation(exc: RequestValidationError) -> str:
    """One line per problem: where, what is wrong, and the bad value when it is short."""
    parts = []
    for err in exc.errors():
        location = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        part = f"{location or 'body'}: {err.get('msg', 'invalid value')}"
        value = err.get("input")
        if isinstance(value, str | int | float) and len(repr(value)) <= _ECHO_LIMIT:
            part += f" (got {value!r})"
        parts.append(part)
    return "Invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: domain errors, request validation, HTTP errors (the rest is
    ``CatchAll``'s)."""

    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.ServiceError)
        status = _status_for(exc)
        if status >= 500:
            logger.error("request failed", exc_info=exc, extra={"action": "request_failed"})
        return error_response(status, exc.code, exc.message, **exc.details)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(400, errors.InvalidInputError.code, _describe_validation(exc))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(
            exc.status_code, "http_error"
        )
        message = str(exc.detail)
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "The request body is not valid JSON, or it is nested too deeply."
        return error_response(exc.status_code, code, message)

    app.add_exception_handler(errors.ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


_NOT_CAUGHT = (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError)
"""What ``CatchAll`` lets through: the process or the task is being stopped."""


class CatchAll:
    """Answer any other error a request raises with a JSON 500, logged once.

    Catches ``BaseException`` (a Rust ``PanicException`` from pyo3 is not an ``Exception``)
    except ``_NOT_CAUGHT``. An error after the answer has started is re-raised: the server
    can only drop the connection then.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except _NOT_CAUGHT:
            raise
        except BaseException as exc:
            if started:
                raise
            _log_unexpected(scope, exc)
            answer = error_response(500, "internal", "Internal server error; see the server log.")
            await answer(scope, receive, send)


def _log_unexpected(scope: Scope, exc: BaseException) -> None:
    path_params = scope.get("path_params") or {}
    logger.error(
        "unexpected error in %s %s",
        scope.get("method", ""),
        scope.get("path", ""),
        exc_info=exc,
        extra={
            "action": "request_failed",
            "method": scope.get("method"),
            "path": scope.get("path"),
            "job_id": path_params.get("job_id"),
        },
    )
