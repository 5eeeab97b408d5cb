from __future__ import annotations

import logging
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from qiskit import QuantumCircuit, transpile

from openqx.core.targets import build_target
from openqx.devices.backend_devices import (
    ENTRY_POINT_GROUP,
    device_from_backend,
    load_entry_point_devices,
)
from openqx.devices.catalog import DeviceCatalog, add_simulators
from openqx.devices.validation import check_circuits
from tests.unit.devices.toy_backend import EDGES, ToyBackend

MODULE = "tests.unit.devices.toy_backend"


def _entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_a_backend_v2_becomes_a_device() -> None:
    backend = ToyBackend()
    device = device_from_backend("lab_toy", backend, default_job_limit=2)
    assert device.backend is backend and not device.simulator
    assert device.num_qubits == 3 and device.max_experiments == 50
    assert device.target() is backend.target  # ISA checks use the backend's own target
    configuration = device.configuration
    assert configuration["backend_name"] == "lab_toy"
    assert configuration["backend_version"] == "0.3"
    assert configuration["open_pulse"] is False and configuration["meas_levels"] == [2]
    assert sorted(map(tuple, configuration["coupling_map"])) == sorted(EDGES)
    # the client rebuilds a target from the configuration alone: same instructions, same map
    rebuilt = build_target(configuration, None)
    assert set(rebuilt.operation_names) >= {"cx", "sx", "x", "rz", "measure"}
    assert sorted(rebuilt.build_coupling_map().get_edges()) == sorted(EDGES)
    assert device.current_snapshot() is None and device.defaults() is None
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 2)
    circuit.measure_all()
    isa = transpile(circuit, target=device.target(), seed_transpiler=1)
    check_circuits([isa], device)
    counts = backend.run(isa, shots=200, seed_simulator=3).result().get_counts()
    assert set(counts) <= {"000", "101"}


def test_entry_points_that_fail_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    catalog = DeviceCatalog()
    add_simulators(catalog)
    entry_points = [
        _entry_point("toy_class", f"{MODULE}:ToyBackend"),
        _entry_point("toy_missing", "lab_stack_that_is_not_installed:Backend"),
        _entry_point("toy_factory", f"{MODULE}:make_toy"),
        _entry_point("toy_broken", f"{MODULE}:broken_factory"),
        _entry_point("toy_wrong", f"{MODULE}:NOT_A_BACKEND"),
        _entry_point("simulator_mps", f"{MODULE}:ToyBackend"),  # name taken
    ]
    with caplog.at_level(logging.WARNING, logger="openqx.devices.backend_devices"):
        added = load_entry_point_devices(catalog, entry_points)
    assert added == ["toy_class", "toy_factory"]
    assert catalog.get("toy_factory").backend is not None
    assert catalog.get("simulator_mps").backend is None  # the built-in stays
    failures = {r.device: r for r in caplog.records if hasattr(r, "device")}  # type: ignore[attr-defined]
    assert set(failures) == {"toy_missing", "toy_broken", "toy_wrong", "simulator_mps"}
    assert "ModuleNotFoundError" in failures["toy_missing"].getMessage()
    assert "control rack 3 does not answer" in failures["toy_broken"].getMessage()
    assert "neither a qiskit BackendV2" in failures["toy_wrong"].getMessage()
    assert failures["toy_broken"].levelno == logging.ERROR


def test_entry_points_are_discovered_from_installed_distributions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist_info = tmp_path / "openqx_toy_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: openqx-toy-plugin\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntoy_installed = {MODULE}:make_toy\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert str(tmp_path) in sys.path
    catalog = DeviceCatalog()
    added = load_entry_point_devices(catalog)
    assert "toy_installed" in added
    assert catalog.get("toy_installed").num_qubits == 3


def test_a_backend_that_publishes_properties_gets_a_calibration_snapshot() -> None:
    from tests.unit.devices.toy_backend import CalibratedToyBackend

    device = device_from_backend("lab_calibrated", CalibratedToyBackend())
    snapshot = device.current_snapshot()
    assert snapshot is not None
    assert snapshot.properties["backend_name"] == "lab_calibrated"
    assert device.snapshot(snapshot.id) is snapshot
    assert len(snapshot.properties["qubits"]) == 3
