"""Calibration history through the API: ``properties(datetime)``, the snapshot a job starts
with, imported snapshots (checked, kept, restored), pulse defaults and the history listing.

One device per family (Falcon ``fake_manila``, Eagle ``fake_sherbrooke``, Heron
``fake_torino``) on a ``ManualClock`` ten days after each device's real snapshot; jobs are held
(``HeldExecutor``), so the 127- and 133-qubit devices never build a noise model.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from qiskit import QuantumCircuit
from starlette.exceptions import StarletteDeprecationWarning

from openqx.core.clock import ManualClock
from openqx.devices.backend_devices import ENTRY_POINT_GROUP
from openqx.devices.catalog import DeviceCatalog
from openqx.devices.catalog_config import CatalogConfig, build_catalog
from openqx.devices.snapshots import CalibrationSnapshot
from openqx.server.app import create_app
from openqx.server.service import Service
from openqx.server.settings import Settings
from openqx.store.blobs import MemoryBlobStore
from openqx.store.calibrations import SqlCalibrationStore
from openqx.store.memory_store import MemoryJobStore
from tests.unit.server.harness import ADMIN_TOKEN, BASE_URL, HeldExecutor, qpy_b64

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

FAMILIES = ["fake_manila", "fake_sherbrooke", "fake_torino"]  # Falcon, Eagle, Heron
DAY = timedelta(days=1)


@dataclass
class World:
    """A service on a manual clock, its client, store and held executor."""

    service: Service
    client: TestClient
    store: MemoryJobStore
    clock: ManualClock
    held: HeldExecutor

    def get(self, path: str, **params: str) -> Any:
        answer = self.client.get(f"/v1{path}", params=params, headers=_auth())
        assert answer.status_code == 200, answer.text
        return answer.json()


def _auth(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _anchor(catalog: DeviceCatalog, name: str) -> CalibrationSnapshot:
    return catalog.get(name).history.anchors[0]


@contextmanager
def _world(
    names: list[str],
    *,
    store: MemoryJobStore | None = None,
    days_after: float = 10.0,
    entry_points: list[EntryPoint] | None = None,
) -> Iterator[World]:
    """Serve ``names`` (and entry points) on a clock ``days_after`` the first one's anchor."""
    config = CatalogConfig(
        simulators=True, include=tuple(names), entry_points=entry_points is not None
    )
    probe = build_catalog(config, entry_points=entry_points or [])
    clock = ManualClock(_anchor(probe, names[0]).last_update_date + days_after * DAY)
    catalog = build_catalog(config, clock=clock, entry_points=entry_points or [])
    own_store = store is None
    store = store or MemoryJobStore(clock=clock)
    held = HeldExecutor(catalog)
    service = Service(
        store=store,
        blobs=MemoryBlobStore(),
        executor=held,
        catalog=catalog,
        settings=Settings(workers=1, admin_token=ADMIN_TOKEN),
        clock=clock,
        stop_timeout=0.0,
        catalog_config=config,
        calibrations=SqlCalibrationStore(store),
    )
    try:
        with TestClient(create_app(service), base_url=BASE_URL) as client:
            yield World(service, client, store, clock, held)
    finally:
        if own_store:
            store.close()


def _one_qubit() -> QuantumCircuit:
    circuit = QuantumCircuit(1, name="x")
    circuit.x(0)
    circuit.measure_all()
    return circuit


def _submit(world: World, backend: str) -> str:
    body = {"backend": backend, "qpy": qpy_b64(_one_qubit()), "shots": 10}
    answer = world.client.post("/v1/jobs", json=body, headers=_auth())
    assert answer.status_code == 201, answer.text
    job_id: str = answer.json()["id"]
    return job_id


def _t1(properties: dict[str, Any], qubit: int = 0) -> float:
    return float(next(p["value"] for p in properties["qubits"][qubit] if p["name"] == "T1"))


@pytest.mark.parametrize("name", FAMILIES)
def test_properties_at_a_date_and_job_properties_follow_the_history(name: str) -> None:
    with _world([name]) as world:
        device = world.service.catalog.get(name)
        anchor = device.history.anchors[0].last_update_date
        # properties(datetime): the newest snapshot strictly before the time, as the history says
        seen = {}
        for days in (1.5, 6.25):
            when = anchor + days * DAY
            served = world.get(f"/backends/{name}/properties", datetime=when.isoformat())
            expected = device.history.snapshot_before(when)
            assert expected is not None
            assert served == expected.properties
            seen[days] = served
        assert _t1(seen[1.5]) != _t1(seen[6.25])  # the calibration drifted in between
        # naive datetimes are UTC on the wire
        naive = (anchor + 3.5 * DAY).replace(tzinfo=None).isoformat()
        expected_naive = device.history.snapshot_before(anchor + 3.5 * DAY)
        assert expected_naive is not None
        assert world.get(f"/backends/{name}/properties", datetime=naive) == (
            expected_naive.properties
        )
        # a job runs with the snapshot in force when it STARTS, not when it was submitted
        first = _submit(world, name)
        assert world.held.next_job() == first  # claimed: holds the only slot
        waiting = _submit(world, name)
        submitted_with = device.current_snapshot_id()
        world.clock.advance(2.5 * 86400)
        started_with = device.current_snapshot_id()
        assert started_with is not None and started_with != submitted_with
        world.held.complete(first, {"results": [], "success": True})
        assert world.held.next_job() == waiting
        record = world.store.get_job(waiting)
        assert record.snapshot_id == started_with
        job_properties = world.get(f"/jobs/{waiting}/properties")
        assert job_properties == device.snapshot(started_with).properties
        in_force = world.get(f"/backends/{name}/properties")
        assert job_properties == in_force
        assert world.get(f"/backends/{name}")["snapshot_id"] == started_with


def test_a_datetime_before_the_first_snapshot_is_null() -> None:
    with _world(["fake_manila"]) as world:
        anchor = _anchor(world.service.catalog, "fake_manila").last_update_date
        before = (anchor - timedelta(seconds=1)).isoformat()
        assert world.get("/backends/fake_manila/properties", datetime=before) is None
        exactly = anchor.isoformat()  # strictly before: the anchor itself is not yet in force
        assert world.get("/backends/fake_manila/properties", datetime=exactly) is None
        just_after = (anchor + timedelta(seconds=1)).isoformat()
        found = world.get("/backends/fake_manila/properties", datetime=just_after)
        assert (
            found["last_update_date"]
            == _anchor(world.service.catalog, "fake_manila").properties["last_update_date"]
        )


def _imported(world: World, name: str, days: float) -> dict[str, Any]:
    """The device's real snapshot, re-dated ``days`` after the anchor, with T1 of qubit 0
    halved (a recalibration from the lab)."""
    anchor = _anchor(world.service.catalog, name)
    properties = copy.deepcopy(anchor.properties)
    date = (anchor.last_update_date + days * DAY).isoformat()
    properties["last_update_date"] = date
    for param in properties["qubits"][0]:
        if param["name"] == "T1":
            param["value"] = _t1(anchor.properties) / 2
    return properties


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["qubits"][2][0].update(value="long"), "qubits[2][0].value"),
        (lambda p: p.pop("gates"), "gates"),
        (lambda p: p.update(last_update_date="yesterday"), "last_update_date"),
        (lambda p: p["qubits"].pop(), "qubits"),
    ],
)
def test_a_malformed_imported_snapshot_is_400_naming_the_field_and_nothing_is_stored(
    mutate: Any, field: str
) -> None:
    with _world(["fake_manila"]) as world:
        device = world.service.catalog.get("fake_manila")
        before = [a.id for a in device.history.anchors]
        bad = _imported(world, "fake_manila", 4)
        mutate(bad)
        answer = world.client.post("/v1/backends/fake_manila/properties", json=bad, headers=_auth())
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["details"]["field"] == field
        assert field in error["message"]
        assert [a.id for a in device.history.anchors] == before
        assert SqlCalibrationStore(world.store).imported_snapshots() == []


def test_only_administrators_import_snapshots() -> None:
    with _world(["fake_manila"]) as world:
        world.store.create_user("alice", "alice-token")
        answer = world.client.post(
            "/v1/backends/fake_manila/properties",
            json=_imported(world, "fake_manila", 4),
            headers=_auth("alice-token"),
        )
        assert answer.status_code == 403, answer.text


def test_an_imported_snapshot_is_served_kept_restored_and_sent_to_workers() -> None:
    store = MemoryJobStore()
    try:
        with _world(["fake_manila"], store=store) as world:
            properties = _imported(world, "fake_manila", 4)
            answer = world.client.post(
                "/v1/backends/fake_manila/properties", json=properties, headers=_auth()
            )
            assert answer.status_code == 201, answer.text
            snapshot_id = answer.json()["snapshot_id"]
            assert answer.json()["imported"] is True
            again = world.client.post(
                "/v1/backends/fake_manila/properties", json=properties, headers=_auth()
            )
            assert again.status_code == 201 and again.json()["snapshot_id"] == snapshot_id
            anchor = _anchor(world.service.catalog, "fake_manila").last_update_date
            at = (anchor + 4.5 * DAY).isoformat()
            served = world.get("/backends/fake_manila/properties", datetime=at)
            assert _t1(served) == pytest.approx(_t1(properties))
            listed = world.get(
                "/backends/fake_manila/snapshots",
                start=(anchor + 3 * DAY).isoformat(),
                end=(anchor + 6 * DAY).isoformat(),
            )
            ids = [s["snapshot_id"] for s in listed]
            assert snapshot_id in ids
            assert [s["imported"] for s in listed if s["snapshot_id"] == snapshot_id] == [True]
            assert len(ids) == 4  # day 3, the import at day 4, its recalibrations at 5 and 6
            # a job starting now runs with a recalibration of the imported snapshot, and its
            # worker receives the imported snapshot to rebuild it
            job = _submit(world, "fake_manila")
            assert world.held.next_job() == job
            record = world.store.get_job(job)
            job_snapshot = record.snapshot_id
            assert job_snapshot is not None
            assert job_snapshot.startswith(snapshot_id + ".")
            kept = SqlCalibrationStore(store).imported_snapshots()
            assert [k.snapshot_id for k in kept] == [snapshot_id]
        # a new server process on the same database serves the imported snapshot again
        with _world(["fake_manila"], store=store) as restarted:
            device = restarted.service.catalog.get("fake_manila")
            assert snapshot_id in [a.id for a in device.history.anchors]
            assert device.history.is_imported(snapshot_id)
            assert (
                restarted.get(f"/jobs/{job}/properties") == device.snapshot(job_snapshot).properties
            )
            setup = restarted.service.dispatcher.calibration
            assert setup is not None
            carried = setup.setup("fake_manila", job_snapshot)
            assert carried is not None and carried.imported is not None
            assert _t1(carried.imported) == pytest.approx(_t1(properties))
    finally:
        store.close()


def test_the_history_listing_is_bounded() -> None:
    with _world(["fake_manila"], days_after=40) as world:
        everything = world.get("/backends/fake_manila/snapshots", limit="1000")
        assert len(everything) == 31  # the default window: 30 days up to now, daily
        dates = [s["last_update_date"] for s in everything]
        assert dates == sorted(dates)
        assert len(world.get("/backends/fake_manila/snapshots", limit="5")) == 5
        too_many = world.client.get(
            "/v1/backends/fake_manila/snapshots", params={"limit": "1001"}, headers=_auth()
        )
        assert too_many.status_code == 400, too_many.text
        backwards = world.client.get(
            "/v1/backends/fake_manila/snapshots",
            params={"start": "2030-01-02T00:00:00", "end": "2030-01-01T00:00:00"},
            headers=_auth(),
        )
        assert backwards.status_code == 400
        assert backwards.json()["error"]["details"]["field"] == "start"
        assert world.get("/backends/ibmq_qasm_simulator/snapshots") == []


def test_pulse_defaults_follow_the_snapshot_in_force() -> None:
    with _world(["fake_manila"]) as world:
        device = world.service.catalog.get("fake_manila")
        served = world.get("/backends/fake_manila/defaults")
        expected = device.defaults()
        assert expected is not None and served == expected.to_dict()
        current = device.current_snapshot()
        assert current is not None
        frequency = next(
            p["value"] for p in current.properties["qubits"][0] if p["name"] == "frequency"
        )
        assert served["qubit_freq_est"][0] == pytest.approx(frequency)
        assert world.get("/backends/ibmq_qasm_simulator/defaults") is None


def test_an_entry_point_that_fails_is_logged_and_the_others_are_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = "tests.unit.devices.toy_backend"
    entry_points = [
        EntryPoint(name="lab_toy", value=f"{module}:make_toy", group=ENTRY_POINT_GROUP),
        EntryPoint(name="lab_broken", value=f"{module}:broken_factory", group=ENTRY_POINT_GROUP),
    ]
    with (
        caplog.at_level(logging.WARNING, logger="openqx.devices.backend_devices"),
        _world(["fake_manila"], entry_points=entry_points) as world,
    ):
        names = {b["name"] for b in world.get("/backends")}
        assert {"lab_toy", "fake_manila", "ibmq_qasm_simulator"} <= names
        assert "lab_broken" not in names
        failed = [r.getMessage() for r in caplog.records if "lab_broken" in r.getMessage()]
        assert failed and "control rack 3 does not answer" in failed[0]


def test_a_job_on_an_entry_point_device_runs_on_its_backend() -> None:
    module = "tests.unit.devices.toy_backend"
    entry_points = [EntryPoint(name="lab_toy", value=f"{module}:make_toy", group=ENTRY_POINT_GROUP)]
    with _world(["fake_manila"], entry_points=entry_points) as world:
        job = _submit(world, "lab_toy")
        assert world.held.next_job() == job
        world.held.finish(job)
        answer = world.client.get(f"/v1/jobs/{job}/result", headers=_auth())
        assert answer.status_code == 200, answer.text
        counts = answer.json()["results"][0]["data"]["counts"]
        assert set(counts) == {"0x1"}  # BasicSimulator is ideal: X then measure reads 1


def test_time_zones_of_the_datetime_parameter() -> None:
    with _world(["fake_manila"]) as world:
        device = world.service.catalog.get("fake_manila")
        anchor = device.history.anchors[0].last_update_date
        when = anchor + 2.5 * DAY
        other_zone = when.astimezone(datetime.now(UTC).astimezone().tzinfo)
        a = world.get("/backends/fake_manila/properties", datetime=when.isoformat())
        b = world.get("/backends/fake_manila/properties", datetime=other_zone.isoformat())
        assert a == b


def test_a_replica_finds_a_snapshot_another_one_imported_since_it_started() -> None:
    store = MemoryJobStore()
    try:
        with (
            _world(["fake_manila"], store=store) as first,
            _world(["fake_manila"], store=store) as second,
        ):
            properties = _imported(first, "fake_manila", 4)
            snapshot_id = first.service.import_properties("fake_manila", properties).id
            in_force = first.service.catalog.get("fake_manila").current_snapshot_id()
            assert in_force is not None and in_force.startswith(snapshot_id + ".")
            device = second.service.catalog.get("fake_manila")
            assert device.history.get(in_force) is None  # not known there yet
            found = second.service.job_snapshot("fake_manila", in_force)
            assert (
                found.properties
                == first.service.catalog.get("fake_manila").snapshot(in_force).properties
            )
    finally:
        store.close()


def test_the_devices_file_is_a_setting_and_a_serve_flag() -> None:
    from pathlib import Path

    from openqx.cli.main import build_parser

    env = Settings.from_env({"OPENQX_DEVICES_CONFIG": "/etc/openqx/devices.toml"})
    assert env.devices_config == Path("/etc/openqx/devices.toml")
    assert Settings.from_env({}).devices_config is None
    args = build_parser().parse_args(["serve", "--devices-config", "lab.toml"])
    assert args.devices_config == Path("lab.toml")
