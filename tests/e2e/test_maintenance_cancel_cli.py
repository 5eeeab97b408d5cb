"""``openqx admin maintenance-cancel`` and ``maintenance-start`` without a message, as a user
runs them: subprocesses against a real server (``EmbeddedServer``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from openqx.client.http import ApiClient
from openqx.embedded import EmbeddedServer
from tests.e2e.test_cli_admin import AdminCli, admin_cli  # noqa: F401  (fixture)

BELEM = "fake_belem"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(
        data_dir=tmp_path_factory.mktemp("openqx-mcancel"), executor="inline"
    ) as srv:
        yield srv


def test_a_future_window_is_cancelled_and_a_current_one_ended(
    server: EmbeddedServer,
    admin_cli: AdminCli,  # noqa: F811  (the fixture imported above)
) -> None:
    creds = ("--url", server.url, "--token", server.token)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    window = ("--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat())
    made = admin_cli(*creds, "maintenance-start", BELEM, *window)
    assert made.status == 0, made
    window_id = json.loads(made.stdout)["id"]
    listed = json.loads(admin_cli(*creds, "maintenance").stdout)
    assert [w["id"] for w in listed] == [window_id]
    not_now = admin_cli(*creds, "maintenance-end", BELEM)
    assert not_now.status == 1 and "not under maintenance" in not_now.stderr

    cancelled = admin_cli(*creds, "maintenance-cancel", window_id)
    assert cancelled.status == 0, cancelled
    assert json.loads(cancelled.stdout)["id"] == window_id
    assert json.loads(admin_cli(*creds, "maintenance").stdout) == []
    gone = admin_cli(*creds, "maintenance-cancel", window_id)
    assert gone.status == 1 and gone.stdout == ""
    assert len(gone.error_lines) == 1 and window_id in gone.stderr
    empty = admin_cli(*creds, "maintenance-cancel", " ")
    assert empty.status == 2 and "id of a maintenance window" in empty.stderr

    # Now, without a message: status_msg reads "maintenance"; cancelling it is refused.
    current = admin_cli(*creds, "maintenance-start", BELEM)
    assert current.status == 0, current
    with ApiClient(server.url, server.token) as api:
        status = api.backend_status(BELEM)
    assert (status.operational, status.status_msg) == (False, "maintenance")
    started = admin_cli(*creds, "maintenance-cancel", json.loads(current.stdout)["id"])
    assert started.status == 1 and len(started.error_lines) == 1
    assert f"openqx admin maintenance-end {BELEM}" in started.stderr
    assert admin_cli(*creds, "maintenance-end", BELEM).status == 0
