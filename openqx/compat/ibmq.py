"""The seed's ``IBMQ*`` names as aliases of the openqx client classes.

``from openqx.compat.ibmq import IBMQ`` lets code written for qiskit-ibmq-provider 0.20 run
against an openqx server after changing the import (``IBMQ.enable_account(token, url)``).
``IBMQJobManager`` is ``openqx.client.JobManager``.
"""

from __future__ import annotations

from openqx.client import exceptions as _exc
from openqx.client.account import OpenQX as IBMQ
from openqx.client.backend import OpenQXBackend as IBMQBackend
from openqx.client.backend import OpenQXSimulator as IBMQSimulator
from openqx.client.job import OpenQXJob as IBMQJob
from openqx.client.job_limit import BackendJobLimit
from openqx.client.job_manager import JobManager as IBMQJobManager
from openqx.client.least_busy import least_busy
from openqx.client.managed import ManagedJobSet, ManagedResults
from openqx.client.monitor import job_monitor
from openqx.client.provider import AccountProvider
from openqx.client.runner_result import RunnerResult
from openqx.client.runtime_job import RuntimeJob

__all__ = [
    "AccountProvider",
    "ApiError",
    "BackendJobLimit",
    "IBMQ",
    "IBMQAccountCredentialsInvalidToken",
    "IBMQAccountCredentialsInvalidUrl",
    "IBMQAccountCredentialsNotFound",
    "IBMQAccountError",
    "IBMQBackend",
    "IBMQBackendApiError",
    "IBMQBackendApiProtocolError",
    "IBMQBackendError",
    "IBMQBackendJobLimitError",
    "IBMQBackendValueError",
    "IBMQError",
    "IBMQInputValueError",
    "IBMQJob",
    "IBMQJobApiError",
    "IBMQJobError",
    "IBMQJobFailureError",
    "IBMQJobInvalidStateError",
    "IBMQJobManager",
    "IBMQJobManagerError",
    "IBMQJobManagerInvalidStateError",
    "IBMQJobManagerJobNotFound",
    "IBMQJobManagerTimeoutError",
    "IBMQJobManagerUnknownJobSet",
    "IBMQJobTimeoutError",
    "IBMQManagedResultDataNotAvailable",
    "IBMQNotAuthorizedError",
    "IBMQSimulator",
    "ManagedJobSet",
    "ManagedResults",
    "RunnerResult",
    "RuntimeJob",
    "RuntimeInvalidStateError",
    "RuntimeJobFailureError",
    "RuntimeJobNotFound",
    "job_monitor",
    "least_busy",
]

ApiError = _exc.ApiError
IBMQError = _exc.OpenQXError
IBMQAccountError = _exc.OpenQXAccountError
IBMQAccountCredentialsNotFound = _exc.OpenQXAccountCredentialsNotFound
IBMQAccountCredentialsInvalidToken = _exc.OpenQXAccountCredentialsInvalidToken
IBMQAccountCredentialsInvalidUrl = _exc.OpenQXAccountCredentialsInvalidUrl
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
RuntimeJobFailureError = _exc.RuntimeJobFailureError
RuntimeInvalidStateError = _exc.RuntimeInvalidStateError
RuntimeJobNotFound = _exc.RuntimeJobNotFound
