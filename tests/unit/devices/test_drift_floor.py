"""Generated gate errors never fall below the coherence limit of the same snapshot's T1/T2."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.devices import Device
from openqx.devices.drift import (
    MODEL_VERSION,
    AnchorData,
    DriftModel,
    coherence_limited_error,
    generate_properties,
)
from openqx.devices.snapshots import CalibrationSnapshot
from tests.unit.devices.factories import small_configuration, small_properties

_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


@functools.cache
def _shipped(folder: str) -> dict[str, Any]:
    from openqx.devices.fake_import import fake_provider_dir

    with (fake_provider_dir() / folder / f"props_{folder}.json").open() as handle:
        props: dict[str, Any] = json.load(handle)
    return props


def _times(props: dict[str, Any]) -> tuple[list[float], list[float]]:
    """T1 and T2 of every qubit in seconds (0 when absent: no decay)."""
    t1: list[float] = []
    t2: list[float] = []
    for params in props["qubits"]:
        values = {p["name"]: p["value"] * _TIME.get(p.get("unit", "us"), 1e-6) for p in params}
        t1.append(float(values.get("T1", 0.0)))
        t2.append(float(values.get("T2", 0.0)))
    return t1, t2


def _gate_errors(props: dict[str, Any]) -> list[tuple[str, list[int], float, float]]:
    """(gate, qubits, length in s, gate_error) of every gate that has both."""
    found = []
    for gate in props["gates"]:
        params = {p["name"]: p for p in gate["parameters"]}
        if "gate_error" in params and "gate_length" in params:
            length = params["gate_length"]["value"] * _TIME[params["gate_length"].get("unit", "ns")]
            found.append(
                (gate["gate"], list(gate["qubits"]), length, float(params["gate_error"]["value"]))
            )
    return found


def _violations(props: dict[str, Any], anchor: dict[str, Any]) -> list[str]:
    t1, t2 = _times(props)
    anchor_errors = {(g, tuple(q)): e for g, q, _, e in _gate_errors(anchor)}
    out = []
    for gate, qubits, length, error in _gate_errors(props):
        if gate.startswith(("measure", "reset")) or anchor_errors[(gate, tuple(qubits))] >= 0.5:
            continue  # readout, and broken parts kept as IBM marks them
        limit = coherence_limited_error(length, [t1[q] for q in qubits], [t2[q] for q in qubits])
        if error < limit * (1 - 1e-9):
            out.append(f"{gate}{qubits}: {error:.3g} < limit {limit:.3g}")
    return out


@pytest.mark.parametrize(
    ("folder", "steps"),
    # a Falcon (5 and 27 qubits), an Eagle and a Heron; the big ones cost ~25 ms a snapshot
    [("manila", 200), ("kolkata", 120), ("sherbrooke", 30), ("torino", 30)],
)
def test_every_generated_gate_error_is_at_least_its_coherence_limit(
    folder: str, steps: int
) -> None:
    anchor = _shipped(folder)
    parsed = AnchorData(anchor)
    model = DriftModel()
    seed = model.device_seed(f"fake_{folder}", CalibrationSnapshot.from_properties(anchor).id)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    checked = 0
    for step in range(1, steps + 1):
        props = generate_properties(anchor, parsed, model, seed, step, when)
        assert _violations(props, anchor) == [], f"fake_{folder} step {step}"
        checked += len(props["gates"])
    assert checked > 0


def test_the_floor_changes_the_snapshots_that_broke_it_and_nothing_else() -> None:
    """Version 1 (no floor) went below the limit; version 2 lifts exactly those errors."""
    anchor = _shipped("kolkata")
    parsed = AnchorData(anchor)
    model = DriftModel()
    seed = model.device_seed("fake_kolkata", CalibrationSnapshot.from_properties(anchor).id)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    lifted = 0
    for step in range(1, 61):
        old = generate_properties(anchor, parsed, model, seed, step, when, version=1)
        new = generate_properties(anchor, parsed, model, seed, step, when, version=2)
        assert old["qubits"] == new["qubits"]  # only gate errors may differ
        old_errors, new_errors = _gate_errors(old), _gate_errors(new)
        t1, t2 = _times(new)
        for (gate, qubits, length, before), (_, _, _, after) in zip(
            old_errors, new_errors, strict=True
        ):
            limit = coherence_limited_error(
                length, [t1[q] for q in qubits], [t2[q] for q in qubits]
            )
            if gate.startswith("measure") or before >= limit:
                assert after == before
            else:
                assert after == pytest.approx(limit, rel=1e-12)
                lifted += 1
    assert lifted > 0  # the case (kolkata, sx at +40 days) is among them


def test_the_limit_is_the_average_infidelity_of_aers_thermal_relaxation() -> None:
    from qiskit.quantum_info import average_gate_fidelity
    from qiskit_aer.noise import thermal_relaxation_error

    length, t1s, t2s = 660e-9, [80e-6, 45e-6], [45e-6, 70e-6]
    one = thermal_relaxation_error(t1s[0], t2s[0], length)
    two = one.tensor(thermal_relaxation_error(t1s[1], t2s[1], length))
    assert coherence_limited_error(length, t1s[:1], t2s[:1]) == pytest.approx(
        1 - average_gate_fidelity(one), rel=1e-9
    )
    assert coherence_limited_error(length, t1s, t2s) == pytest.approx(
        1 - average_gate_fidelity(two), rel=1e-9
    )
    assert coherence_limited_error(0.0, t1s, t2s) == 0.0  # virtual gates


def test_ids_of_the_previous_model_version_still_rebuild_their_snapshot() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    model = DriftModel()
    device = Device(
        name="small",
        configuration=small_configuration(2),
        simulator=False,
        snapshots=[CalibrationSnapshot.from_properties(small_properties(2))],
        drift=model,
        clock=ManualClock(start + timedelta(days=5)),
    )
    anchor = device.snapshots[0]
    current = device.snapshot_at(start + timedelta(days=3))
    assert current is not None
    assert current.id == f"{anchor.id}.{model.fingerprints[MODEL_VERSION]}.3"
    assert model.fingerprints[1] != model.fingerprints[2]
    old = device.history.get(f"{anchor.id}.{model.fingerprints[1]}.3")
    assert old is not None and old.id.split(".")[1] == model.fingerprints[1]
    expected = generate_properties(
        anchor.properties,
        AnchorData(anchor.properties),
        model,
        model.device_seed("small", anchor.id),
        3,
        start + timedelta(days=3),
        version=1,
    )
    assert old.properties == expected
    assert device.history.get(f"{anchor.id}.deadbeef.3") is None  # another model: no answer
