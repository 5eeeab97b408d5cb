"""openqx.client: the provider SDK (accounts, backends, jobs), an IBM-Quantum-style API.

Implementation lives in the submodules; this namespace is the public surface.
"""

from __future__ import annotations

from openqx.client.account import DEFAULT_URL, OpenQX
from openqx.client.backend import UNSET, OpenQXBackend, OpenQXSimulator
from openqx.client.backend_service import BackendService
from openqx.client.exceptions import (
    ApiError,
    OpenQXAccountCredentialsInvalidFormat,
    OpenQXAccountCredentialsInvalidToken,
    OpenQXAccountCredentialsInvalidUrl,
    OpenQXAccountCredentialsNotFound,
    OpenQXAccountError,
    OpenQXAccountMultipleCredentialsFound,
    OpenQXAccountValueError,
    OpenQXApiError,
    OpenQXBackendApiError,
    OpenQXBackendApiProtocolError,
    OpenQXBackendError,
    OpenQXBackendJobLimitError,
    OpenQXBackendValueError,
    OpenQXError,
    OpenQXInputValueError,
    OpenQXJobApiError,
    OpenQXJobError,
    OpenQXJobFailureError,
    OpenQXJobInvalidStateError,
    OpenQXJobManagerError,
    OpenQXJobManagerInvalidStateError,
    OpenQXJobManagerJobNotFound,
    OpenQXJobManagerTimeoutError,
    OpenQXJobManagerUnknownJobSet,
    OpenQXJobTimeoutError,
    OpenQXManagedResultDataNotAvailable,
    OpenQXNotAuthorizedError,
    OpenQXProviderError,
    OpenQXRuntimeError,
    RequestsApiError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
    RuntimeJobNotFound,
)
from openqx.client.http import ApiClient
from openqx.client.job import OpenQXJob
from openqx.client.job_limit import BackendJobLimit
from openqx.client.job_manager import JobManager
from openqx.client.least_busy import least_busy
from openqx.client.managed import ManagedJob, ManagedJobSet, ManagedResults
from openqx.client.monitor import job_monitor
from openqx.client.primitives import EstimatorV2, PrimitiveJob, SamplerV2
from openqx.client.provider import AccountProvider
from openqx.client.queue_info import QueueInfo
from openqx.client.runner_result import RunnerResult
from openqx.client.runtime import RuntimeService
from openqx.client.runtime_job import RuntimeJob

__all__ = [
    "DEFAULT_URL",
    "UNSET",
    "AccountProvider",
    "ApiClient",
    "ApiError",
    "BackendJobLimit",
    "BackendService",
    "EstimatorV2",
    "JobManager",
    "ManagedJob",
    "ManagedJobSet",
    "ManagedResults",
    "OpenQX",
    "OpenQXAccountCredentialsInvalidFormat",
    "OpenQXAccountCredentialsInvalidToken",
    "OpenQXAccountCredentialsInvalidUrl",
    "OpenQXAccountCredentialsNotFound",
    "OpenQXAccountError",
    "OpenQXAccountMultipleCredentialsFound",
    "OpenQXAccountValueError",
    "OpenQXApiError",
    "OpenQXBackend",
    "OpenQXBackendApiError",
    "OpenQXBackendApiProtocolError",
    "OpenQXBackendError",
    "OpenQXBackendJobLimitError",
    "OpenQXBackendValueError",
    "OpenQXError",
    "OpenQXInputValueError",
    "OpenQXJob",
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
    "OpenQXSimulator",
    "PrimitiveJob",
    "QueueInfo",
    "RequestsApiError",
    "RuntimeInvalidStateError",
    "RuntimeJobFailureError",
    "RuntimeJob",
    "RuntimeJobNotFound",
    "RuntimeService",
    "RunnerResult",
    "SamplerV2",
    "job_monitor",
    "least_busy",
]
