"""The seed's exception family under its ``IBMQ*`` names (aliases of ``openqx.client``'s).

Each name is the openqx class itself, so ``except IBMQBackendError`` also catches what
openqx's own names raise. The tree, as in qiskit-ibmq-provider 0.20::

    QiskitError
    └── IBMQError                                   (OpenQXError)
        ├── IBMQAccountError
        │   ├── IBMQAccountCredentialsNotFound
        │   ├── IBMQAccountCredentialsInvalidFormat stored account file unreadable
        │   ├── IBMQAccountCredentialsInvalidToken
        │   ├── IBMQAccountCredentialsInvalidUrl
        │   ├── IBMQAccountMultipleCredentialsFound QE_TOKEN and OPENQX_TOKEN disagree
        │   └── IBMQProviderError                   hub/group/project match none or several
        ├── IBMQAccountValueError                   malformed hub/group/project
        ├── IBMQBackendError
        │   ├── IBMQBackendApiError
        │   │   └── IBMQBackendApiProtocolError
        │   ├── IBMQBackendValueError               (also ValueError)
        │   └── IBMQBackendJobLimitError
        ├── IBMQInputValueError                     (also ValueError)
        ├── IBMQNotAuthorizedError
        ├── IBMQApiError                            (experiment service; nothing raises it)
        ├── IBMQJobError                            (also qiskit JobError)
        │   ├── IBMQJobApiError
        │   ├── IBMQJobFailureError
        │   ├── IBMQJobInvalidStateError
        │   └── IBMQJobTimeoutError                 (also qiskit JobTimeoutError)
        ├── IBMQJobManagerError
        │   ├── IBMQJobManagerInvalidStateError
        │   ├── IBMQJobManagerTimeoutError
        │   ├── IBMQJobManagerJobNotFound
        │   ├── IBMQManagedResultDataNotAvailable
        │   └── IBMQJobManagerUnknownJobSet
        ├── QiskitRuntimeError                      (OpenQXRuntimeError)
        │   ├── RuntimeJobFailureError
        │   ├── RuntimeInvalidStateError
        │   └── RuntimeJobNotFound
        └── ApiError
            └── RequestsApiError                    no answer from the server (account calls)

Where the seed let a raw ``RequestsApiError`` out of backend and job methods, openqx raises
the backend or job error of the family instead (the seed's quirk 7).
"""

from __future__ import annotations

from openqx.client import exceptions as _exc

__all__ = [
    "ApiError",
    "IBMQAccountCredentialsInvalidFormat",
    "IBMQAccountCredentialsInvalidToken",
    "IBMQAccountCredentialsInvalidUrl",
    "IBMQAccountCredentialsNotFound",
    "IBMQAccountError",
    "IBMQAccountMultipleCredentialsFound",
    "IBMQAccountValueError",
    "IBMQApiError",
    "IBMQBackendApiError",
    "IBMQBackendApiProtocolError",
    "IBMQBackendError",
    "IBMQBackendJobLimitError",
    "IBMQBackendValueError",
    "IBMQError",
    "IBMQInputValueError",
    "IBMQJobApiError",
    "IBMQJobError",
    "IBMQJobFailureError",
    "IBMQJobInvalidStateError",
    "IBMQJobManagerError",
    "IBMQJobManagerInvalidStateError",
    "IBMQJobManagerJobNotFound",
    "IBMQJobManagerTimeoutError",
    "IBMQJobManagerUnknownJobSet",
    "IBMQJobTimeoutError",
    "IBMQManagedResultDataNotAvailable",
    "IBMQNotAuthorizedError",
    "IBMQProviderError",
    "QiskitRuntimeError",
    "RequestsApiError",
    "RuntimeInvalidStateError",
    "RuntimeJobFailureError",
    "RuntimeJobNotFound",
]

ApiError = _exc.ApiError
RequestsApiError = _exc.RequestsApiError
IBMQError = _exc.OpenQXError
IBMQAccountError = _exc.OpenQXAccountError
IBMQAccountCredentialsNotFound = _exc.OpenQXAccountCredentialsNotFound
IBMQAccountCredentialsInvalidFormat = _exc.OpenQXAccountCredentialsInvalidFormat
IBMQAccountCredentialsInvalidToken = _exc.OpenQXAccountCredentialsInvalidToken
IBMQAccountCredentialsInvalidUrl = _exc.OpenQXAccountCredentialsInvalidUrl
IBMQAccountMultipleCredentialsFound = _exc.OpenQXAccountMultipleCredentialsFound
IBMQProviderError = _exc.OpenQXProviderError
IBMQAccountValueError = _exc.OpenQXAccountValueError
IBMQApiError = _exc.OpenQXApiError
IBMQBackendError = _exc.OpenQXBackendError
IBMQBackendApiError = _exc.OpenQXBackendApiError
IBMQBackendApiProtocolError = _exc.OpenQXBackendApiProtocolError
IBMQBackendValueError = _exc.OpenQXBackendValueError
IBMQBackendJobLimitError = _exc.OpenQXBackendJobLimitError
IBMQInputValueError = _exc.OpenQXInputValueError
IBMQNotAuthorizedError = _exc.OpenQXNotAuthorizedError
IBMQJobError = _exc.OpenQXJobError
IBMQJobApiError = _exc.OpenQXJobApiError
IBMQJobFailureError = _exc.OpenQXJobFailureError
IBMQJobInvalidStateError = _exc.OpenQXJobInvalidStateError
IBMQJobTimeoutError = _exc.OpenQXJobTimeoutError
IBMQJobManagerError = _exc.OpenQXJobManagerError
IBMQJobManagerInvalidStateError = _exc.OpenQXJobManagerInvalidStateError
IBMQJobManagerTimeoutError = _exc.OpenQXJobManagerTimeoutError
IBMQJobManagerJobNotFound = _exc.OpenQXJobManagerJobNotFound
IBMQManagedResultDataNotAvailable = _exc.OpenQXManagedResultDataNotAvailable
IBMQJobManagerUnknownJobSet = _exc.OpenQXJobManagerUnknownJobSet
QiskitRuntimeError = _exc.OpenQXRuntimeError
RuntimeJobFailureError = _exc.RuntimeJobFailureError
RuntimeInvalidStateError = _exc.RuntimeInvalidStateError
RuntimeJobNotFound = _exc.RuntimeJobNotFound
