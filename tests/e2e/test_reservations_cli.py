"""``openqx admin`` reservation and maintenance commands as a user runs them: subprocesses
against a real server (``EmbeddedServer``). Refusals are one line on stderr, exit status 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from openqx.client.http import ApiClient
from openqx.embedded import EmbeddedServer
from tests.e2e.test_cli_admin import AdminCli, admin_cli  # noqa: F401  (fixture)
from tests.e2e.units import make_project


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(data_dir=tmp_path_factory.mktemp("openqx-sched"), executor="inline") as srv:
        yield srv


def test_reserve_list_cancel_and_maintenance(
    server: EmbeddedServer,
    admin_cli: AdminCli,  # noqa: F811  (the fixture imported above)
) -> None:
    creds = ("--url", server.url, "--token", server.token)
    with ApiClient(server.url, server.token) as api:
        make_project(api, "lab/g/p")
    assert admin_cli(*creds, "create-user", "rita", "--instance", "lab/g/p").status == 0
    start = datetime.now(UTC) + timedelta(hours=1)
    end = start + timedelta(hours=2)
    made = admin_cli(
        *creds, "reserve", "fake_manila", "lab/g/p", start.isoformat(), end.isoformat()
    )
    assert made.status == 0, made
    booking = json.loads(made.stdout)
    assert booking["project"] == "p" and booking["id"]
    listed = admin_cli(*creds, "reservations", "fake_manila")
    assert [r["id"] for r in json.loads(listed.stdout)] == [booking["id"]]
    clash = admin_cli(
        *creds, "reserve", "fake_manila", "lab/g/p", start.isoformat(), end.isoformat()
    )
    assert clash.status == 1 and clash.stdout == ""
    assert len(clash.stderr.splitlines()) == 1 and "may not overlap" in clash.stderr
    backwards = admin_cli(
        *creds, "reserve", "fake_manila", "lab/g/p", end.isoformat(), start.isoformat()
    )
    assert backwards.status == 1 and "end after it starts" in backwards.stderr
    assert admin_cli(*creds, "cancel-reservation", booking["id"]).status == 0
    assert json.loads(admin_cli(*creds, "reservations", "fake_manila").stdout) == []

    offline = admin_cli(*creds, "maintenance-start", "fake_manila", "--message", "recooling")
    assert offline.status == 0, offline
    with ApiClient(server.url, server.token) as api:
        status = api.backend_status("fake_manila")
    assert (status.operational, status.status_msg) == (False, "maintenance: recooling")
    windows = json.loads(admin_cli(*creds, "maintenance").stdout)
    assert [w["backend"] for w in windows] == ["fake_manila"]
    assert admin_cli(*creds, "maintenance-end", "fake_manila").status == 0
    again = admin_cli(*creds, "maintenance-end", "fake_manila")
    assert again.status == 1 and "not under maintenance" in again.stderr
    unknown = admin_cli(*creds, "maintenance-start", "no_such_device")
    assert unknown.status == 1 and "no_such_device" in unknown.stderr
