"""The provider's exception family (the ``IBMQ*`` family of the seed, with ``OpenQX`` names).

Every HTTP failure is mapped to one of these in one place (``openqx.client.http``); the
class docstring is the default message, and structured fields (``job_id``, ``status_code``,
``code``) travel on the exception itself::

    QiskitError
    └── OpenQXError
        ├── OpenQXAccountError
        │   ├── OpenQXAccountCredentialsNotFound
        │   ├── OpenQXAccountCredentialsInvalidFormat
        │   ├── OpenQXAccountCredentialsInvalidToken
        │   ├── OpenQXAccountCredentialsInvalidUrl
        │   ├── OpenQXAccountMultipleCredentialsFound
        │   └── OpenQXProviderError
        ├── OpenQXAccountValueError
        ├── OpenQXBackendError
        │   ├── OpenQXBackendApiError
        │   │   └── OpenQXBackendApiProtocolError
        │   ├── OpenQXBackendValueError              (also ValueError)
        │   └── OpenQXBackendJobLimitError
        ├── OpenQXInputValueError                    (also ValueError)
        ├── OpenQXNotAuthorizedError
        ├── OpenQXApiError                           (the seed's experiment service; unused)
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
            └── RequestsApiError                     (no usable answer: connection failed)

``QiskitBackendNotFoundError`` (qiskit's own) is what ``get_backend`` raises for zero or
several matches, as in the seed.

Where each account error comes from: ``OpenQXAccountCredentialsInvalidFormat`` when the stored
account file cannot be read as an account; ``OpenQXAccountMultipleCredentialsFound`` when two
sources offer different credentials (``openqx.compat.ibmq``: ``QE_TOKEN`` and ``OPENQX_TOKEN``);
``OpenQXProviderError`` when ``hub``/``group``/``project`` match none or several of the
account's instances; ``OpenQXAccountValueError`` when a ``hub``/``group``/``project`` value or
combination is malformed. ``RequestsApiError`` is the request that got no answer from the server
while connecting an account.
"""

from __future__ import annotations

from typing import Any

from qiskit.exceptions import QiskitError
from qiskit.providers.exceptions import JobError, JobTimeoutError

__all__ = [
    "ApiError",
    "OpenQXAccountCredentialsInvalidFormat",
    "OpenQXAccountCredentialsInvalidToken",
    "OpenQXAccountCredentialsInvalidUrl",
    "OpenQXAccountCredentialsNotFound",
    "OpenQXAccountError",
    "OpenQXAccountMultipleCredentialsFound",
    "OpenQXAccountValueError",
    "OpenQXApiError",
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
    "OpenQXProviderError",
    "OpenQXRuntimeError",
    "RuntimeInvalidStateError",
    "RuntimeJobFailureError",
    "RuntimeJobNotFound",
    "RequestsApiError",
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


class OpenQXAccountCredentialsInvalidFormat(OpenQXAccountError):
    """The stored credentials are not in a valid format."""


class OpenQXAccountMultipleCredentialsFound(OpenQXAccountError):
    """Several different credentials were found; it is unclear which to use."""


class OpenQXProviderError(OpenQXAccountError):
    """No single instance of the account matches the given hub, group and project."""


class OpenQXAccountValueError(OpenQXError):
    """A value given for the account (hub, group, project) is not valid."""


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


class OpenQXApiError(OpenQXError):
    """An error occurred in the experiment service (kept for the seed's family; openqx has no
    experiment service, so nothing raises it)."""


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


class RequestsApiError(ApiError):
    """A request to the server got no usable answer (connection refused, timeout, proxy)."""
