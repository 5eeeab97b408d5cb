from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from openqx.core import errors
from openqx.devices import CalibrationSnapshot, Device, DeviceCatalog, default_catalog


def test_catalog_lists_simulators_and_emulated_devices() -> None:
    names = default_catalog().names()
    for name in [
        "ibmq_qasm_simulator",
        "simulator_statevector",
        "simulator_mps",
        "simulator_stabilizer",
        "fake_manila",
        "fake_perth",
        "fake_kolkata",
        "fake_sherbrooke",
        "fake_torino",
        "fake_fez",
    ]:
        assert name in names


@pytest.mark.parametrize(
    ("name", "qubits", "two_qubit_gate"),
    [
        ("fake_manila", 5, "cx"),
        ("fake_perth", 7, "cx"),
        ("fake_kolkata", 27, "cx"),
        ("fake_sherbrooke", 127, "ecr"),
        ("fake_torino", 133, "cz"),
    ],
)
def test_emulated_device_shape(name: str, qubits: int, two_qubit_gate: str) -> None:
    device = default_catalog().get(name)
    assert device.num_qubits == qubits
    assert not device.simulator
    assert device.configuration["backend_name"] == name
    assert two_qubit_gate in device.target().operation_names
    assert device.target().num_qubits == qubits
    assert device.current_snapshot() is not None


def test_simulator_configurations_load_as_ibm_models() -> None:
    from qiskit_ibm_runtime.models import BackendConfiguration

    expected = {
        "ibmq_qasm_simulator": ("automatic", 28),
        "simulator_statevector": ("statevector", 28),
        "simulator_mps": ("matrix_product_state", 100),
        "simulator_stabilizer": ("stabilizer", 5000),
    }
    for name, (method, qubits) in expected.items():
        device = default_catalog().get(name)
        conf = BackendConfiguration.from_dict(device.configuration)
        assert conf.backend_name == name
        assert conf.simulator
        assert device.configuration["simulation_method"] == method == device.simulation_method
        assert device.num_qubits == qubits
        assert device.max_shots == 100_000
        assert device.max_experiments == 300
        assert device.snapshots == []
        assert device.current_snapshot() is None
    stabilizer = default_catalog().get("simulator_stabilizer").target()
    assert "h" in stabilizer.operation_names
    assert "t" not in stabilizer.operation_names


def test_unknown_backend() -> None:
    with pytest.raises(errors.BackendNotFoundError, match="nope"):
        default_catalog().get("nope")


def test_listing_names_is_cheap_and_lazy() -> None:
    catalog = DeviceCatalog()
    calls: list[str] = []

    def loader() -> Device:
        calls.append("x")
        return Device(name="x", configuration={"n_qubits": 1}, simulator=True)

    catalog.add_lazy("x", loader)
    start = time.perf_counter()
    assert catalog.names() == ["x"]
    assert time.perf_counter() - start < 0.05
    assert calls == []
    assert catalog.get("x") is catalog.get("x")
    assert calls == ["x"]


def _snap(day: int) -> CalibrationSnapshot:
    return CalibrationSnapshot.from_properties(
        {"backend_name": "d", "last_update_date": f"2024-01-{day:02d}T12:00:00-03:00", "qubits": []}
    )


def test_snapshot_lookup_by_id_and_date() -> None:
    old, new = _snap(1), _snap(5)
    device = Device(name="d", configuration={"n_qubits": 1}, simulator=False, snapshots=[new, old])
    assert device.snapshots == [old, new]
    assert device.current_snapshot() is new
    assert device.snapshot(old.id) is old
    assert old.last_update_date == datetime(2024, 1, 1, 15, tzinfo=UTC)
    assert len(old.id) == 16 and old.id != new.id
    assert device.snapshot_before(new.last_update_date) is old
    assert device.snapshot_before(new.last_update_date + timedelta(seconds=1)) is new
    assert device.snapshot_before(old.last_update_date) is None
    assert device.snapshot_before(datetime(2024, 1, 3)) is old  # naive = UTC
    with pytest.raises(errors.NotFoundError, match="no calibration snapshot 'nope'"):
        device.snapshot("nope")


def test_target_is_cached_per_snapshot() -> None:
    device = default_catalog().get("fake_manila")
    snap = device.current_snapshot()
    assert snap is not None
    assert device.target() is device.target(snap.id)
    assert device.target().qubit_properties is not None


def test_every_fake_provider_device_is_listed_without_loading_any() -> None:
    from openqx.devices.catalog import DeviceCatalog, add_fake_devices, add_simulators
    from openqx.devices.fake_import import fake_device_folders

    catalog = DeviceCatalog()
    add_simulators(catalog)
    add_fake_devices(catalog)
    names = catalog.names()
    folders = fake_device_folders()
    assert len(folders) >= 60
    assert {f"fake_{folder}" for folder in folders.values()} <= set(names)
    for name in ("fake_armonk", "fake_washington", "fake_marrakesh", "fake_aachen"):
        assert name in names
    assert not any(catalog.is_loaded(name) for name in names)
    armonk = catalog.get("fake_armonk")
    assert armonk.num_qubits == 1 and catalog.is_loaded("fake_armonk")
    assert armonk.current_snapshot() is not None


def test_emulated_configurations_are_honest() -> None:
    device = default_catalog().get("fake_manila")
    assert device.configuration["open_pulse"] is False
    assert device.configuration["meas_levels"] == [1, 2]
    # what describes the device stays
    assert len(device.configuration["qubit_lo_range"]) == 5
    assert device.configuration["dt"] == pytest.approx(0.2222222222222222)
