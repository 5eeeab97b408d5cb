"""Instance pages for administrators: units, members and roles, devices with limits."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from openqx.core.access import Role
from tests.unit.server.harness import ADMIN_TOKEN, Harness, open_harness
from tests.unit.web.test_pages import browser_for


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """A service with hub ``lab`` (group ``lab/qc``, project ``lab/qc/alpha`` with one device
    granted), its hub administrator ``hubby`` and member ``mem``."""
    with open_harness() as opened:
        store = opened.store
        for scope in ("lab", "lab/qc", "lab/qc/alpha"):
            store.create_unit(scope, share=3)
        store.create_user("hubby", "token-hubby", instances=["lab/qc/alpha"])
        store.set_membership("hubby", "lab", Role.HUB_ADMIN)
        store.create_user("mem", "token-mem", instances=["lab/qc/alpha"])
        store.grant_device("lab/qc/alpha", "fake_manila", share=2, job_limit=4, max_shots=1000)
        yield opened


def test_a_hub_administrator_sees_the_units_members_and_devices(harness: Harness) -> None:
    client = browser_for(harness, "token-hubby")
    listing = client.get("/jobs")
    assert 'href="/instances"' in listing.text
    units = client.get("/instances").text
    assert re.findall(r'<tr data-unit="([^"]+)"', units) == ["lab", "lab/qc", "lab/qc/alpha"]
    project = client.get("/instances/lab/qc/alpha")
    assert project.status_code == 200
    assert set(re.findall(r'<tr data-member="([^"]+)"', project.text)) == {"hubby", "mem"}
    assert "hub_admin of lab" in project.text
    grant = re.search(r'<tr data-grant="fake_manila">(.*?)</tr>', project.text, re.S)
    assert grant and "<td>4</td>" in grant.group(1) and "<td>1000</td>" in grant.group(1)
    hub = client.get("/instances/lab").text
    assert "Devices enabled" not in hub and "lab/qc/alpha" in hub


def test_members_and_others_cannot_open_instances(harness: Harness) -> None:
    client = browser_for(harness, "token-mem")
    assert 'href="/instances"' not in client.get("/jobs").text
    answer = client.get("/instances")
    assert answer.status_code == 403 and "administrator" in answer.text
    outside = browser_for(harness, "token-hubby").get("/instances/openqx")
    assert outside.status_code == 403


def test_server_administrators_see_every_unit(harness: Harness) -> None:
    client = browser_for(harness, ADMIN_TOKEN)
    units = re.findall(r'<tr data-unit="([^"]+)"', client.get("/instances").text)
    assert {"lab", "lab/qc/alpha"} <= set(units) and len(units) > 3
    assert client.get("/instances/nowhere").status_code == 404
