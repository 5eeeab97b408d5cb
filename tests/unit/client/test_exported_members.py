from __future__ import annotations

import openqx.client
import openqx.compat.ibmq


def test_client_exports_are_pinned() -> None:
    assert sorted(openqx.client.__all__) == sorted(
        [
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
            "RunnerResult",
            "RuntimeInvalidStateError",
            "RuntimeJob",
            "RuntimeJobFailureError",
            "RuntimeJobNotFound",
            "RuntimeService",
            "SamplerV2",
            "job_monitor",
            "least_busy",
        ]
    )
    for name in openqx.client.__all__:
        assert getattr(openqx.client, name) is not None
        member = getattr(openqx.client, name)
        if hasattr(member, "__module__") and not isinstance(member, str):
            assert member.__module__.startswith(("openqx.client", "openqx")), name


def test_compat_exports_are_pinned() -> None:
    names = set(openqx.compat.ibmq.__all__)
    assert {
        "IBMQ",
        "IBMQBackend",
        "IBMQSimulator",
        "IBMQJob",
        "AccountProvider",
        "BackendJobLimit",
        "least_busy",
        "job_monitor",
    } <= names
    seed_family = {
        "IBMQError",
        "IBMQAccountError",
        "IBMQAccountCredentialsNotFound",
        "IBMQAccountCredentialsInvalidFormat",
        "IBMQAccountCredentialsInvalidToken",
        "IBMQAccountCredentialsInvalidUrl",
        "IBMQAccountMultipleCredentialsFound",
        "IBMQProviderError",
        "IBMQAccountValueError",
        "IBMQBackendError",
        "IBMQBackendApiError",
        "IBMQBackendApiProtocolError",
        "IBMQBackendValueError",
        "IBMQBackendJobLimitError",
        "IBMQInputValueError",
        "IBMQNotAuthorizedError",
        "IBMQApiError",
        "IBMQJobError",
        "IBMQJobApiError",
        "IBMQJobFailureError",
        "IBMQJobInvalidStateError",
        "IBMQJobTimeoutError",
        "IBMQJobManagerError",
        "IBMQJobManagerInvalidStateError",
        "IBMQJobManagerTimeoutError",
        "IBMQJobManagerJobNotFound",
        "IBMQManagedResultDataNotAvailable",
        "IBMQJobManagerUnknownJobSet",
    }
    assert seed_family <= names
    for name in seed_family:
        target = getattr(openqx.compat.ibmq, name)
        assert target is getattr(openqx.client, name.replace("IBMQ", "OpenQX", 1))
    for name in ("ApiError", "RequestsApiError", "RuntimeJobFailureError", "RuntimeJobNotFound"):
        assert getattr(openqx.compat.ibmq, name) is getattr(openqx.client, name)
    assert openqx.compat.ibmq.QiskitRuntimeError is openqx.client.OpenQXRuntimeError
    # Own classes where the seed's behaviour differs, subclasses of openqx's.
    assert issubclass(openqx.compat.ibmq.IBMQ, openqx.client.OpenQX)
    assert issubclass(openqx.compat.ibmq.IBMQBackend, openqx.client.OpenQXBackend)
    assert issubclass(openqx.compat.ibmq.IBMQSimulator, openqx.compat.ibmq.IBMQBackend)
    assert issubclass(openqx.compat.ibmq.AccountProvider, openqx.client.AccountProvider)
    assert openqx.compat.ibmq.IBMQJob is openqx.client.OpenQXJob


def test_compat_job_manager_resolves() -> None:
    from openqx.client.job_manager import JobManager

    assert openqx.compat.ibmq.IBMQJobManager is JobManager
    assert "IBMQJobManager" in openqx.compat.ibmq.__all__
    namespace: dict[str, object] = {}
    exec("from openqx.compat.ibmq import *", namespace)
    assert namespace["IBMQJobManager"] is JobManager
    assert openqx.compat.ibmq.RuntimeJob is openqx.client.RuntimeJob
    assert openqx.compat.ibmq.ManagedJobSet is openqx.client.ManagedJobSet


def test_exception_tree() -> None:
    from qiskit.providers.exceptions import JobError, JobTimeoutError

    from openqx.client import exceptions as exc

    assert issubclass(exc.OpenQXBackendValueError, ValueError)
    assert issubclass(exc.OpenQXBackendApiProtocolError, exc.OpenQXBackendApiError)
    assert issubclass(exc.OpenQXJobError, JobError)
    assert issubclass(exc.OpenQXJobTimeoutError, JobTimeoutError)
    error = exc.OpenQXJobFailureError("boom", job_id="j1", code="x")
    assert str(error) == "boom" and error.job_id == "j1" and error.code == "x"
    assert str(exc.OpenQXJobError()) == "A job error occurred."
    assert exc.ApiError("x").status_code == -1
    assert issubclass(exc.RequestsApiError, exc.ApiError)
    assert issubclass(exc.OpenQXProviderError, exc.OpenQXAccountError)
    for cls in (
        exc.OpenQXAccountCredentialsInvalidFormat,
        exc.OpenQXAccountMultipleCredentialsFound,
    ):
        assert issubclass(cls, exc.OpenQXAccountError)
    assert not issubclass(exc.OpenQXAccountValueError, exc.OpenQXAccountError)
    assert issubclass(exc.OpenQXApiError, exc.OpenQXError)
