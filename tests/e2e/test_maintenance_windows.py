"""Maintenance windows and start estimates end to end on the in-process service (real routes,
store, dispatcher; a ``HeldExecutor`` keeps jobs RUNNING, a ``ManualClock`` keeps time):
cancelling a window that has not started, the default ``status_msg``, and ``queue_info()``
estimates of jobs held by maintenance or by another project's reservation."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from openqx.client.account import OpenQX
from openqx.client.provider import AccountProvider
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
A, B = "lab/g/a", "lab/g/b"
HOUR = timedelta(hours=1)


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
    """Two worker slots: an emulated device runs one job at a time."""
    with open_harness(executor=held, clock=clock, workers=2) as opened:
        yield opened


def _provider(harness: Harness, instance: str) -> AccountProvider:
    name = f"member{next(_n)}"
    harness.store.create_user(name, f"token-{name}", instances=[instance])
    return OpenQX.enable_account(
        f"token-{name}", BASE_URL, transport=harness.client._transport, retries=0
    )


def _start(harness: Harness, clock: ManualClock, start_s: float, end_s: float | None) -> Any:
    body: dict[str, Any] = {"backend": MANILA}
    body["start"] = (clock.now() + timedelta(seconds=start_s)).isoformat()
    if end_s is not None:
        body["end"] = (clock.now() + timedelta(seconds=end_s)).isoformat()
    answer = harness.client.post("/v1/admin/maintenance", json=body, headers=harness.headers())
    assert answer.status_code == 201, answer.text
    return answer.json()


def _cancel(harness: Harness, window_id: str, token: str | None = None) -> Any:
    headers = harness.headers() if token is None else harness.headers(token)
    return harness.client.delete(f"/v1/admin/maintenance/windows/{window_id}", headers=headers)


def test_a_future_window_is_cancelled_by_its_id(harness: Harness, clock: ManualClock) -> None:
    window = _start(harness, clock, 3600, 7200)
    listed = harness.client.get("/v1/admin/maintenance", headers=harness.headers()).json()
    assert [w["id"] for w in listed] == [window["id"]]
    # maintenance-end is for the current window only
    ended = harness.client.delete(f"/v1/admin/maintenance/{MANILA}", headers=harness.headers())
    assert ended.status_code == 404 and "not under maintenance" in ended.text
    member = harness.new_user(instances=(A,))
    assert _cancel(harness, window["id"], member).status_code == 403
    cancelled = _cancel(harness, window["id"])
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == window
    assert harness.client.get("/v1/admin/maintenance", headers=harness.headers()).json() == []
    entry = harness.store.audit_entries(limit=1)[0]
    assert (entry.action, entry.target) == ("cancel_maintenance", f"{MANILA}:{window['id']}")
    again = _cancel(harness, window["id"])
    assert again.status_code == 404 and window["id"] in again.text
    clock.advance(3601)
    assert harness.store.device_maintenance(MANILA) is None


def test_a_started_window_is_ended_not_cancelled(harness: Harness, clock: ManualClock) -> None:
    window = _start(harness, clock, 0, None)
    refused = _cancel(harness, window["id"])
    assert refused.status_code == 409, refused.text
    assert "maintenance-end" in refused.text
    assert harness.store.device_maintenance(MANILA) is not None
    unknown = _cancel(harness, "no-such-window")
    assert unknown.status_code == 404 and "no-such-window" in unknown.text


def test_status_msg_reads_maintenance_without_a_message(harness: Harness) -> None:
    backend = _provider(harness, A).get_backend(MANILA)
    answer = harness.client.post(
        "/v1/admin/maintenance", json={"backend": MANILA}, headers=harness.headers()
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["message"] == ""
    status = backend.status()
    assert (status.operational, status.status_msg) == (False, "maintenance")


def test_a_job_held_by_maintenance_starts_after_it(harness: Harness, clock: ManualClock) -> None:
    manila = _provider(harness, A).get_backend(MANILA)
    _start(harness, clock, 0, 3600)
    first, second = manila.run([bell()], shots=10), manila.run([bell()], shots=10)
    end = clock.now() + HOUR
    info = first.queue_info()
    assert info is not None and info.estimated_start_time == end
    later = second.queue_info()  # behind the first job (1 s: no job has been measured)
    assert later is not None and later.estimated_start_time == end + timedelta(seconds=1)


def test_a_job_held_by_open_ended_maintenance_has_no_estimate(
    harness: Harness, clock: ManualClock
) -> None:
    manila = _provider(harness, A).get_backend(MANILA)
    _start(harness, clock, 0, None)
    job = manila.run([bell()], shots=10)
    info = job.queue_info()
    assert info is not None and info.position == 1
    assert info.estimated_start_time is None and info.estimated_complete_time is None
    assert "estimated start time: unknown" in info.format()


def test_a_job_behind_another_projects_reservation_starts_after_it(
    harness: Harness, clock: ManualClock
) -> None:
    _provider(harness, A)
    outsider = _provider(harness, B).get_backend(MANILA)
    end = clock.now() + HOUR
    booked = harness.client.post(
        "/v1/admin/reservations",
        json={
            "backend": MANILA,
            "instance": A,
            "start": clock.now().isoformat(),
            "end": end.isoformat(),
        },
        headers=harness.headers(),
    )
    assert booked.status_code == 201, booked.text
    job = outsider.run([bell()], shots=10)
    info = job.queue_info()
    assert info is not None and info.position == 1
    assert info.estimated_start_time == end
    assert info.estimated_complete_time == end + timedelta(seconds=1)
