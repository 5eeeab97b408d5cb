from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.devices.catalog_config import CatalogConfig, CustomDeviceSpec, build_catalog
from openqx.devices.custom import DeviceConfigError, load_custom_device
from openqx.devices.drift import DriftModel
from tests.unit.devices.factories import small_configuration, small_properties


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_a_custom_device_from_json_files(tmp_path: Path) -> None:
    conf = _write(tmp_path / "conf.json", small_configuration(3))
    first = _write(tmp_path / "p1.json", small_properties(3, date="2026-02-01T00:00:00+00:00"))
    second = _write(tmp_path / "p0.json", small_properties(3, date="2026-01-01T00:00:00+00:00"))
    device = load_custom_device(
        "lab_chip",
        conf,
        [first, second],
        default_job_limit=2,
        drift=DriftModel(),
        clock=ManualClock(datetime(2026, 2, 3, 12, tzinfo=UTC)),
    )
    assert device.name == "lab_chip" and device.num_qubits == 3
    assert device.configuration["backend_name"] == "lab_chip"
    assert device.configuration["open_pulse"] is False
    assert device.configuration["meas_levels"] == [1, 2]
    assert [s.last_update_date.month for s in device.snapshots] == [1, 2]
    current = device.current_snapshot()
    assert current is not None and current.id.startswith(device.snapshots[1].id + ".")
    assert current.last_update_date == datetime(2026, 2, 3, tzinfo=UTC)
    assert "cx" in device.target().operation_names
    assert device.default_job_limit == 2
    assert device.defaults() is not None


@pytest.mark.parametrize(
    ("which", "mutate", "field"),
    [
        ("conf", lambda c: c.update(n_qubits=0), "n_qubits"),
        ("conf", lambda c: c.update(basis_gates="cx"), "basis_gates"),
        ("conf", lambda c: c.update(coupling_map=[[0, 9]]), "coupling_map[0]"),
        ("conf", lambda c: c.update(simulator=True), "simulator"),
        ("conf", lambda c: c.pop("local"), "<configuration>"),
        ("props", lambda p: p["qubits"][2][0].update(value="x"), "qubits[2][0].value"),
        ("props", lambda p: p["qubits"].pop(), "qubits"),
    ],
)
def test_a_broken_custom_device_names_the_file_and_field(
    tmp_path: Path, which: str, mutate: Any, field: str
) -> None:
    conf, props = small_configuration(3), small_properties(3)
    mutate(conf if which == "conf" else props)
    conf_path = _write(tmp_path / "conf.json", conf)
    props_path = _write(tmp_path / "props.json", props)
    with pytest.raises(DeviceConfigError) as info:
        load_custom_device("lab_chip", conf_path, [props_path])
    assert info.value.field == field
    expected = conf_path if which == "conf" else props_path
    assert info.value.source == str(expected)
    assert str(expected) in str(info.value) and field in str(info.value)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "conf.json"
    bad.write_text("{not json")
    with pytest.raises(DeviceConfigError, match="not valid JSON"):
        load_custom_device("lab_chip", bad)
    with pytest.raises(DeviceConfigError, match="cannot be read"):
        load_custom_device("lab_chip", tmp_path / "missing.json")


def test_catalog_configuration_chooses_devices_and_options(tmp_path: Path) -> None:
    _write(tmp_path / "conf.json", small_configuration(2))
    _write(tmp_path / "props.json", small_properties(2))
    config = CatalogConfig.from_dict(
        {
            "simulators": False,
            "include": ["fake_manila", "fake_perth", "fake_k*"],
            "exclude": ["fake_kyiv"],
            "drift": {"seed": 4, "period_hours": 12},
            "options": {"fake_perth": {"job_limit": -1, "drift": False}},
            "custom": [
                {"name": "lab_chip", "configuration": "conf.json", "properties": ["props.json"]}
            ],
            "entry_points": False,
        },
        base_dir=tmp_path,
    )
    assert config.custom == (
        CustomDeviceSpec("lab_chip", tmp_path / "conf.json", (tmp_path / "props.json",)),
    )
    assert config.drift == DriftModel(seed=4, period=timedelta(hours=12))
    clock = ManualClock(datetime(2026, 1, 3, tzinfo=UTC))
    catalog = build_catalog(config, clock=clock)
    names = catalog.names()
    assert "fake_manila" in names and "fake_perth" in names and "fake_kolkata" in names
    assert "fake_kyiv" not in names and "fake_sherbrooke" not in names
    assert "simulator_mps" not in names
    assert catalog.is_loaded("lab_chip") and not catalog.is_loaded("fake_manila")
    perth = catalog.get("fake_perth")
    assert perth.default_job_limit is None and perth.drift is None
    assert perth.current_snapshot() is perth.snapshots[0]
    manila = catalog.get("fake_manila")
    assert manila.default_job_limit == 5 and manila.drift == config.drift
    chip = catalog.get("lab_chip").current_snapshot()
    assert chip is not None and chip.last_update_date == datetime(2026, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"include": "fake_*"}, "include"),
        ({"drift": {"period_hours": 0}}, "drift.period_hours"),
        ({"drift": {"seed": "x"}}, "drift.seed"),
        ({"options": {"fake_manila": {"job_limit": 0}}}, "options.fake_manila.job_limit"),
        ({"options": {"fake_manila": {"speed": 1}}}, "options.fake_manila.speed"),
        ({"custom": [{"name": "x"}]}, "custom[0].configuration"),
        ({"entry_points": "yes"}, "entry_points"),
    ],
)
def test_a_bad_catalog_configuration_names_the_key(data: dict[str, Any], field: str) -> None:
    with pytest.raises(DeviceConfigError) as info:
        CatalogConfig.from_dict(data)
    assert info.value.field == field


def test_drift_can_be_switched_off() -> None:
    config = CatalogConfig.from_dict({"drift": {"enabled": False}, "entry_points": False})
    assert config.drift is None
    catalog = build_catalog(config, entry_points=[])
    manila = catalog.get("fake_manila")
    assert manila.current_snapshot() is manila.snapshots[0]
