"""Domain errors shared by the store, scheduler, execution and server layers.

Each error has a stable ``code`` string that travels in HTTP error bodies
(``{"error": {"code": ..., "message": ...}}``). The server maps the classes to HTTP statuses
in one table (``openqx.server.errors``); the client turns a received code back into its class
with ``error_class_for_code`` and maps the class to the provider's exception family in one
table (``openqx.client.http.EXCEPTION_FOR_ERROR``).

    ServiceError                      code "internal"
    ├── InvalidInputError            code "invalid_input"        (bad parameter value)
    │   ├── InvalidCircuitError      code "invalid_circuit"      (not valid for the target)
    │   └── InvalidFilterError       code "invalid_filter"       (bad jobs() filter / db_filter)
    ├── PayloadTooLargeError         code "payload_too_large"
    ├── AuthenticationError          code "unauthenticated"      (missing or wrong token)
    ├── PermissionDeniedError        code "permission_denied"
    ├── NotFoundError                code "not_found"
    │   ├── JobNotFoundError         code "job_not_found"
    │   ├── BackendNotFoundError     code "backend_not_found"
    │   └── JobSetNotFoundError      code "job_set_not_found"
    ├── JobLimitReachedError         code "job_limit_reached"
    ├── InvalidStateError            code "invalid_state"        (e.g. result of a cancelled job)
    ├── ResultNotAvailableError      code "result_not_available"
    └── StatementTimeoutError        code "statement_timeout"    (a query over its time budget)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthenticationError",
    "BackendNotFoundError",
    "InvalidCircuitError",
    "InvalidFilterError",
    "InvalidInputError",
    "InvalidStateError",
    "JobLimitReachedError",
    "JobNotFoundError",
    "JobSetNotFoundError",
    "NotFoundError",
    "ServiceError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ResultNotAvailableError",
    "StatementTimeoutError",
    "error_class_for_code",
]


class ServiceError(Exception):
    """An internal error occurred."""

    code: ClassVar[str] = "internal"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details
        super().__init__(self.message)


class InvalidInputError(ServiceError):
    """A parameter value is not valid."""

    code = "invalid_input"


class InvalidCircuitError(InvalidInputError):
    """A circuit is not valid for the backend's target; transpile it first."""

    code = "invalid_circuit"


class InvalidFilterError(InvalidInputError):
    """A job filter is not valid."""

    code = "invalid_filter"


class PayloadTooLargeError(ServiceError):
    """The request payload is larger than the server accepts."""

    code = "payload_too_large"


class AuthenticationError(ServiceError):
    """The API token is missing or not valid."""

    code = "unauthenticated"


class PermissionDeniedError(ServiceError):
    """The account may not do this."""

    code = "permission_denied"


class NotFoundError(ServiceError):
    """The requested object does not exist."""

    code = "not_found"


class JobNotFoundError(NotFoundError):
    """The job does not exist or is not visible to this account."""

    code = "job_not_found"

    def __init__(self, job_id: str, message: str | None = None) -> None:
        self.job_id = job_id
        super().__init__(message or f"Job {job_id} not found.", job_id=job_id)


class BackendNotFoundError(NotFoundError):
    """The backend does not exist."""

    code = "backend_not_found"

    def __init__(self, name: str, message: str | None = None) -> None:
        self.backend_name = name
        super().__init__(message or f"Backend {name!r} not found.", backend=name)


class JobSetNotFoundError(NotFoundError):
    """No job carries this job-set id."""

    code = "job_set_not_found"


class JobLimitReachedError(ServiceError):
    """The maximum number of active jobs on this backend is reached."""

    code = "job_limit_reached"


class InvalidStateError(ServiceError):
    """The job is not in a state that allows this operation."""

    code = "invalid_state"


class ResultNotAvailableError(ServiceError):
    """The job has no result (yet)."""

    code = "result_not_available"


class StatementTimeoutError(ServiceError):
    """A database statement ran past its time budget and was stopped; narrow the request."""

    code = "statement_timeout"


_BY_CODE: dict[str, type[ServiceError]] = {}


def _register(cls: type[ServiceError]) -> None:
    _BY_CODE[cls.code] = cls
    for sub in cls.__subclasses__():
        _register(sub)


_register(ServiceError)


def error_class_for_code(code: str) -> type[ServiceError]:
    """Return the error class for a wire ``code`` (``ServiceError`` when unknown)."""
    return _BY_CODE.get(code, ServiceError)
