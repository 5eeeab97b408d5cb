"""A dashboard session lives only as long as the API token it was opened with: rotating or
revoking the token, or disabling the user, sends the browser to sign in on its next request
(pages, htmx fragments and forms alike), as the API refuses the old token."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import cast

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from openqx.core.ids import hash_token
from openqx.web.sessions import SESSION_COOKIE, SessionStore
from tests.unit.server.harness import ADMIN_TOKEN, BASE_URL, Harness, open_harness
from tests.unit.web.test_pages import browser_for, csrf_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with open_harness() as opened:
        yield opened


def _name(token: str) -> str:
    return token.removeprefix("token-of-")  # the harness's ``new_user`` naming


def _admin(harness: Harness, method: str, path: str, **kwargs: object) -> None:
    answer = harness.client.request(method, path, headers=harness.headers(), **kwargs)  # type: ignore[arg-type]
    assert answer.status_code in (200, 204), answer.text


def _assert_sent_to_sign_in(harness: Harness, client: TestClient, csrf: str, token: str) -> None:
    page = client.get("/jobs", follow_redirects=False)
    assert page.status_code == 303
    assert (
        page.headers["location"].startswith("/signin?") and "expired=1" in page.headers["location"]
    )
    # The session is gone, not just refused once: nothing works with the cookie any more.
    for path in ("/jobs/table", "/devices"):
        fragment = client.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
        assert fragment.status_code == 204 and fragment.headers["HX-Redirect"].startswith("/signin")
    signout = client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert signout.headers["location"].startswith("/signin?")
    # The API refuses the old token too.
    assert harness.client.get("/v1/jobs", headers=harness.headers(token)).status_code == 401


def test_rotating_the_token_ends_the_session(harness: Harness) -> None:
    token = harness.new_user()
    client = browser_for(harness, token)
    csrf = csrf_of(client.get("/jobs").text)
    answer = harness.client.post(f"/v1/admin/users/{_name(token)}/token", headers=harness.headers())
    assert answer.status_code == 200, answer.text
    _assert_sent_to_sign_in(harness, client, csrf, token)
    # The new token opens a new session.
    fresh = browser_for(harness, answer.json()["token"])
    assert fresh.get("/jobs", follow_redirects=False).status_code == 200


def test_revoking_the_token_ends_the_session(harness: Harness) -> None:
    token = harness.new_user()
    client = browser_for(harness, token)
    csrf = csrf_of(client.get("/jobs").text)
    _admin(harness, "DELETE", f"/v1/admin/users/{_name(token)}/token")
    _assert_sent_to_sign_in(harness, client, csrf, token)
    refused = TestClient(harness.client.app, base_url=BASE_URL).post(
        "/signin", data={"token": token}, follow_redirects=False
    )
    assert refused.status_code == 401


def test_disabling_the_user_ends_the_session(harness: Harness) -> None:
    token = harness.new_user()
    client = browser_for(harness, token)
    csrf = csrf_of(client.get("/jobs").text)
    _admin(harness, "PUT", f"/v1/admin/users/{_name(token)}/disabled", json={"disabled": True})
    _assert_sent_to_sign_in(harness, client, csrf, token)


def test_other_sessions_are_untouched(harness: Harness) -> None:
    token, other = harness.new_user(), harness.new_user()
    client, bystander = browser_for(harness, token), browser_for(harness, other)
    admin = browser_for(harness, ADMIN_TOKEN)
    _admin(harness, "DELETE", f"/v1/admin/users/{_name(token)}/token")
    assert client.get("/jobs", follow_redirects=False).status_code == 303
    assert bystander.get("/jobs", follow_redirects=False).status_code == 200
    assert admin.get("/jobs", follow_redirects=False).status_code == 200


def test_the_session_keeps_a_hash_never_the_token(harness: Harness) -> None:
    token = harness.new_user()
    client = browser_for(harness, token)
    cookie = client.cookies[SESSION_COOKIE]
    sessions: SessionStore = cast(FastAPI, harness.client.app).state.web_sessions
    session = sessions.get(cookie)
    assert session is not None and session.token_hash == hash_token(token)
    assert token not in repr(vars(session)) and session.token_hash not in repr(session)
    assert token not in cookie
