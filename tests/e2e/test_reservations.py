"""Reservations and maintenance end to end through the client, on the in-process service
(real routes, store, dispatcher; a ``HeldExecutor`` so jobs stay RUNNING until the test ends
them, and a ``ManualClock`` that moves windows without sleeping)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from openqx.client.account import OpenQX
from openqx.client.least_busy import least_busy
from openqx.client.provider import AccountProvider
from openqx.core.access import Role
from openqx.core.clock import ManualClock
from tests.unit.server.harness import (
    BASE_URL,
    Harness,
    HeldExecutor,
    bell,
    open_harness,
    small_catalog,
)

_n = itertools.count(1)
MANILA = "fake_manila"
SIMULATOR = "ibmq_qasm_simulator"
A, B = "lab/g/a", "lab/g/b"


@pytest.fixture(autouse=True)
def no_active_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    for variable in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(variable, raising=False)
    yield
    OpenQX._provider = None


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture()
def held() -> HeldExecutor:
    return HeldExecutor(small_catalog())


@pytest.fixture()
def harness(held: HeldExecutor, clock: ManualClock) -> Iterator[Harness]:
    """Two worker slots: an emulated device runs one job at a time, a simulator two."""
    with open_harness(executor=held, clock=clock, workers=2) as opened:
        yield opened


def _provider(harness: Harness, instance: str) -> AccountProvider:
    name = f"member{next(_n)}"
    harness.store.create_user(name, f"token-{name}", instances=[instance])
    return OpenQX.enable_account(
        f"token-{name}", BASE_URL, transport=harness.client._transport, retries=0
    )


def _post(harness: Harness, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = harness.headers() if token is None else harness.headers(token)
    return harness.client.post(f"/v1{path}", json=body, headers=headers)


def _window(clock: ManualClock, start_s: float, end_s: float) -> dict[str, str]:
    now = clock.now()
    return {
        "start": (now + timedelta(seconds=start_s)).isoformat(),
        "end": (now + timedelta(seconds=end_s)).isoformat(),
    }


def test_reservation_runs_only_the_owner_then_fair_share_resumes(
    harness: Harness, held: HeldExecutor, clock: ManualClock
) -> None:
    owner, other = _provider(harness, A), _provider(harness, B)
    manila_b = other.get_backend(MANILA)
    running = manila_b.run([bell()], shots=10)
    assert held.next_job() == running.job_id()
    answer = _post(
        harness,
        "/admin/reservations",
        {"backend": MANILA, "instance": A, **_window(clock, 0, 3600)},
    )
    assert answer.status_code == 201, answer.text
    waiting = manila_b.run([bell()], shots=10)
    mine = owner.get_backend(MANILA).run([bell()], shots=10)
    assert mine.queue_position(refresh=True) == 1  # the reserved instance goes first
    assert waiting.queue_position(refresh=True) == 2
    # The job running when the window began finishes; then only the owner's job starts.
    held.finish(running.job_id())
    assert held.next_job() == mine.job_id()
    held.finish(mine.job_id())
    assert mine.status().name == "DONE" and mine.scheduling_mode() == "dedicated"
    usage = mine.usage()
    assert usage is not None and usage > 0
    assert waiting.status().name == "QUEUED"
    # Reservations through the client: owner-only fields for the owner only.
    seen_by_owner = owner.get_backend(MANILA).reservations()
    seen_by_other = manila_b.reservations(clock.now(), clock.now() + timedelta(hours=2))
    assert len(seen_by_owner) == len(seen_by_other) == 1
    assert seen_by_owner[0].reservation_id is not None and seen_by_owner[0].mode == "dedicated"
    assert seen_by_other[0].reservation_id is None and seen_by_other[0].mode is None
    assert (seen_by_other[0].hub, seen_by_other[0].project, seen_by_other[0].duration) == (
        "lab", "a", 60,
    )  # fmt: skip
    assert manila_b.reservations(clock.now() + timedelta(hours=2)) == []
    assert [r.backend_name for r in owner.backend.my_reservations()] == [MANILA]
    assert other.backend.my_reservations() == []
    # least_busy skips a device reserved within the lookahead.
    simulator = other.get_backend(SIMULATOR)
    assert least_busy([manila_b, simulator]).name == SIMULATOR
    # After the window, fair share resumes.
    clock.advance(3601)
    harness.service.dispatcher.wake()
    assert held.next_job() == waiting.job_id()
    held.finish(waiting.job_id())
    assert waiting.status().name == "DONE" and waiting.scheduling_mode() == "fairshare"
    assert least_busy([manila_b], reservation_lookahead=None).name == MANILA


def test_maintenance_holds_the_device_and_least_busy_skips_it(
    harness: Harness, held: HeldExecutor, clock: ManualClock
) -> None:
    user = _provider(harness, A)
    manila = user.get_backend(MANILA)
    answer = _post(harness, "/admin/maintenance", {"backend": MANILA, "message": "recooling"})
    assert answer.status_code == 201, answer.text
    status = manila.status()
    assert (status.operational, status.status_msg) == (False, "maintenance: recooling")
    queued = manila.run([bell()], shots=10)  # accepted; waits
    other = user.get_backend(SIMULATOR).run([bell()], shots=10)
    assert held.next_job() == other.job_id()  # the manila job, older, did not start
    assert queued.status().name == "QUEUED"
    assert manila.status().pending_jobs == 1
    assert least_busy([manila, user.get_backend(SIMULATOR)]).name == SIMULATOR
    ended = harness.client.delete(f"/v1/admin/maintenance/{MANILA}", headers=harness.headers())
    assert ended.status_code == 200, ended.text
    assert held.next_job() == queued.job_id()
    assert manila.status().operational


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"backend": MANILA, "instance": A, "window": (60, 30)}, 400, "end after it starts"),
        ({"backend": MANILA, "instance": A, "window": (-7200, -3600)}, 400, "in the past"),
        ({"backend": MANILA, "instance": A, "window": (-3600, 3600)}, 400, "starts in the past"),
        ({"backend": "no_such_device", "instance": A, "window": (0, 60)}, 404, "no_such_device"),
        ({"backend": MANILA, "instance": "lab/g/nope", "window": (0, 60)}, 404, "lab/g/nope"),
        ({"backend": MANILA, "instance": "not-an-instance", "window": (0, 60)}, 400, "instance"),
        ({"backend": MANILA, "instance": A, "window": (1800, 5400)}, 400, "may not overlap"),
    ],
)
def test_bad_reservations_are_clear_4xx(
    harness: Harness, clock: ManualClock, body: dict[str, Any], status: int, words: str
) -> None:
    _provider(harness, A)
    first = _post(
        harness,
        "/admin/reservations",
        {"backend": MANILA, "instance": A, **_window(clock, 0, 3600)},
    )
    assert first.status_code == 201, first.text
    start, end = body.pop("window")
    answer = _post(harness, "/admin/reservations", {**body, **_window(clock, start, end)})
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_listing_reservations_with_start_after_end_is_a_400(
    harness: Harness, clock: ManualClock
) -> None:
    window = _window(clock, 3600, 0)  # start an hour after end
    answer = harness.client.get(
        f"/v1/backends/{MANILA}/reservations", params=window, headers=harness.headers()
    )
    assert answer.status_code == 400, answer.text
    assert "start is after end" in answer.json()["error"]["message"]
    ordered = _window(clock, 0, 3600)
    listed = harness.client.get(
        f"/v1/backends/{MANILA}/reservations", params=ordered, headers=harness.headers()
    )
    assert listed.status_code == 200 and listed.json() == []


def test_only_server_and_hub_admins_reserve(harness: Harness, clock: ManualClock) -> None:
    member = harness.new_user(instances=(A,))
    hub_admin = harness.new_user(instances=(B,))
    harness.store.set_membership(
        harness.store.user_for_token(hub_admin).name, "lab", Role.HUB_ADMIN
    )
    body = {"backend": MANILA, "instance": A, **_window(clock, 0, 60)}
    assert _post(harness, "/admin/reservations", body, member).status_code == 403
    assert _post(harness, "/admin/reservations", body, hub_admin).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"backend": MANILA, "window": (60, 30)}, 400, "end after it starts"),
        ({"backend": MANILA, "window": (-7200, -3600)}, 400, "in the past"),
        ({"backend": "no_such_device", "window": (0, 60)}, 404, "no_such_device"),
        ({"backend": MANILA, "window": (0, 60), "message": ""}, 400, "message"),
    ],
)
def test_bad_maintenance_is_a_clear_4xx(
    harness: Harness, clock: ManualClock, body: dict[str, Any], status: int, words: str
) -> None:
    start, end = body.pop("window")
    answer = _post(harness, "/admin/maintenance", {**body, **_window(clock, start, end)})
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_maintenance_needs_a_server_admin_and_overlaps_are_refused(
    harness: Harness, clock: ManualClock
) -> None:
    member = harness.new_user(instances=(A,))
    body = {"backend": MANILA, **_window(clock, 60, 120)}
    assert _post(harness, "/admin/maintenance", body, member).status_code == 403
    assert _post(harness, "/admin/maintenance", body).status_code == 201
    again = _post(harness, "/admin/maintenance", {"backend": MANILA, **_window(clock, 90, 200)})
    assert again.status_code == 400 and "may not overlap" in again.text
    none = harness.client.delete(
        "/v1/admin/maintenance/ibmq_qasm_simulator", headers=harness.headers()
    )
    assert none.status_code == 404 and "not under maintenance" in none.text
