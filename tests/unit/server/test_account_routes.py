"""``/account`` and the admin endpoints (``/admin/users``, ``/admin/backends/{name}/job_limit``)."""

from __future__ import annotations

import pytest

from openqx.client import exceptions
from tests.unit.server.harness import Harness


def test_account_describes_the_caller(harness: Harness) -> None:
    token = harness.new_user(instances=("hub1/group1/project1", "hub2/group2/project2"))
    answer = harness.client.get("/v1/account", headers=harness.headers(token))
    assert answer.status_code == 200
    body = answer.json()
    assert body["user"].startswith("user")
    assert body == {
        "user": body["user"],
        "is_admin": False,
        "instances": ["hub1/group1/project1", "hub2/group2/project2"],
    }
    admin = harness.client.get("/v1/account", headers=harness.headers()).json()
    assert admin == {"user": "admin", "is_admin": True, "instances": ["openqx/main/default"]}


def test_api_client_reads_version_and_account(harness: Harness) -> None:
    with harness.api() as api:
        assert api.version().name == "openqx"
        assert api.account().user == "admin"


def test_api_client_reports_a_bad_token(harness: Harness) -> None:
    with harness.api("wrong-token") as api, pytest.raises(exceptions.OpenQXError):
        api.account()


def test_admin_creates_a_user_whose_token_works(harness: Harness) -> None:
    for unit in ("carols", "carols/g", "carols/g/p"):  # a user joins existing projects
        harness.store.create_unit(unit)
    answer = harness.client.post(
        "/v1/admin/users",
        json={"name": "carol", "instances": ["carols/g/p"], "is_admin": False},
        headers=harness.headers(),
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["name"] == "carol"
    assert created["instances"] == ["carols/g/p"]
    assert created["is_admin"] is False
    assert len(created["token"]) >= 32
    me = harness.client.get("/v1/account", headers=harness.headers(created["token"]))
    assert me.json()["user"] == "carol"


def test_admin_may_choose_the_token_and_the_default_instance_applies(harness: Harness) -> None:
    answer = harness.client.post(
        "/v1/admin/users", json={"name": "dave", "token": "daves-token"}, headers=harness.headers()
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["instances"] == ["openqx/main/default"]
    me = harness.client.get("/v1/account", headers=harness.headers("daves-token"))
    assert me.json() == {"user": "dave", "is_admin": False, "instances": ["openqx/main/default"]}


def test_a_duplicate_user_name_is_400(harness: Harness) -> None:
    body = {"name": "erin"}
    assert harness.client.post("/v1/admin/users", json=body, headers=harness.headers()).is_success
    again = harness.client.post("/v1/admin/users", json=body, headers=harness.headers())
    assert again.status_code == 400, again.text
    assert again.json()["error"]["code"] == "invalid_input"
    assert "erin" in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "has space"}, "name"),
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "frank", "is_admin": "yes"}, "is_admin"),
        ({"name": "frank", "colour": "blue"}, "colour"),
    ],
)
def test_bad_user_bodies_are_400_naming_the_field(
    harness: Harness, body: dict[str, object], needle: str
) -> None:
    answer = harness.client.post("/v1/admin/users", json=body, headers=harness.headers())
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert needle in error["message"]
    assert "frank" not in {user.name for user in harness.service.store.list_users()}


def test_admin_lists_users(harness: Harness) -> None:
    harness.new_user(instances=("x/y/z",))
    answer = harness.client.get("/v1/admin/users", headers=harness.headers())
    assert answer.status_code == 200
    users = answer.json()
    assert users[0] == {"user": "admin", "is_admin": True, "instances": ["openqx/main/default"]}
    assert {"x/y/z"} in [set(user["instances"]) for user in users]
    assert len(users) == len(harness.service.store.list_users())


def test_admin_sets_and_removes_a_backend_job_limit(harness: Harness) -> None:
    path = "/v1/admin/backends/simulator_mps/job_limit"
    answer = harness.client.put(path, json={"maximum_jobs": 7}, headers=harness.headers())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"maximum_jobs": 7, "active_jobs": 0}
    token = harness.new_user()
    seen = harness.client.get(
        "/v1/backends/simulator_mps/job_limit", headers=harness.headers(token)
    )
    assert seen.json() == {"maximum_jobs": 7, "active_jobs": 0}
    cleared = harness.client.put(path, json={"maximum_jobs": None}, headers=harness.headers())
    assert cleared.json() == {"maximum_jobs": None, "active_jobs": 0}


def test_job_limit_of_an_unknown_backend_is_404(harness: Harness) -> None:
    answer = harness.client.put(
        "/v1/admin/backends/nope/job_limit", json={"maximum_jobs": 1}, headers=harness.headers()
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "backend_not_found"
    assert harness.service.store.backend_job_limit("nope") is None


@pytest.mark.parametrize("value", [-1, "3", 2.5])
def test_a_bad_job_limit_is_400(harness: Harness, value: object) -> None:
    answer = harness.client.put(
        "/v1/admin/backends/simulator_stabilizer/job_limit",
        json={"maximum_jobs": value},
        headers=harness.headers(),
    )
    assert answer.status_code == 400, answer.text
    assert "maximum_jobs" in answer.json()["error"]["message"]
    assert harness.service.store.backend_job_limit("simulator_stabilizer") is None
