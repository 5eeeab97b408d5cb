from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.devices import Device, default_catalog
from openqx.devices import device as device_module
from openqx.devices.drift import DriftModel
from openqx.devices.pulse_defaults import PulseDefaults, honest_configuration, pulse_defaults
from openqx.devices.snapshots import CalibrationSnapshot
from tests.unit.devices.factories import small_configuration, small_properties


def _small(now: datetime) -> Device:
    return Device(
        name="small",
        configuration=honest_configuration(small_configuration()),
        simulator=False,
        snapshots=[CalibrationSnapshot.from_properties(small_properties())],
        drift=DriftModel(),
        clock=ManualClock(now),
    )


def test_defaults_follow_the_snapshot_frequencies() -> None:
    device = _small(datetime(2026, 1, 20, tzinfo=UTC))
    anchor = device.defaults(device.snapshots[0].id)
    assert anchor is not None
    # Hz on the object (GHz in the snapshot and the JSON), as qiskit-terra's PulseDefaults
    assert anchor.qubit_freq_est == pytest.approx([5.0e9, 5.1e9])  # from the snapshot
    assert anchor.meas_freq_est == pytest.approx([7.0e9, 7.1e9])  # middle of meas_lo_range
    assert anchor.meas_kernel == {"name": "hw_qmfk", "params": {}}
    assert anchor.discriminator == {"name": "linear_discriminator", "params": {}}
    assert anchor.pulse_library == [] and anchor.cmd_def == []
    current = device.defaults()
    snapshot = device.current_snapshot()
    assert current is not None and snapshot is not None
    frequencies = [
        next(p["value"] for p in qubit if p["name"] == "frequency")
        for qubit in snapshot.properties["qubits"]
    ]
    assert current.qubit_freq_est == pytest.approx([f * 1e9 for f in frequencies])
    assert current.qubit_freq_est != anchor.qubit_freq_est  # the frequencies drifted
    assert PulseDefaults.from_dict(current.to_dict()).qubit_freq_est == pytest.approx(
        current.qubit_freq_est
    )
    assert current.to_dict()["qubit_freq_est"] == pytest.approx(frequencies)


def test_defaults_of_catalog_devices() -> None:
    catalog = default_catalog()
    assert catalog.get("simulator_statevector").defaults() is None
    manila = catalog.get("fake_manila").defaults()
    assert manila is not None and len(manila.qubit_freq_est) == 5
    assert 4e9 < manila.qubit_freq_est[0] < 6e9 and 6e9 < manila.meas_freq_est[0] < 8e9
    # no frequency calibration and no LO ranges: nothing to publish
    configuration = dict(small_configuration())
    del configuration["qubit_lo_range"]
    properties = small_properties()
    for qubit in properties["qubits"]:
        qubit[:] = [p for p in qubit if p["name"] != "frequency"]
    assert pulse_defaults(configuration, properties) is None
    # LO ranges alone are enough for the qubit estimate
    lo_only = pulse_defaults(small_configuration(), properties)
    assert lo_only is not None and lo_only.qubit_freq_est == pytest.approx([5.0e9, 5.1e9])


def _counting_pulse_defaults(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the computations of pulse defaults (one ``last_update_date`` per computation)."""
    computed: list[str] = []

    def counting(configuration: Any, properties: Any) -> PulseDefaults | None:
        computed.append(properties["last_update_date"])
        return pulse_defaults(configuration, properties)

    monkeypatch.setattr(device_module, "pulse_defaults", counting)
    return computed


def test_defaults_are_computed_once_per_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    computed = _counting_pulse_defaults(monkeypatch)
    device = _small(datetime(2026, 1, 20, tzinfo=UTC))
    anchor_id = device.snapshots[0].id
    first = device.defaults(anchor_id)
    assert device.defaults(anchor_id) == first
    assert len(computed) == 1  # the second job on the snapshot reuses the first's
    current = device.defaults()  # another (drifted) snapshot gets its own
    assert len(computed) == 2 and current is not None and current != first
    assert device.defaults() == current and device.defaults(anchor_id) == first
    assert len(computed) == 2


def test_a_caller_changing_its_defaults_changes_nobody_elses() -> None:
    device = _small(datetime(2026, 1, 20, tzinfo=UTC))
    anchor_id = device.snapshots[0].id
    mine = device.defaults(anchor_id)
    assert mine is not None and mine.meas_kernel is not None
    mine.qubit_freq_est[0] = 0.0
    mine.meas_freq_est.append(1.0)
    mine.pulse_library.append({"name": "mine"})
    mine.meas_kernel["params"]["mine"] = 1
    again = device.defaults(anchor_id)
    assert again is not None
    assert again.qubit_freq_est == pytest.approx([5.0e9, 5.1e9])
    assert again.meas_freq_est == pytest.approx([7.0e9, 7.1e9])
    assert again.pulse_library == []
    assert again.meas_kernel == {"name": "hw_qmfk", "params": {}}


def test_defaults_cache_keeps_the_latest_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_module, "DEFAULTS_CACHE_SIZE", 2)
    computed = _counting_pulse_defaults(monkeypatch)
    device = _small(datetime(2026, 1, 20, tzinfo=UTC))
    ids = [s.id for s in device.snapshots_between("2026-01-01", "2026-01-20")][:3]
    assert len(set(ids)) == 3
    for snapshot_id in ids:
        device.defaults(snapshot_id)
    device.defaults(ids[2])  # kept
    assert len(computed) == 3
    device.defaults(ids[0])  # the oldest was dropped: computed again
    assert len(computed) == 4


@pytest.mark.parametrize(
    ("advertised", "expected"),
    [([1, 2], [1, 2]), ([0, 1, 2], [1, 2]), ([1], [1]), ([2], [2]), (None, [1, 2])],
)
def test_honest_configuration(advertised: list[int] | None, expected: list[int]) -> None:
    configuration = small_configuration()
    configuration["meas_levels"] = advertised
    honest = honest_configuration(configuration)
    assert honest["open_pulse"] is False
    assert honest["meas_levels"] == expected
    assert configuration["open_pulse"] is True  # the input is not changed
    assert honest_configuration(small_configuration(), meas_levels=(1, 2))["meas_levels"] == [1, 2]
