"""The administration routes found by exploratory testing: nobody learns which users exist
or who belongs where from outside their units (the same answer whether or not the user or
the role exists), unit names refuse control and invisible formatting characters, a taken
token is not reported as a taken name, and a user joins existing projects only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from openqx.core.access import Role
from openqx.core.instances import DEFAULT_INSTANCE
from tests.unit.server.harness import ADMIN_TOKEN, Harness, open_harness


@pytest.fixture()
def world() -> Iterator[Harness]:
    """hubA/g1/p1 and hubB/g2/{p2,p3}; alice is a member of hubA/g1/p1, bob of hubB/g2/p2,
    carol of both; ada administers hubA, gus the group hubB/g2."""
    with open_harness() as harness:
        store = harness.store
        for unit in ("hubA", "hubA/g1", "hubA/g1/p1", "hubB", "hubB/g2"):
            store.create_unit(unit)
        store.create_unit("hubB/g2/p2")
        store.create_unit("hubB/g2/p3")
        store.create_user("alice", "alice-token", instances=["hubA/g1/p1"])
        store.create_user("bob", "bob-token", instances=["hubB/g2/p2"])
        store.create_user("carol", "carol-token", instances=["hubA/g1/p1", "hubB/g2/p2"])
        store.create_user("ada", "ada-token")
        store.set_membership("ada", "hubA", Role.HUB_ADMIN)
        store.create_user("gus", "gus-token")
        store.set_membership("gus", "hubB/g2", Role.GROUP_ADMIN)
        yield harness


def _as(harness: Harness, token: str) -> dict[str, str]:
    return harness.headers(token)


def _answer(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json() if response.content else None


def _user_routes(harness: Harness, token: str, name: str) -> list[tuple[int, Any]]:
    c, h = harness.client, _as(harness, token)
    return [
        _answer(c.get(f"/v1/admin/users/{name}", headers=h)),
        _answer(c.post(f"/v1/admin/users/{name}/token", headers=h)),
        _answer(c.delete(f"/v1/admin/users/{name}/token", headers=h)),
        _answer(c.put(f"/v1/admin/users/{name}/disabled", json={"disabled": True}, headers=h)),
    ]


# --- 1: no probing of users and roles ----------------------------------------------------------
def test_a_member_gets_the_same_403_for_users_that_exist_and_that_do_not(world: Harness) -> None:
    absent = _user_routes(world, "alice-token", "nosuchuser")
    present = _user_routes(world, "alice-token", "bob")
    assert [status for status, _ in absent] == [403] * 4
    assert present == absent
    assert "administrator" in absent[0][1]["error"]["message"]
    # Nothing happened to bob: his token still works and he is not disabled.
    assert world.client.get("/v1/account", headers=_as(world, "bob-token")).status_code == 200


def test_a_member_still_rotates_their_own_token(world: Harness) -> None:
    rotated = world.client.post("/v1/admin/users/alice/token", headers=_as(world, "alice-token"))
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["token"]
    assert world.client.get("/v1/account", headers=_as(world, new)).json()["user"] == "alice"


def test_an_admin_cannot_tell_users_elsewhere_from_users_that_do_not_exist(
    world: Harness,
) -> None:
    def answers(name: str) -> list[tuple[int, Any]]:
        return [
            (status, body["error"]["message"].replace(repr(name), "NAME"))
            for status, body in _user_routes(world, "ada-token", name)
        ]

    assert answers("bob") == answers("nosuchuser")  # bob belongs to hubB only
    assert [status for status, _ in answers("bob")] == [403] * 4
    # A user of ada's hub: she may manage them.
    alice = world.client.get("/v1/admin/users/alice", headers=_as(world, "ada-token"))
    assert alice.status_code == 200 and alice.json()["instances"] == ["hubA/g1/p1"]
    # carol belongs to hubA too (ada lists her): she is seen but not managed from one hub.
    listed = world.client.get("/v1/admin/users", headers=_as(world, "ada-token")).json()
    assert sorted(u["user"] for u in listed) == ["ada", "alice", "carol"]
    carol = world.client.get("/v1/admin/users/carol", headers=_as(world, "ada-token"))
    assert carol.status_code == 403 and "every unit" in carol.json()["error"]["message"]
    # Server administrators see everything, so a missing user is a plain 404.
    missing = world.client.get("/v1/admin/users/nosuchuser", headers=_as(world, ADMIN_TOKEN))
    assert missing.status_code == 404


def _remove(harness: Harness, token: str, name: str, scope: str) -> tuple[int, Any]:
    return _answer(
        harness.client.delete(
            "/v1/admin/memberships",
            params={"name": name, "scope": scope},
            headers=_as(harness, token),
        )
    )


def test_removing_a_role_checks_the_caller_before_looking_up_the_role(world: Harness) -> None:
    # alice administers nothing: the same 403 whether bob holds a role there or not.
    held = _remove(world, "alice-token", "bob", "hubB/g2/p2")
    not_held = _remove(world, "alice-token", "bob", "hubB/g2/p3")
    nobody = _remove(world, "alice-token", "nosuchuser", "hubB/g2/p3")
    assert held[0] == not_held[0] == nobody[0] == 403
    assert held[1]["error"]["message"].replace("p2", "p3") == not_held[1]["error"]["message"]
    assert nobody == not_held
    # ada administers hubA, not hubB: the same.
    assert _remove(world, "ada-token", "bob", "hubB/g2/p2")[0] == 403
    assert _remove(world, "ada-token", "bob", "hubB/g2/p3")[0] == 403
    assert _remove(world, "ada-token", "bob", "hubB/g2")[0] == 403
    assert [m.scope for m in world.store.user_memberships("bob")] == ["hubB/g2/p2"]
    # gus administers hubB/g2: a missing user and a user without the role look alike.
    no_role = _remove(world, "gus-token", "alice", "hubB/g2/p3")
    no_user = _remove(world, "gus-token", "nosuchuser", "hubB/g2/p3")
    assert no_role[0] == no_user[0] == 404
    assert no_role[1]["error"]["message"].replace("'alice'", "NAME") == no_user[1]["error"][
        "message"
    ].replace("'nosuchuser'", "NAME")
    # ... and removing bob's membership works as before.
    assert (
        world.client.delete(
            "/v1/admin/memberships",
            params={"name": "bob", "scope": "hubB/g2/p2"},
            headers=_as(world, "gus-token"),
        ).status_code
        == 204
    )
    assert world.store.user_memberships("bob") == []


def test_group_admin_roles_are_still_taken_by_the_admin_above_only(world: Harness) -> None:
    # gus may not take his own or anyone's group_admin role over his group (the hub's
    # administrator or the server's may).
    world.store.create_user("gia", "gia-token")
    world.store.set_membership("gia", "hubB/g2", Role.GROUP_ADMIN)
    assert _remove(world, "gus-token", "gia", "hubB/g2")[0] == 403
    assert _remove(world, ADMIN_TOKEN, "gia", "hubB/g2")[0] == 204


# --- 2: unit names ------------------------------------------------------------------------------
BAD = [("\x00", "U+0000"), ("\x07", "U+0007"), ("\u202e", "U+202E"), ("\x7f", "U+007F")]


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


@pytest.mark.parametrize(("char", "code_point"), BAD)
def test_unit_names_refuse_control_and_formatting_characters(
    world: Harness, char: str, code_point: str
) -> None:
    c, admin = world.client, _as(world, ADMIN_TOKEN)
    before = world.store.list_units()
    for name in (f"hubZ{char}", f"hubA/g1/p{char}", f"hubA/g1/{char}evil", f"hubA/g{char}"):
        message = _error(c.post("/v1/admin/units", json={"name": name}, headers=admin), 400)
        assert "name" in message and code_point in message
    renamed = c.post(
        "/v1/admin/units/rename",
        json={"name": "hubB/g2/p2", "new_name": f"p2{char}"},
        headers=admin,
    )
    message = _error(renamed, 400)
    assert "new_name" in message and code_point in message
    for path, body, field in (
        ("/v1/admin/units/share", {"name": f"hubA{char}", "share": 2}, "name"),
        ("/v1/admin/memberships", {"user": "bob", "scope": f"hubA/g1/p1{char}"}, "scope"),
        (
            "/v1/admin/devices",
            {"instance": f"hubA/g1/p{char}", "backend": "fake_manila"},
            "instance",
        ),
    ):
        message = _error(c.put(path, json=body, headers=admin), 400)
        assert field in message and code_point in message
    assert world.store.list_units() == before
    assert world.store.user_by_name("bob").instances == ("hubB/g2/p2",)


def test_a_slash_inside_a_new_name_is_refused(world: Harness) -> None:
    answer = world.client.post(
        "/v1/admin/units/rename",
        json={"name": "hubB/g2/p2", "new_name": "x/p2"},
        headers=_as(world, ADMIN_TOKEN),
    )
    assert "new_name" in _error(answer, 400)
    assert world.store.get_unit("hubB/g2/p2").name == "hubB/g2/p2"


def test_ordinary_unit_names_keep_working(world: Harness) -> None:
    c, admin = world.client, _as(world, ADMIN_TOKEN)
    for name in ("uni-1", "uni-1/Fall 2026", "uni-1/Fall 2026/team_1.a", "uni-1/Fall 2026/café"):
        made = c.post("/v1/admin/units", json={"name": name}, headers=admin)
        assert made.status_code == 201, made.text
    renamed = c.post(
        "/v1/admin/units/rename",
        json={"name": "uni-1/Fall 2026/café", "new_name": "Team Ω"},
        headers=admin,
    )
    assert renamed.json()["name"] == "uni-1/Fall 2026/Team Ω"
    granted = c.put(
        "/v1/admin/devices",
        json={"instance": "uni-1/Fall 2026/team_1.a", "backend": "fake_manila"},
        headers=admin,
    )
    assert granted.status_code == 200, granted.text


# --- 3: a taken token ---------------------------------------------------------------------------
def test_a_taken_token_is_reported_as_such_without_its_owner(world: Harness) -> None:
    answer = world.client.post(
        "/v1/admin/users",
        json={"name": "zed3", "instances": ["hubA/g1/p1"], "token": "bob-token"},
        headers=_as(world, ADMIN_TOKEN),
    )
    message = _error(answer, 400)
    assert message == "That token is already in use; choose another."
    assert "zed3" not in {u.name for u in world.store.list_users()}
    again = world.client.post(
        "/v1/admin/users", json={"name": "bob"}, headers=_as(world, ADMIN_TOKEN)
    )
    assert "User 'bob' already exists" in _error(again, 400)


# --- 4: users join existing projects -------------------------------------------------------------
def test_creating_a_user_in_a_missing_project_is_404_with_nothing_made(world: Harness) -> None:
    c = world.client
    before = world.store.list_units()
    answer = c.post(
        "/v1/admin/users",
        json={"name": "zed", "instances": ["nope/x/y"]},
        headers=_as(world, ADMIN_TOKEN),
    )
    assert "There is no project 'nope/x/y'" in _error(answer, 404)
    # A hub administrator: 404 inside the hub, 403 outside it (checked before any lookup).
    inside = c.post(
        "/v1/admin/users",
        json={"name": "zed", "instances": ["hubA/g1/nope"]},
        headers=_as(world, "ada-token"),
    )
    assert "There is no project 'hubA/g1/nope'" in _error(inside, 404)
    outside = c.post(
        "/v1/admin/users",
        json={"name": "zed", "instances": ["hubB/g2/nope"]},
        headers=_as(world, "ada-token"),
    )
    _error(outside, 403)
    assert world.store.list_units() == before
    assert "zed" not in {u.name for u in world.store.list_users()}
    # Into an existing project it works as before.
    made = c.post(
        "/v1/admin/users",
        json={"name": "zed", "instances": ["hubA/g1/p1"]},
        headers=_as(world, "ada-token"),
    )
    assert made.status_code == 201, made.text


def test_the_default_instance_is_made_when_missing(world: Harness) -> None:
    c, admin = world.client, _as(world, ADMIN_TOKEN)
    # The API refuses to rename it (test_tenancy_admin); a database renamed before that rule
    # is made through the store.
    world.store.rename_unit(DEFAULT_INSTANCE, "old-default")
    made = c.post("/v1/admin/users", json={"name": "newcomer"}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["instances"] == [DEFAULT_INSTANCE]
    assert world.store.get_unit(DEFAULT_INSTANCE).kind == "project"
