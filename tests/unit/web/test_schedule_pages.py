"""Usage against share on instance pages; reservations and maintenance on device pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from openqx.core.access import Role
from openqx.core.status import JobStatus
from openqx.store.records import NewJob
from tests.unit.server.harness import ADMIN_TOKEN, Harness, open_harness
from tests.unit.web.test_pages import browser_for


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """Project ``lab/qc/alpha`` (share 3 on ``fake_manila`` by its grant) with a finished job of
    120 s usage there, a reservation of ``fake_manila`` for it tomorrow, the device in
    maintenance (so the dispatcher never runs the job), hub administrator ``hubby``, and
    ``outsider``, a member of another project."""
    with open_harness() as opened:
        store = opened.store
        for scope in ("lab", "lab/qc", "lab/qc/alpha", "far", "far/g", "far/g/p"):
            store.create_unit(scope, share=2)
        hubby = store.create_user("hubby", "token-hubby", instances=["lab/qc/alpha"])
        store.set_membership("hubby", "lab", Role.HUB_ADMIN)
        store.create_user("outsider", "token-outsider", instances=["far/g/p"])
        store.grant_device("lab/qc/alpha", "fake_manila", share=3)
        store.start_maintenance("fake_manila", message="recalibrating couplers", created_by="root")
        job = NewJob(
            id="job-with-usage",
            kind="circuits",
            backend="fake_manila",
            owner_id=hubby.id,
            instance="lab/qc/alpha",
            num_circuits=1,
            shots=100,
        )
        store.create_job(job)
        store.finish_job(job.id, JobStatus.DONE, usage_seconds=120.0)
        now = opened.service.clock.now()
        start = now + timedelta(days=1)
        store.create_reservation(
            "fake_manila", "lab/qc/alpha", start, start + timedelta(hours=2), created_by="root"
        )
        yield opened


def _cells(html: str, marker: str) -> list[str]:
    row = re.search("<tr " + re.escape(marker) + r">(.*?)</tr>", html, re.S)
    assert row, f"no row {marker} in the page"
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]


def test_instance_pages_show_usage_against_share_in_the_window(harness: Harness) -> None:
    client = browser_for(harness, "token-hubby")
    project = client.get("/instances/lab/qc/alpha").text
    assert _cells(project, 'data-usage="lab/qc/alpha|fake_manila"') == [
        "lab/qc/alpha",
        "fake_manila",
        "120.0",
        "3",
        "40.0",
    ]
    assert 'data-label="Usage per share (s)"' in project
    hub = client.get("/instances/lab").text
    assert _cells(hub, 'data-usage="lab|fake_manila"') == [
        "lab",
        "fake_manila",
        "120.0",
        "2",
        "60.0",
    ]
    assert 'data-usage="lab/qc|fake_manila"' in hub
    assert 'data-usage="far' not in client.get("/instances/lab").text
    other = browser_for(harness, ADMIN_TOKEN).get("/instances/far").text
    assert "No usage in the window." in other


def test_the_device_page_lists_reservations_owner_fields_for_owners_only(
    harness: Harness,
) -> None:
    owner = browser_for(harness, "token-hubby").get("/devices/fake_manila").text
    cells = _cells(owner, 'data-reservation="lab/qc/alpha"')
    assert cells[2] == "lab/qc/alpha" and cells[3] == "dedicated" and cells[4]
    assert "this server does not take reservations" not in owner
    stranger = browser_for(harness, "token-outsider").get("/devices/fake_manila")
    assert stranger.status_code == 200
    cells = _cells(stranger.text, 'data-reservation="lab/qc/alpha"')
    assert cells[2] == "lab/qc/alpha" and cells[3:] == ["", ""]


def test_the_device_page_shows_maintenance(harness: Harness) -> None:
    page = browser_for(harness, "token-outsider").get("/devices/fake_manila").text
    assert 'id="maintenance"' in page and "recalibrating couplers" in page
    assert "ended by an administrator" in page
    simulator = browser_for(harness, "token-outsider").get("/devices/ibmq_qasm_simulator").text
    assert 'id="maintenance"' not in simulator
    assert "No reservations now or to come." in simulator
