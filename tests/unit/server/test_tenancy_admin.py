"""Administration API and instance rules of issue 10, in-process on the memory store: units,
roles, tokens, device grants and limits, the audit log, the request instance, and bad input
(each a clear 4xx with nothing changed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from openqx.core.access import INSTANCE_HEADER, Role
from openqx.core.clock import ManualClock
from openqx.server.throttle import AuthThrottle
from tests.unit.server.harness import ADMIN_TOKEN, Harness, open_harness

_n = itertools.count(1)


@pytest.fixture()
def fresh() -> Iterator[Harness]:
    """A service of its own (units and audit entries start empty)."""
    with open_harness() as opened:
        yield opened


def _user(harness: Harness, instances: list[str], **roles: Role) -> tuple[str, str]:
    name = f"u{next(_n)}"
    token = f"token-{name}"
    harness.store.create_user(name, token, instances=instances)
    for scope, role in roles.items():
        harness.store.set_membership(name, scope.replace(".", "/"), role)
    return name, token


def _h(harness: Harness, token: str, instance: str | None = None) -> dict[str, str]:
    headers = harness.headers(token)
    if instance is not None:
        headers[INSTANCE_HEADER] = instance
    return headers


def _error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    message: str = answer.json()["error"]["message"]
    return message


def _units(harness: Harness) -> list[str]:
    return [u.name for u in harness.store.list_units()]


# --- units -------------------------------------------------------------------------------------
def test_hub_admin_manages_inside_the_hub_only(fresh: Harness) -> None:
    fresh.store.create_unit("uni")
    fresh.store.create_unit("other")
    _, boss = _user(fresh, [], uni=Role.HUB_ADMIN)
    c = fresh.client
    made = c.post("/v1/admin/units", json={"name": "uni/course"}, headers=_h(fresh, boss))
    assert made.status_code == 201, made.text
    assert made.json() == {"name": "uni/course", "kind": "group", "share": 1}
    assert (
        c.post(
            "/v1/admin/units",
            json={"name": "uni/course/team1", "share": 2},
            headers=_h(fresh, boss),
        ).status_code
        == 201
    )
    before = _units(fresh)
    for body in ({"name": "other/g"}, {"name": "newhub"}):
        assert "administrator" in _error(
            c.post("/v1/admin/units", json=body, headers=_h(fresh, boss)), 403
        )
    assert "administrator" in _error(
        c.put("/v1/admin/units/share", json={"name": "uni", "share": 9}, headers=_h(fresh, boss)),
        403,
    )
    assert _units(fresh) == before
    renamed = c.post(
        "/v1/admin/units/rename",
        json={"name": "uni/course", "new_name": "course-fall"},
        headers=_h(fresh, boss),
    )
    assert renamed.json()["name"] == "uni/course-fall"
    listed = c.get("/v1/admin/units", headers=_h(fresh, boss)).json()
    assert [u["name"] for u in listed] == ["uni", "uni/course-fall", "uni/course-fall/team1"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"name": "uni"}, 400, "already exists"),
        ({"name": "uni/ bad"}, 400, "surrounding spaces"),
        ({"name": "a/b/c/d"}, 400, "not a hub"),
        ({"name": "uni//x"}, 400, "non-empty"),
        ({"name": "nohub/g"}, 404, "no hub 'nohub'"),
        ({"name": "uni", "share": -1}, 400, "share"),
        ({"name": "uni", "extra": 1}, 400, "extra"),
    ],
)
def test_bad_units_are_refused_with_nothing_changed(
    fresh: Harness, body: dict[str, Any], status: int, needle: str
) -> None:
    fresh.store.create_unit("uni")
    before = _units(fresh)
    answer = fresh.client.post("/v1/admin/units", json=body, headers=_h(fresh, ADMIN_TOKEN))
    assert needle in _error(answer, status).lower() or needle in answer.text
    assert _units(fresh) == before


def test_non_admins_are_refused_on_every_admin_route(fresh: Harness) -> None:
    name, token = _user(fresh, ["h/g/p"])
    c, h = fresh.client, _h(fresh, token)
    calls = [
        c.get("/v1/admin/units", headers=h),
        c.post("/v1/admin/units", json={"name": "h/g/q"}, headers=h),
        c.get("/v1/admin/users", headers=h),
        c.post("/v1/admin/users", json={"name": "x", "instances": ["h/g/p"]}, headers=h),
        c.put(
            "/v1/admin/memberships",
            json={"user": name, "scope": "h/g", "role": "group_admin"},
            headers=h,
        ),
        c.put("/v1/admin/devices", json={"instance": "h/g/p", "backend": "fake_manila"}, headers=h),
        c.get("/v1/admin/audit", headers=h),
        c.put("/v1/admin/backends/fake_manila/job_limit", json={"maximum_jobs": 1}, headers=h),
        c.post("/v1/admin/users/admin/token", headers=h),
    ]
    assert [a.status_code for a in calls] == [403] * len(calls)
    assert fresh.store.device_grants("h/g/p") == []
    assert fresh.store.user_memberships(name) == fresh.store.user_memberships(name)[:1]


def test_nobody_raises_their_own_role_or_joins_by_themselves(fresh: Harness) -> None:
    fresh.store.create_unit("h")
    fresh.store.create_unit("h/g")
    fresh.store.create_unit("h/g/p")
    fresh.store.create_unit("h/g/q")
    name, padmin = _user(fresh, [], **{"h.g.p": Role.PROJECT_ADMIN})
    c = fresh.client
    for body in (
        {"user": name, "scope": "h/g", "role": "group_admin"},
        {"user": name, "scope": "h/g/q", "role": "member"},
        {"user": name, "scope": "h/g/p", "role": "member"},
    ):
        _error(c.put("/v1/admin/memberships", json=body, headers=_h(fresh, padmin)), 403)
    other, _ = _user(fresh, [])
    # A project admin adds members to their project but makes no project admins.
    ok = c.put(
        "/v1/admin/memberships",
        json={"user": other, "scope": "h/g/p", "role": "member"},
        headers=_h(fresh, padmin),
    )
    assert ok.status_code == 200, ok.text
    _error(
        c.put(
            "/v1/admin/memberships",
            json={"user": other, "scope": "h/g/p", "role": "project_admin"},
            headers=_h(fresh, padmin),
        ),
        403,
    )
    roles = {m.scope: m.role for m in fresh.store.user_memberships(other)}
    assert roles["h/g/p"] is Role.MEMBER
    _error(
        c.put(
            "/v1/admin/memberships",
            json={"user": other, "scope": "h/g/p", "role": "group_admin"},
            headers=_h(fresh, ADMIN_TOKEN),
        ),
        400,
    )


# --- users and tokens --------------------------------------------------------------------------
def test_tokens_are_shown_once_rotated_and_revoked_at_once(fresh: Harness) -> None:
    fresh.store.create_unit("h")
    fresh.store.create_unit("h/g")
    fresh.store.create_unit("h/g/p")
    _, boss = _user(fresh, [], h=Role.HUB_ADMIN)
    c = fresh.client
    created = c.post(
        "/v1/admin/users", json={"name": "stud", "instances": ["h/g/p"]}, headers=_h(fresh, boss)
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert len(bytes.fromhex(token)) >= 16  # at least 128 bits
    assert c.get("/v1/account", headers=_h(fresh, token)).json()["instances"] == ["h/g/p"]
    listed = c.get("/v1/admin/users", headers=_h(fresh, boss)).json()
    assert all("token" not in u for u in listed)
    rotated = c.post("/v1/admin/users/stud/token", headers=_h(fresh, boss)).json()["token"]
    _error(c.get("/v1/account", headers=_h(fresh, token)), 401)
    assert c.get("/v1/account", headers=_h(fresh, rotated)).status_code == 200
    assert c.delete("/v1/admin/users/stud/token", headers=_h(fresh, boss)).status_code == 204
    _error(c.get("/v1/account", headers=_h(fresh, rotated)), 401)
    again = c.post("/v1/admin/users/stud/token", headers=_h(fresh, boss)).json()["token"]
    disabled = c.put(
        "/v1/admin/users/stud/disabled", json={"disabled": True}, headers=_h(fresh, boss)
    )
    assert disabled.json()["disabled"] is True
    _error(c.get("/v1/account", headers=_h(fresh, again)), 401)
    # Outside the hub: creating a member elsewhere, or a server admin, is refused.
    before = len(fresh.store.list_users())
    for body in (
        {"name": "x1", "instances": ["openqx/main/default"]},
        {"name": "x2", "instances": ["h/g/p"], "is_admin": True},
        {"name": "x3", "instances": []},
    ):
        _error(c.post("/v1/admin/users", json=body, headers=_h(fresh, boss)), 403)
    assert len(fresh.store.list_users()) == before
    # A user outside the hub and no user at all look the same (no probing of names).
    _error(c.post("/v1/admin/users/admin/token", headers=_h(fresh, boss)), 403)
    _error(c.post("/v1/admin/users/nobody/token", headers=_h(fresh, boss)), 403)
    _error(
        c.post(
            "/v1/admin/users",
            json={"name": "stud", "instances": ["h/g/p"]},
            headers=_h(fresh, boss),
        ),
        400,
    )


# --- devices, limits, the request instance --------------------------------------------------------
def test_devices_of_a_project_and_their_limits(fresh: Harness) -> None:
    name, token = _user(fresh, ["lab/g/a", "lab/g/b"])
    c, admin = fresh.client, _h(fresh, ADMIN_TOKEN)
    grant = c.put(
        "/v1/admin/devices",
        json={
            "instance": "lab/g/a",
            "backend": "ibmq_qasm_simulator",
            "job_limit": 2,
            "max_shots": 100,
            "max_circuits": 1,
        },
        headers=admin,
    )
    assert grant.status_code == 200, grant.text
    on_a = c.get("/v1/backends", headers=_h(fresh, token, "lab/g/a")).json()
    assert [b["name"] for b in on_a] == ["ibmq_qasm_simulator"]
    on_b = c.get("/v1/backends", headers=_h(fresh, token, "lab/g/b")).json()
    assert len(on_b) > 1  # a project without grants keeps every device
    body = {"backend": "fake_manila", "qpy": _bell()}
    message = _error(c.post("/v1/jobs", json=body, headers=_h(fresh, token, "lab/g/a")), 403)
    assert "'fake_manila'" in message and "'lab/g/a'" in message
    too_many = {"backend": "ibmq_qasm_simulator", "qpy": _bell(), "shots": 101}
    assert "maximum of 100" in _error(
        c.post("/v1/jobs", json=too_many, headers=_h(fresh, token, "lab/g/a")), 400
    )
    limit = c.get(
        "/v1/backends/ibmq_qasm_simulator/job_limit", headers=_h(fresh, token, "lab/g/a")
    ).json()
    assert limit["maximum_jobs"] == 2
    job = fresh.client.post(
        "/v1/jobs",
        json={"backend": "ibmq_qasm_simulator", "qpy": _bell(), "shots": 10},
        headers=_h(fresh, token, "lab/g/b"),
    ).json()
    assert job["instance"] == "lab/g/b"
    own_a = c.post("/v1/jobs/search", json={}, headers=_h(fresh, token, "lab/g/a")).json()
    own_b = c.post("/v1/jobs/search", json={}, headers=_h(fresh, token, "lab/g/b")).json()
    assert (own_a["jobs"], [j["id"] for j in own_b["jobs"]]) == ([], [job["id"]])
    # Removing the limit: null is no limit, not the device default.
    c.put(
        "/v1/admin/devices",
        json={"instance": "lab/g/a", "backend": "ibmq_qasm_simulator", "job_limit": None},
        headers=admin,
    )
    limit = c.get(
        "/v1/backends/ibmq_qasm_simulator/job_limit", headers=_h(fresh, token, "lab/g/a")
    ).json()
    assert limit["maximum_jobs"] is None
    assert name


def test_server_wide_job_limit_none_is_no_limit_and_delete_restores_default(
    fresh: Harness,
) -> None:
    c, admin = fresh.client, _h(fresh, ADMIN_TOKEN)
    path = "/v1/admin/backends/fake_manila/job_limit"
    assert c.put(path, json={"maximum_jobs": None}, headers=admin).json()["maximum_jobs"] is None
    assert c.get("/v1/backends/fake_manila/job_limit", headers=admin).json()["maximum_jobs"] is None
    assert c.delete(path, headers=admin).json()["maximum_jobs"] == 5


@pytest.mark.parametrize(
    ("instance", "status", "needle"),
    [
        ("h/g/other", 403, "your instances: h/g/p"),
        ("not-an-instance", 400, "hub/group/project"),
        ("h/g/ p", 400, "surrounding spaces"),
    ],
)
def test_bad_request_instance_is_refused(
    fresh: Harness, instance: str, status: int, needle: str
) -> None:
    _, token = _user(fresh, ["h/g/p"])
    body = {"backend": "ibmq_qasm_simulator", "qpy": _bell()}
    answer = fresh.client.post("/v1/jobs", json=body, headers=_h(fresh, token, instance))
    assert needle in _error(answer, status)
    page = fresh.client.post("/v1/jobs/search", json={}, headers=_h(fresh, token)).json()
    assert page["jobs"] == []


def test_instance_cannot_come_from_the_body(fresh: Harness) -> None:
    _, token = _user(fresh, ["h/g/p"])
    body = {"backend": "ibmq_qasm_simulator", "qpy": _bell(), "instance": "x/y/z"}
    _error(fresh.client.post("/v1/jobs", json=body, headers=_h(fresh, token)), 400)


# --- audit ---------------------------------------------------------------------------------------
def test_audit_log_is_scoped_to_what_one_administers(fresh: Harness) -> None:
    c, admin = fresh.client, _h(fresh, ADMIN_TOKEN)
    for name in ("h1", "h2"):
        c.post("/v1/admin/units", json={"name": name}, headers=admin)
        c.post("/v1/admin/units", json={"name": f"{name}/g"}, headers=admin)
    _, boss = _user(fresh, [], h1=Role.HUB_ADMIN)
    c.post("/v1/admin/units", json={"name": "h1/g/p"}, headers=_h(fresh, boss))
    everything = c.get("/v1/admin/audit", headers=admin).json()
    assert [e["target"] for e in everything][:2] == ["h1/g/p", "h2/g"]
    mine = c.get("/v1/admin/audit", headers=_h(fresh, boss)).json()
    assert {e["scope"] for e in mine} == {"h1", "h1/g", "h1/g/p"}
    assert mine[0]["actor"].startswith("u") and mine[0]["action"] == "create_unit"
    _error(c.get("/v1/admin/audit?limit=0", headers=admin), 400)


def test_openapi_documents_the_admin_routes(fresh: Harness) -> None:
    paths = fresh.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/admin/units",
        "/v1/admin/memberships",
        "/v1/admin/devices",
        "/v1/admin/audit",
        "/v1/admin/users/{name}/token",
    ):
        assert path in paths


# --- failed-authentication throttling -------------------------------------------------------------
def _throttled(clock: ManualClock) -> Any:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    def endpoint(request: Request) -> Response:
        if request.headers.get("authorization") == "Bearer good":
            return PlainTextResponse("ok")
        return PlainTextResponse("no", status_code=401)

    app = Starlette(routes=[Route("/", endpoint)])
    return TestClient(AuthThrottle(app, clock=clock, max_failures=3, window_seconds=60))


def test_failed_authentication_is_throttled_per_address() -> None:
    clock = ManualClock()
    client = _throttled(clock)
    good = {"Authorization": "Bearer good"}
    for _ in range(10):  # successes never count
        assert client.get("/", headers=good).status_code == 200
    for _ in range(3):
        assert client.get("/", headers={"Authorization": "Bearer bad"}).status_code == 401
    refused = client.get("/", headers={"Authorization": "Bearer guess"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.json()["error"]["code"] == "too_many_requests"
    clock.advance(30)
    assert client.get("/", headers=good).headers["Retry-After"] == "30"
    clock.advance(30)
    assert client.get("/", headers=good).status_code == 200


def _bell() -> str:
    from tests.unit.server.harness import bell, qpy_b64

    return qpy_b64(bell())


def test_the_default_instance_and_its_hub_and_group_keep_their_names(fresh: Harness) -> None:
    # Users without a project act in openqx/main/default: renaming it, or the hub or group
    # above it, would leave them filing jobs under a unit that no longer exists.
    assert "openqx/main/default" in _units(fresh)  # made with the first user
    fresh.store.create_unit("openqx/main/other")
    admin = fresh.headers()
    for name in ("openqx", "openqx/main", "openqx/main/default"):
        answer = fresh.client.post(
            "/v1/admin/units/rename", json={"name": name, "new_name": "moved"}, headers=admin
        )
        assert "keeps its name" in _error(answer, 400)
    assert "openqx/main/default" in _units(fresh)
    renamed = fresh.client.post(
        "/v1/admin/units/rename",
        json={"name": "openqx/main/other", "new_name": "kept"},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
