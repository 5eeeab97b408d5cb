"""The seed's names (qiskit-ibmq-provider 0.20) on openqx, so old scripts change one import.

``from openqx.compat.ibmq import IBMQ`` replaces ``from qiskit import IBMQ``; the rest of a
script written for the seed runs against an openqx server. Where the seed and openqx differ on
purpose, these names keep the seed's behaviour and ``openqx``'s own names keep openqx's:

- ``IBMQ.enable_account`` refuses a second account while one is active (``OpenQX`` replaces
  it); ``save_account`` takes the seed's positional order; ``load_account`` reads ``QE_*``.
- Backends are ``IBMQBackend``/``IBMQSimulator``: ``backend.name()`` and
  ``backend.provider()`` work as in ``BackendV1`` while ``backend.name`` stays the Qiskit
  property; ``IBMQSimulator.run`` takes ``backend_options`` and ``noise_model``.
- ``provider.backends.<name>`` works, with the seed's ``DeprecationWarning``.

``IBMQJobManager`` is ``openqx.client.JobManager``; the exception family is in
``openqx.compat.ibmq.exceptions`` (re-exported here).
"""

from __future__ import annotations

from openqx.client.job import OpenQXJob as IBMQJob
from openqx.client.job_limit import BackendJobLimit
from openqx.client.job_manager import JobManager as IBMQJobManager
from openqx.client.least_busy import least_busy
from openqx.client.managed import ManagedJobSet, ManagedResults
from openqx.client.monitor import job_monitor
from openqx.client.runner_result import RunnerResult
from openqx.client.runtime_job import RuntimeJob
from openqx.compat.ibmq.backend import BackendName, IBMQBackend, IBMQSimulator
from openqx.compat.ibmq.exceptions import (
    ApiError,
    IBMQAccountCredentialsInvalidFormat,
    IBMQAccountCredentialsInvalidToken,
    IBMQAccountCredentialsInvalidUrl,
    IBMQAccountCredentialsNotFound,
    IBMQAccountError,
    IBMQAccountMultipleCredentialsFound,
    IBMQAccountValueError,
    IBMQApiError,
    IBMQBackendApiError,
    IBMQBackendApiProtocolError,
    IBMQBackendError,
    IBMQBackendJobLimitError,
    IBMQBackendValueError,
    IBMQError,
    IBMQInputValueError,
    IBMQJobApiError,
    IBMQJobError,
    IBMQJobFailureError,
    IBMQJobInvalidStateError,
    IBMQJobManagerError,
    IBMQJobManagerInvalidStateError,
    IBMQJobManagerJobNotFound,
    IBMQJobManagerTimeoutError,
    IBMQJobManagerUnknownJobSet,
    IBMQJobTimeoutError,
    IBMQManagedResultDataNotAvailable,
    IBMQNotAuthorizedError,
    IBMQProviderError,
    QiskitRuntimeError,
    RequestsApiError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
    RuntimeJobNotFound,
)
from openqx.compat.ibmq.factory import IBMQ, IBMQFactory
from openqx.compat.ibmq.provider import AccountProvider

__all__ = [
    "AccountProvider",
    "ApiError",
    "BackendJobLimit",
    "BackendName",
    "IBMQ",
    "IBMQAccountCredentialsInvalidFormat",
    "IBMQAccountCredentialsInvalidToken",
    "IBMQAccountCredentialsInvalidUrl",
    "IBMQAccountCredentialsNotFound",
    "IBMQAccountError",
    "IBMQAccountMultipleCredentialsFound",
    "IBMQAccountValueError",
    "IBMQApiError",
    "IBMQBackend",
    "IBMQBackendApiError",
    "IBMQBackendApiProtocolError",
    "IBMQBackendError",
    "IBMQBackendJobLimitError",
    "IBMQBackendValueError",
    "IBMQError",
    "IBMQFactory",
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
    "IBMQProviderError",
    "IBMQSimulator",
    "ManagedJobSet",
    "ManagedResults",
    "QiskitRuntimeError",
    "RequestsApiError",
    "RunnerResult",
    "RuntimeInvalidStateError",
    "RuntimeJob",
    "RuntimeJobFailureError",
    "RuntimeJobNotFound",
    "job_monitor",
    "least_busy",
]
