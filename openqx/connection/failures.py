"""What a request to an openqx server can end with instead of an answer the caller can use.

These are plain exceptions, with no qiskit base class: ``openqx.client.http`` maps each to
the provider's exception family (``openqx.client.exceptions``), ``openqx admin`` prints
them as one line.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from openqx.core import errors, wire

__all__ = [
    "CODE_FOR_STATUS",
    "NO_CODE",
    "ConnectionFailure",
    "ErrorAnswer",
    "InvalidAccountFile",
    "InvalidSetting",
    "InvalidUrl",
    "NoAnswer",
    "NotJson",
]

CODE_FOR_STATUS = {
    401: errors.AuthenticationError.code,
    403: errors.PermissionDeniedError.code,
    404: errors.NotFoundError.code,
    413: errors.PayloadTooLargeError.code,
}
"""Codes assumed for error answers that carry no openqx error body (e.g. from a proxy)."""
NO_CODE = "http_error"
"""The code of an error answer with no openqx error body and no assumed code."""
_MAX_TEXT = 500
"""Characters of a plain-text error answer kept as its message."""


class ConnectionFailure(Exception):
    """A request that did not get an answer the caller can use."""


class InvalidSetting(ConnectionFailure):
    """A connection setting (``proxies``, ``verify``) that cannot be used."""


class InvalidUrl(InvalidSetting):
    """The server URL is not a valid URL."""


class InvalidAccountFile(ConnectionFailure):
    """The stored account file cannot be read as an account."""


class NoAnswer(ConnectionFailure):
    """The request got no answer: the connection failed, or broke before the answer came.

    Attributes:
        url: the URL the request was sent to ("" when unknown).
    """

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url

    @classmethod
    def from_error(cls, error: httpx.HTTPError) -> NoAnswer:
        """The failure ``error`` (of ``httpx``) means, naming the URL it was sent to."""
        try:
            url = str(error.request.url)
        except RuntimeError:  # an error raised before it had a request
            url = ""
        return cls(f"Could not reach the openqx server at {url}: {error}", url)


class ErrorAnswer(ConnectionFailure):
    """The server answered with an error (HTTP status 400 or more). Its text is the message
    a person reads: the server's message with the status and code, or, for a refused token,
    what to check.

    Attributes:
        status: the HTTP status.
        code: the openqx error code (``openqx.core.errors``), assumed from the status when the
            answer has no openqx error body (``CODE_FOR_STATUS``, else ``NO_CODE``).
        message: the server's message (the reason phrase or the answer's text without a body).
        details: the error body's structured details (``{}`` without one).
    """

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        if code == errors.AuthenticationError.code:
            text = f"The API token was refused by the server ({message}). Check the token."
        else:
            text = f"{message} (HTTP {status}, error code: {code})"
        super().__init__(text)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @classmethod
    def from_response(cls, response: httpx.Response) -> ErrorAnswer:
        """Read an error answer that has been read to its end."""
        status = response.status_code
        code = CODE_FOR_STATUS.get(status, NO_CODE)
        message = response.reason_phrase or "error"
        details: dict[str, Any] = {}
        try:
            body = wire.ErrorBody.model_validate(response.json())
            code, message, details = body.error.code, body.error.message, body.error.details
        except (ValueError, ValidationError):
            text = response.text.strip()
            if text:
                message = text[:_MAX_TEXT]
        return cls(status, code, message, details)


class NotJson(ConnectionFailure):
    """The server's answer to a request is not JSON."""
