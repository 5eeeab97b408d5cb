"""Authentication and the admin gate, on every route that needs them."""

from __future__ import annotations

from typing import Any

import pytest

from openqx import __version__
from tests.unit.server.harness import ADMIN_TOKEN, Harness, bell, qpy_b64

JOB = "0123456789abcdef01234567"
AUTHENTICATED_ROUTES = [
    ("GET", "/v1/account"),
    ("GET", "/v1/backends"),
    ("GET", "/v1/backends/ibmq_qasm_simulator"),
    ("GET", "/v1/backends/ibmq_qasm_simulator/configuration"),
    ("GET", "/v1/backends/ibmq_qasm_simulator/properties"),
    ("GET", "/v1/backends/ibmq_qasm_simulator/status"),
    ("GET", "/v1/backends/ibmq_qasm_simulator/job_limit"),
    ("POST", "/v1/jobs"),
    ("POST", "/v1/jobs/search"),
    ("GET", f"/v1/jobs/{JOB}"),
    ("PATCH", f"/v1/jobs/{JOB}"),
    ("GET", f"/v1/jobs/{JOB}/status"),
    ("GET", f"/v1/jobs/{JOB}/events"),
    ("GET", f"/v1/jobs/{JOB}/result"),
    ("GET", f"/v1/jobs/{JOB}/circuits"),
    ("GET", f"/v1/jobs/{JOB}/properties"),
    ("GET", f"/v1/jobs/{JOB}/queue_info"),
    ("POST", f"/v1/jobs/{JOB}/cancel"),
    ("POST", "/v1/runtime/jobs"),
    ("GET", "/v1/job_sets/someset"),
    ("POST", "/v1/admin/users"),
    ("GET", "/v1/admin/users"),
    ("PUT", "/v1/admin/backends/ibmq_qasm_simulator/job_limit"),
]
ADMIN_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/admin/users", {"name": "someone"}),
    ("GET", "/v1/admin/users", None),
    ("PUT", "/v1/admin/backends/ibmq_qasm_simulator/job_limit", {"maximum_jobs": 3}),
]


def _assert_error(answer: Any, status: int, code: str, needle: str = "") -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert needle in body["error"]["message"]


def test_version_needs_no_token(harness: Harness) -> None:
    answer = harness.client.get("/v1/version")
    assert answer.status_code == 200
    assert answer.json() == {"name": "openqx", "version": __version__, "api_version": "1"}


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_ROUTES)
def test_every_route_but_version_needs_a_token(harness: Harness, method: str, path: str) -> None:
    answer = harness.client.request(method, path)
    _assert_error(answer, 401, "unauthenticated", "Missing API token")
    assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer   ", "Token abc"])
def test_malformed_authorization_header_is_401(harness: Harness, header: str) -> None:
    answer = harness.client.get("/v1/account", headers={"Authorization": header})
    _assert_error(answer, 401, "unauthenticated", "Malformed Authorization header")


def test_unknown_token_is_401(harness: Harness) -> None:
    answer = harness.client.get("/v1/account", headers=harness.headers("not-a-token"))
    _assert_error(answer, 401, "unauthenticated")


def test_a_submission_with_an_unknown_token_is_401_and_queues_nothing(
    held_harness: Harness,
) -> None:
    # POST /jobs reads the caller in the thread hop that stores the job (``deps.CallerToken``).
    body = {"backend": "ibmq_qasm_simulator", "qpy": qpy_b64(bell())}
    answer = held_harness.client.post(
        "/v1/jobs", json=body, headers=held_harness.headers("not-a-token")
    )
    _assert_error(answer, 401, "unauthenticated")
    assert held_harness.store.backends_with_queued_jobs() == []
    assert held_harness.submit()["status"] == "QUEUED"  # the same body with a known token


def test_a_submission_without_a_token_is_401_before_its_body_is_read(harness: Harness) -> None:
    answer = harness.client.post("/v1/jobs", json={"backend": 3})
    _assert_error(answer, 401, "unauthenticated", "Missing API token")


def test_x_access_token_header_is_accepted(harness: Harness) -> None:
    answer = harness.client.get("/v1/account", headers={"X-Access-Token": ADMIN_TOKEN})
    assert answer.status_code == 200
    assert answer.json()["user"] == "admin"


def test_bearer_scheme_is_case_insensitive(harness: Harness) -> None:
    answer = harness.client.get("/v1/account", headers={"Authorization": f"bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_refuse_other_users(
    harness: Harness, method: str, path: str, body: dict[str, Any] | None
) -> None:
    token = harness.new_user()
    answer = harness.client.request(method, path, json=body, headers=harness.headers(token))
    _assert_error(answer, 403, "permission_denied", "admin")
    assert harness.service.store.backend_job_limit("ibmq_qasm_simulator") is None
    assert "someone" not in {user.name for user in harness.service.store.list_users()}


def test_unknown_path_is_a_404_envelope(harness: Harness) -> None:
    _assert_error(harness.client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_405_envelope(harness: Harness) -> None:
    _assert_error(harness.client.delete("/v1/version"), 405, "method_not_allowed")
