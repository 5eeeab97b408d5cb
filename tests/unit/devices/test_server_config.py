"""The server's TOML device configuration and the catalog a worker rebuilds from it."""

from __future__ import annotations

import json
import pickle
from datetime import timedelta
from pathlib import Path

import pytest

from openqx.core.clock import ManualClock
from openqx.devices.catalog_config import build_catalog
from openqx.devices.custom import DeviceConfigError
from openqx.devices.server_config import load_devices_config
from openqx.devices.snapshots import parse_datetime
from openqx.devices.worker_setup import DeviceSetup, worker_catalog, worker_device
from tests.unit.devices.factories import ANCHOR_DATE, small_configuration, small_properties


def _write(folder: Path, text: str) -> Path:
    (folder / "chips").mkdir(exist_ok=True)
    (folder / "chips" / "conf.json").write_text(json.dumps(small_configuration(2)))
    (folder / "chips" / "props.json").write_text(json.dumps(small_properties(2)))
    path = folder / "openqx.toml"
    path.write_text(text)
    return path


CONFIG = """
[devices]
simulators = false
include = ["fake_manila", "fake_lima"]
exclude = ["fake_lima"]
entry_points = false

[devices.options.fake_manila]
job_limit = 3
drift = false

[[devices.custom]]
name = "lab_chip"
configuration = "chips/conf.json"
properties = ["chips/props.json"]
"""


def test_the_file_chooses_devices_and_options(tmp_path: Path) -> None:
    config = load_devices_config(_write(tmp_path, CONFIG))
    catalog = build_catalog(config)
    assert catalog.names() == ["fake_manila", "lab_chip"]
    assert catalog.get("fake_manila").default_job_limit == 3
    assert catalog.get("fake_manila").drift is None
    assert config.custom[0].configuration == (tmp_path / "chips" / "conf.json").resolve()


def test_a_file_without_the_table_serves_the_defaults(tmp_path: Path) -> None:
    config = load_devices_config(_write(tmp_path, "# nothing here\n"))
    assert config.include == ("*",) and config.simulators


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[devices]\nsimulator = true\n", "devices.simulator"),
        ("[devices]\ninclude = 3\n", "devices.include"),
        ("devices = 1\n", "devices"),
        ("[devices\n", "<file>"),
    ],
)
def test_a_bad_file_names_itself_and_the_key(tmp_path: Path, text: str, field: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DeviceConfigError) as raised:
        load_devices_config(path)
    assert raised.value.field == field
    assert str(path) in str(raised.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DeviceConfigError, match="cannot be read"):
        load_devices_config(tmp_path / "absent.toml")


def test_a_worker_rebuilds_the_catalog_and_resolves_imported_snapshot_ids(
    tmp_path: Path,
) -> None:
    config = load_devices_config(_write(tmp_path, CONFIG))
    clock = ManualClock(parse_datetime(ANCHOR_DATE) + timedelta(days=10))
    server = build_catalog(config, clock=clock)
    chip = server.get("lab_chip")
    imported = chip.import_properties(
        small_properties(2, date="2026-01-05T00:00:00+00:00", t1_us=42.0)
    )
    in_force = chip.current_snapshot_id()
    assert in_force is not None and in_force.startswith(imported.id + ".")
    # what travels to the worker is picklable, and the worker resolves the id to the same data
    setup = pickle.loads(pickle.dumps(DeviceSetup(config, imported.properties)))
    device = worker_device(setup, "lab_chip")
    assert device is not chip
    assert device.snapshot(in_force).properties == chip.snapshot(in_force).properties
    assert worker_catalog(config) is worker_catalog(config)  # built once per process
    # without the imported snapshot the worker could not know it
    bare = build_catalog(config).get("lab_chip")
    assert bare.history.get(in_force) is None
