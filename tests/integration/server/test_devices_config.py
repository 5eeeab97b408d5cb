"""``Service.from_settings`` with a devices configuration file and installed entry points: a
broken entry point is logged and skipped while the server starts and serves the others; a
job on an entry-point device runs on its own ``BackendV2`` through the catalog a worker
rebuilds from the configuration; imported snapshots survive a restart; a malformed file
stops the start before anything is opened."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import pytest
from qiskit import QuantumCircuit, qpy
from starlette.exceptions import StarletteDeprecationWarning

from openqx.core import wire
from openqx.devices.backend_devices import ENTRY_POINT_GROUP
from openqx.devices.custom import DeviceConfigError
from openqx.server.app import create_app
from openqx.server.service import Service
from openqx.server.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)  # see tests/unit/server/harness
    from starlette.testclient import TestClient

TOKEN = "devices-config-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MODULE = "tests.unit.devices.toy_backend"


def _install_plugin(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution publishing a working and a broken ``openqx.devices`` entry point."""
    dist_info = folder / "openqx_lab_plugin-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: openqx-lab-plugin\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nlab_toy = {MODULE}:make_toy\n"
        f"lab_broken = {MODULE}:broken_factory\n"
    )
    monkeypatch.syspath_prepend(str(folder))


def _settings(tmp_path: Path, config: str) -> Settings:
    path = tmp_path / "openqx.toml"
    path.write_text(config)
    return Settings(
        data_dir=tmp_path / "data",
        executor="inline",
        workers=1,
        admin_token=TOKEN,
        devices_config=path,
    )


def test_a_broken_entry_point_is_skipped_and_the_others_serve_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _install_plugin(tmp_path / "site", monkeypatch)
    settings = _settings(tmp_path, '[devices]\nsimulators = false\ninclude = ["fake_manila"]\n')
    with caplog.at_level(logging.WARNING, logger="openqx.devices.backend_devices"):
        service = Service.from_settings(settings)
    assert service.catalog.names() == ["fake_manila", "lab_toy"]
    failed = [r.getMessage() for r in caplog.records if "lab_broken" in r.getMessage()]
    assert failed and "control rack 3 does not answer" in failed[0]
    circuit = QuantumCircuit(1, name="x")
    circuit.x(0)
    circuit.measure_all()
    buffer = io.BytesIO()
    qpy.dump([circuit], buffer)
    body = {"backend": "lab_toy", "qpy": wire.b64encode(buffer.getvalue()), "shots": 50}
    with TestClient(create_app(service)) as client:
        assert {b["name"] for b in client.get("/v1/backends", headers=AUTH).json()} == {
            "fake_manila",
            "lab_toy",
        }
        created = client.post("/v1/jobs", json=body, headers=AUTH)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        client.get(f"/v1/jobs/{job_id}/events", headers=AUTH)  # ends when the job is final
        result = client.get(f"/v1/jobs/{job_id}/result", headers=AUTH)
        assert result.status_code == 200, result.text
        assert result.json()["results"][0]["data"]["counts"] == {"0x1": 50}


def test_imported_snapshots_survive_a_restart(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, '[devices]\nsimulators = false\ninclude = ["fake_manila"]\nentry_points = false\n'
    )
    with TestClient(create_app(Service.from_settings(settings))) as client:
        current = client.get("/v1/backends/fake_manila/properties", headers=AUTH).json()
        current["last_update_date"] = "2026-11-30T00:00:00+00:00"
        imported = client.post("/v1/backends/fake_manila/properties", json=current, headers=AUTH)
        assert imported.status_code == 201, imported.text
    snapshot_id = imported.json()["snapshot_id"]
    with TestClient(create_app(Service.from_settings(settings))) as client:
        listed = client.get(
            "/v1/backends/fake_manila/snapshots",
            params={"start": "2026-11-29T00:00:00Z", "end": "2026-11-30T00:00:00Z"},
            headers=AUTH,
        ).json()
        assert [s["snapshot_id"] for s in listed if s["imported"]] == [snapshot_id]


def test_a_malformed_devices_file_stops_the_start_before_anything_opens(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "[devices]\ninclude = 3\n")
    with pytest.raises(DeviceConfigError, match=r"openqx\.toml: devices\.include"):
        Service.from_settings(settings)
    assert not (tmp_path / "data" / "openqx.sqlite3").exists()
