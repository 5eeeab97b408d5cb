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
            "JobManager",
            "ManagedJob",
            "ManagedJobSet",
            "ManagedResults",
            "OpenQX",
            "OpenQXAccountCredentialsInvalidToken",
            "OpenQXAccountCredentialsInvalidUrl",
            "OpenQXAccountCredentialsNotFound",
            "OpenQXAccountError",
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
            "OpenQXRuntimeError",
            "OpenQXSimulator",
            "QueueInfo",
            "RuntimeInvalidStateError",
            "RuntimeJobFailureError",
            "RuntimeJob",
            "RuntimeJobNotFound",
            "RuntimeService",
            "RunnerResult",
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
    ibmq_errors = {
        n
        for n in names
        if n.startswith("IBMQ")
        and n.endswith(
            ("Error", "NotFound", "InvalidToken", "InvalidUrl", "NotAvailable", "UnknownJobSet")
        )
    }
    assert len(ibmq_errors) == 23
    for name in ibmq_errors:
        target = getattr(openqx.compat.ibmq, name)
        assert target is getattr(openqx.client, name.replace("IBMQ", "OpenQX", 1))
    assert openqx.compat.ibmq.IBMQ is openqx.client.OpenQX
    assert openqx.compat.ibmq.IBMQBackend is openqx.client.OpenQXBackend
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
