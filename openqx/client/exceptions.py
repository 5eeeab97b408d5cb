"""The provider's exception family (the ``IBMQ*`` family of the seed, with ``OpenQX`` names).

Every HTTP failure is mapped to one of these in one place (``openqx.client.http``); the
class docstring is the default message, and structured fields (``job_id``, ``status_code``,
``code``) travel on the exception itself::

    QiskitError
    └── OpenQXError
        ├── OpenQXAccountError
        │   ├── OpenQXAccountCredentialsNotFound
        │   ├── OpenQXAccountCredentialsInvalidToken
        │   └── OpenQXAccountCredentialsInvalidUrl
        ├── OpenQXBackendError
        │   ├── OpenQXBackendApiError
        │   │   └── OpenQXBackendApiProtocolError
        │   ├── OpenQXBackendValueError              (also ValueError)
        │   └── OpenQXBackendJobLimitError
        ├── OpenQXInputValueError                    (also ValueError)
        ├── OpenQXNotAuthorizedError
        ├── OpenQXJobError                           (also qiskit JobError)
        │   ├── OpenQXJobApiError
        │   ├── OpenQXJobFailureError
        │   ├── OpenQXJobInvalidStateError
        │   └── OpenQXJobTimeoutError                (also qiskit JobTimeoutError)
        ├── OpenQXJobManagerError
        │   ├── OpenQXJobManagerInvalidStateError
        │   ├── OpenQXJobManagerTimeoutError
        │   ├── OpenQXJobManagerJobNotFound
        │   ├── OpenQXManagedResultDataNotAvailable
        │   └── OpenQXJobManagerUnknownJobSet
        ├── OpenQXRuntimeError
        │   ├── RuntimeJobFailureError
        │   ├── RuntimeInvalidStateError
        │   └── RuntimeJobNotFound
        └── ApiError                                 (status_code, code)

``QiskitBackendNotFoundError`` (qiskit's own) is what ``get_backend`` raises for zero or
several matches, as in the seed.
"""

from __future__ import annotations

from typing import Any

from qiskit.exceptions import QiskitError
from qiskit.providers.exceptions import JobError, JobTimeoutError

__all__ = [
    "ApiError",
    "OpenQXAccountCredentialsInvalidToken",
    "OpenQXAccountCredentialsInvalidUrl",
    "OpenQXAccountCredentialsNotFound",
    "OpenQXAccountError",
    "OpenQXBackendApiError",
    "OpenQXBackendApiProtocolError",
    "OpenQXBackendError",
    "OpenQXBackendJobLimitError",
    "OpenQXBackendValueError",
    "OpenQXError",
    "OpenQXInputValueError",
    "OpenQXJobApiError",
    "OpenQXJobError",
    "OpenQXJobFailureError",
    "OpenQXJobInvalidStateError",
    "OpenQXJobManagerError",
    "OpenQXJobManagerInvalidStateError",
    "OpenQXJobManagerJobNotFound",
    "OpenQXJobManagerTimeoutError",
    "OpenQXJobManagerUnknownJobSet",
    "OpenQXJobTimeoutError",
    "OpenQXManagedResultDataNotAvailable",
    "OpenQXNotAuthorizedError",
    "OpenQXRuntimeError",
    "RuntimeInvalidStateError",
    "RuntimeJobFailureError",
    "RuntimeJobNotFound",
]


class OpenQXError(QiskitError):  # type: ignore[misc]
    """An error occurred in the openqx provider.

    Attributes:
        message: the human-readable message.
        job_id: the job concerned, when there is one.
        status_code: the HTTP status that caused the error, when there is one.
        code: the server's error code (``openqx.core.errors``), when there is one.
    """

    def __init__(
        self,
        *message: str,
        job_id: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        **details: Any,
    ) -> None:
        if not message:
            message = ((type(self).__doc__ or type(self).__name__).strip().splitlines()[0],)
        super().__init__(*message)
        self.job_id = job_id
        self.status_code = status_code
        self.code = code
        self.details = details

    def __str__(self) -> str:
        return str(self.message)


# --- accounts -------------------------------------------------------------------------


class OpenQXAccountError(OpenQXError):
    """An account-related error occurred."""


class OpenQXAccountCredentialsNotFound(OpenQXAccountError):
    """No openqx credentials were found."""


class OpenQXAccountCredentialsInvalidToken(OpenQXAccountError):
    """The API token is not valid."""


class OpenQXAccountCredentialsInvalidUrl(OpenQXAccountError):
    """The URL does not point to an openqx server."""


# --- backends -------------------------------------------------------------------------


class OpenQXBackendError(OpenQXError):
    """A backend error occurred."""


class OpenQXBackendApiError(OpenQXBackendError):
    """An unexpected error occurred while talking to the server about a backend."""


class OpenQXBackendApiProtocolError(OpenQXBackendApiError):
    """An unexpected value was received from the server."""


class OpenQXBackendValueError(OpenQXBackendError, ValueError):
    """A value passed to a backend method is not valid."""


class OpenQXBackendJobLimitError(OpenQXBackendError):
    """The maximum number of active jobs on this backend is reached."""


class OpenQXInputValueError(OpenQXError, ValueError):
    """An input value is not valid."""


class OpenQXNotAuthorizedError(OpenQXError):
    """The account is not authorized to use this service."""


# --- jobs -----------------------------------------------------------------------------


class OpenQXJobError(OpenQXError, JobError):  # type: ignore[misc]
    """A job error occurred."""


class OpenQXJobApiError(OpenQXJobError):
    """An unexpected error occurred while talking to the server about a job."""


class OpenQXJobFailureError(OpenQXJobError):
    """The job failed."""


class OpenQXJobInvalidStateError(OpenQXJobError):
    """The job is not in a state that allows this operation."""


class OpenQXJobTimeoutError(OpenQXJobError, JobTimeoutError):  # type: ignore[misc]
    """Timed out while waiting for the job."""


# --- job manager ----------------------------------------------------------------------


class OpenQXJobManagerError(OpenQXError):
    """A job manager error occurred."""


class OpenQXJobManagerInvalidStateError(OpenQXJobManagerError):
    """The job manager or job set is not in a state that allows this operation."""


class OpenQXJobManagerTimeoutError(OpenQXJobManagerError):
    """Timed out while waiting for the job set."""


class OpenQXJobManagerJobNotFound(OpenQXJobManagerError):
    """The job was not found in the job set."""


class OpenQXManagedResultDataNotAvailable(OpenQXJobManagerError):
    """The result data is not available."""


class OpenQXJobManagerUnknownJobSet(OpenQXJobManagerError):
    """No job carries this job set id."""


# --- runtime --------------------------------------------------------------------------


class OpenQXRuntimeError(OpenQXError):
    """A runtime service error occurred."""


class RuntimeJobFailureError(OpenQXRuntimeError):
    """The runtime job failed."""


class RuntimeInvalidStateError(OpenQXRuntimeError):
    """The runtime job is not in a state that allows this operation."""


class RuntimeJobNotFound(OpenQXRuntimeError):
    """The runtime job was not found."""


# --- transport ------------------------------------------------------------------------


class ApiError(OpenQXError):
    """The server answered with an error or could not be reached.

    ``status_code`` is ``-1`` when no HTTP answer came (connection failure).
    """

    def __init__(
        self,
        *message: str,
        status_code: int | None = -1,
        code: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*message, status_code=status_code, code=code, **kwargs)
