"""A worker validates and imports an administrator's snapshot once, not once per job."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from openqx.devices.catalog_config import CatalogConfig, build_catalog
from openqx.devices.device import Device
from openqx.devices.worker_setup import worker_device
from openqx.scheduler.calibration import JobCalibration


def test_the_worker_imports_a_snapshot_once_and_resolves_its_jobs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = CatalogConfig(simulators=False, include=("fake_manila",), drift=None)
    server = build_catalog(config)
    chip = server.get("fake_manila")
    properties = copy.deepcopy(chip.history.anchors[0].properties)
    properties["last_update_date"] = "2030-01-05T00:00:00+00:00"
    imported = chip.import_properties(properties)
    calibration = JobCalibration(server, config)

    imports: list[str] = []
    real_import = Device.import_properties

    def counting(self: Device, data: dict[str, Any]) -> Any:
        imports.append(self.name)
        return real_import(self, data)

    monkeypatch.setattr(Device, "import_properties", counting)
    for _ in range(3):  # three jobs: each request carries the setup, pickled
        setup = calibration.setup("fake_manila", imported.id)
        assert setup is not None and setup.imported_id == imported.id
        device = worker_device(pickle.loads(pickle.dumps(setup)), "fake_manila")
        assert device is not chip
        assert device.snapshot(imported.id).properties == imported.properties
    assert imports == ["fake_manila"]


def test_a_setup_without_the_snapshot_id_still_imports() -> None:
    """Older requests (no ``imported_id``) keep working: the import is idempotent."""
    from openqx.devices.worker_setup import DeviceSetup

    config = CatalogConfig(simulators=False, include=("fake_manila",), drift=None)
    chip = build_catalog(config).get("fake_manila")
    properties = copy.deepcopy(chip.history.anchors[0].properties)
    properties["last_update_date"] = "2030-02-05T00:00:00+00:00"
    imported = chip.import_properties(properties)
    for _ in range(2):
        device = worker_device(DeviceSetup(config, imported.properties), "fake_manila")
        assert device.snapshot(imported.id).properties == imported.properties
