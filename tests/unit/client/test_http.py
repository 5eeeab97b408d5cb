from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from openqx.client import ApiClient
from openqx.client import exceptions as exc
from openqx.client.http import Context, _sse_events
from openqx.core import errors, wire
from tests.unit.client.conftest import FakeServer


def test_headers(api: ApiClient, server: FakeServer) -> None:
    api.account()
    request = server.requests[-1]
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert "openqx-client/" in request.headers["User-Agent"]
    assert "qiskit/" in request.headers["User-Agent"]


def test_retry_idempotent_on_503(api: ApiClient, server: FakeServer) -> None:
    server.fail_next = [503, 502]
    assert api.backend_status("ibmq_manila").operational
    assert len(server.requests) == 3


def test_retries_exhausted(api: ApiClient, server: FakeServer) -> None:
    server.fail_next = [503] * 10
    with pytest.raises(exc.OpenQXBackendApiError, match="temporarily unavailable") as info:
        api.backends()
    assert info.value.status_code == 503
    assert len(server.requests) == 4


def test_submit_not_retried_after_sending(api: ApiClient, server: FakeServer) -> None:
    server.fail_next = [503]
    submission = wire.JobSubmission(backend="ibmq_manila", qpy="")
    with pytest.raises(exc.OpenQXBackendApiError):
        api.submit_job(submission)
    assert len(server.requests) == 1


def test_submit_retried_on_connect_error(server: FakeServer) -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return server.handler(request)

    with ApiClient(
        "http://x", "secret-token", transport=httpx.MockTransport(handler), backoff_factor=0
    ) as api:
        info = api.submit_job(wire.JobSubmission(backend="ibmq_manila", qpy=""))
    assert info.status.value == "QUEUED" and len(attempts) == 2


def test_read_error_on_submit_not_retried(server: FakeServer) -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with ApiClient(
        "http://x", "secret-token", transport=httpx.MockTransport(handler), backoff_factor=0
    ) as api:
        with pytest.raises(exc.OpenQXBackendApiError, match="Could not reach"):
            api.submit_job(wire.JobSubmission(backend="ibmq_manila", qpy=""))
        assert len(attempts) == 1
        with pytest.raises(exc.OpenQXJobApiError):
            api.job("j")
        assert len(attempts) == 1 + 4


@pytest.mark.parametrize(
    ("status", "code", "context", "expected"),
    [
        (401, "unauthenticated", "backend", exc.OpenQXAccountCredentialsInvalidToken),
        (403, "permission_denied", "job", exc.OpenQXNotAuthorizedError),
        (429, "job_limit_reached", "backend", exc.OpenQXBackendJobLimitError),
        (404, "backend_not_found", "backend", exc.OpenQXBackendApiError),
        (404, "job_not_found", "job", exc.OpenQXJobApiError),
        (404, "job_not_found", "backend", exc.OpenQXBackendApiError),
        (404, "job_not_found", "runtime", exc.RuntimeJobNotFound),
        (400, "invalid_input", "backend", exc.OpenQXBackendValueError),
        (400, "invalid_circuit", "backend", exc.OpenQXBackendValueError),
        (400, "invalid_filter", "backend", exc.OpenQXBackendValueError),
        (413, "payload_too_large", "backend", exc.OpenQXBackendValueError),
        (409, "invalid_state", "job", exc.OpenQXJobInvalidStateError),
        (500, "internal", "job", exc.OpenQXJobApiError),
    ],
)
def test_error_mapping(
    status: int, code: str, context: Context, expected: type[exc.OpenQXError]
) -> None:
    from openqx.client.http import _map_error

    response = httpx.Response(
        status, json={"error": {"code": code, "message": "server says hi", "details": {}}}
    )
    error = _map_error(response, context, "j1")
    assert type(error) is expected
    assert "server says hi" in str(error)
    assert error.status_code == status and error.code == code and error.job_id == "j1"


def test_error_details_may_repeat_our_fields() -> None:
    """A 404 whose details carry ``job_id`` (as the real server sends) maps cleanly."""
    from openqx.client.http import _map_error

    details = {"job_id": "j1", "code": "x", "field": "id"}
    response = httpx.Response(
        404, json={"error": {"code": "job_not_found", "message": "gone", "details": details}}
    )
    error = _map_error(response, "backend", "j1")
    assert isinstance(error, exc.OpenQXBackendApiError)
    assert error.job_id == "j1" and error.code == "job_not_found" and error.status_code == 404
    assert error.details == {"field": "id"}
    assert _map_error(response, "backend", None).job_id == "j1"


def test_non_json_error_body() -> None:
    from openqx.client.http import _map_error

    error = _map_error(httpx.Response(502, text="Bad gateway from proxy"), "backend", None)
    assert isinstance(error, exc.OpenQXBackendApiError) and "Bad gateway from proxy" in str(error)


def test_protocol_error(server: FakeServer) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"unexpected": True})

    with ApiClient("http://x", "t", transport=httpx.MockTransport(handler)) as api:
        with pytest.raises(exc.OpenQXBackendApiProtocolError):
            api.backend_status("b")


def test_sse_parser() -> None:
    lines = [
        ": comment",
        "event: status",
        'data: {"id": "j", "status": "QUEUED"}',
        "",
        "event: ping",
        "data: {}",
        "",
        "event: status",
        'data: {"id": "j",',
        'data:  "status": "DONE"}',
    ]
    assert list(_sse_events(iter(lines))) == [
        ("status", {"id": "j", "status": "QUEUED"}),
        ("ping", {}),
        ("status", {"id": "j", "status": "DONE"}),
    ]


def test_stream_failure_raises_api_error(api: ApiClient, server: FakeServer) -> None:
    server.add_job(id="j1")
    server.sse = False
    with pytest.raises(exc.OpenQXError):
        list(api.stream_job_status("j1"))


def test_stream_data_that_is_not_json_is_an_api_error() -> None:
    """The waiting job falls back to polling on an ``ApiError`` (``status_feed``)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = b'event: status\ndata: {"id": "j1", "status": "DONE"\n\n'
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with ApiClient("http://x", "t", transport=httpx.MockTransport(handler)) as api:
        with pytest.raises(exc.ApiError, match="Status stream for job j1 failed"):
            list(api.stream_job_status("j1"))


def test_the_final_record_comes_to_on_final_before_the_final_status() -> None:
    job = {"id": "j1", "backend": "b", "status": "DONE", "owner": "o", "instance": "h/g/p"}
    final = {"job": {**job, "created_at": "2026-12-01T00:00:00Z"}, "result": {"results": []}}
    body = (
        'event: status\ndata: {"id": "j1", "status": "RUNNING"}\n\n'
        f"event: job\ndata: {json.dumps(final)}\n\n"
        'event: status\ndata: {"id": "j1", "status": "DONE"}\n\n'
    ).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    seen: list[object] = []
    with ApiClient("http://x", "t", transport=httpx.MockTransport(handler)) as api:
        for info in api.stream_job_status("j1", on_final=seen.append):
            seen.append(info.status.value)
    assert seen[0] == "RUNNING" and seen[2] == "DONE"
    assert isinstance(seen[1], wire.JobFinal) and seen[1].result == {"results": []}
    assert seen[1].job.status.value == "DONE"


def _all_error_classes() -> list[type[errors.ServiceError]]:
    """Every error class of ``openqx.core.errors`` (not other layers' private subclasses)."""
    found: list[type[errors.ServiceError]] = []
    pending: list[type[errors.ServiceError]] = [errors.ServiceError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(sub for sub in cls.__subclasses__() if sub.__module__ == errors.__name__)
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda cls: cls.code)
def test_every_domain_error_code_maps_through_the_core_table(
    cls: type[errors.ServiceError],
) -> None:
    """Each code the server can send is looked up in ``openqx.core.errors``, not by hand."""
    from openqx.client.http import EXCEPTION_FOR_ERROR, _map_error

    assert errors.error_class_for_code(cls.code) is cls
    family = next(EXCEPTION_FOR_ERROR[k] for k in cls.__mro__ if k in EXCEPTION_FOR_ERROR)
    response = httpx.Response(
        400, json={"error": {"code": cls.code, "message": "m", "details": {}}}
    )
    for context in ("account", "backend", "job", "job_set", "runtime"):
        assert type(_map_error(response, context, None)) is family[context]


def test_unknown_code_is_an_api_error() -> None:
    from openqx.client.http import _map_error

    response = httpx.Response(
        418, json={"error": {"code": "teapot", "message": "short and stout", "details": {}}}
    )
    error = _map_error(response, "backend", None)
    assert type(error) is exc.OpenQXBackendApiError and error.code == "teapot"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, exc.OpenQXAccountCredentialsInvalidToken),
        (403, exc.OpenQXNotAuthorizedError),
        (404, exc.OpenQXJobManagerUnknownJobSet),
        (502, exc.OpenQXJobApiError),
    ],
)
def test_answer_without_error_body_maps_by_status(
    status: int, expected: type[exc.OpenQXError]
) -> None:
    """A proxy's plain-text answer still gives the exception its status means."""
    from openqx.client.http import _map_error

    error = _map_error(httpx.Response(status, text="<html>nope</html>"), "job_set", None)
    assert type(error) is expected and error.status_code == status
    assert "nope" in str(error)


def test_invalid_url_is_a_provider_error() -> None:
    with pytest.raises(exc.OpenQXAccountCredentialsInvalidUrl, match=r"Invalid URL 'http://\[::1'"):
        ApiClient("http://[::1", "secret-token")


def test_admin_methods_speak_the_wire_contract() -> None:
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        if request.url.path == "/v1/admin/users" and request.method == "POST":
            return httpx.Response(
                201,
                json={"name": "carol", "token": "t0k", "instances": ["h/g/p"], "is_admin": False},
            )
        if request.url.path == "/v1/admin/users":
            return httpx.Response(
                200,
                json=[{"user": "admin", "is_admin": True, "instances": ["openqx/main/default"]}],
            )
        if request.url.path == "/v1/admin/backends/fake_manila/job_limit":
            return httpx.Response(200, json={"maximum_jobs": 3, "active_jobs": 0})
        return httpx.Response(
            403, json={"error": {"code": "permission_denied", "message": "Admins only."}}
        )

    with ApiClient("http://x", "secret-token", transport=httpx.MockTransport(handler)) as api:
        created = api.create_user(wire.UserCreate(name="carol", instances=["h/g/p"]))
        assert created.token == "t0k"
        assert [user.user for user in api.users()] == ["admin"]
        limit = api.set_job_limit("fake_manila", wire.JobLimitUpdate(maximum_jobs=3))
        assert limit.maximum_jobs == 3
        with pytest.raises(exc.OpenQXNotAuthorizedError, match="Admins only"):
            api.set_job_limit("other", wire.JobLimitUpdate(maximum_jobs=None))
    expected: list[tuple[str, str, Any]] = [
        (
            "POST",
            "/v1/admin/users",
            {"name": "carol", "instances": ["h/g/p"], "is_admin": False, "token": None},
        ),
        ("GET", "/v1/admin/users", None),
        ("PUT", "/v1/admin/backends/fake_manila/job_limit", {"maximum_jobs": 3}),
    ]
    assert seen[:3] == expected
