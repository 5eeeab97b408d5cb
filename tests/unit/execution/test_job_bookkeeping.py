"""The per-job work around Aer on emulated devices: what is remembered between jobs (readout
fits), what is computed once per job, and the fast paths that must give what the plain
computation gives (bits of Aer's memory, classified readout, schedule lengths, seeds)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit

from openqx.devices.catalog import default_catalog
from openqx.devices.device import Device
from openqx.execution import emulation, readout, usage
from tests.e2e.circuits import ghz


@pytest.fixture(scope="module")
def manila() -> Device:
    return default_catalog().get("fake_manila")


# --- readout fits, remembered between jobs ---------------------------------------------------
def test_a_fit_is_reused_for_the_same_inputs_and_refitted_for_others() -> None:
    first = readout.fit_qubit(0, 0.02, 0.04, t1=1e-4, readout_length=4e-6)
    assert readout.fit_qubit(0, 0.02, 0.04, t1=1e-4, readout_length=4e-6) is first
    other_error = readout.fit_qubit(0, 0.02, 0.06, t1=1e-4, readout_length=4e-6)
    detuned = readout.fit_qubit(0, 0.02, 0.04, t1=1e-4, readout_length=4e-6, scale=0.5)
    assert other_error.tail > first.tail
    assert detuned.scale == 0.5 and first.scale == 1.0
    assert detuned.assignment_errors()[0] > first.assignment_errors()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.sigma0 = 1.0  # type: ignore[misc]


def test_readout_models_follow_the_snapshot_and_the_options(manila: Device) -> None:
    anchor = manila.history.anchors[0]
    current = manila.current_snapshot()
    assert current is not None and current.id != anchor.id
    conf = manila.configuration
    on_anchor = readout.readout_model(anchor.properties, conf, {}, [0, 1])
    again = readout.readout_model(anchor.properties, conf, {}, [0, 1])
    assert again.qubits[0] is on_anchor.qubits[0]  # the second job reuses the fit
    on_current = readout.readout_model(current.properties, conf, {}, [0, 1])
    assert on_current.qubits[0] != on_anchor.qubits[0]  # another snapshot, its own fit
    est = [7.0] * 5
    detuned = readout.readout_model(anchor.properties, conf, {"meas_lo_freq": [7.001e9]}, [0], est)
    assert detuned.qubits[0].scale < 1.0
    assert detuned.assignment_errors(0)[0] > on_anchor.assignment_errors(0)[0]
    undetuned = readout.readout_model(anchor.properties, conf, {}, [0], est)
    assert undetuned.qubits[0] is on_anchor.qubits[0] and undetuned.qubits[0].scale == 1.0


def test_a_job_leaves_the_remembered_fits_as_they_were(manila: Device) -> None:
    snapshot = manila.history.anchors[0]
    model = readout.readout_model(snapshot.properties, manila.configuration, {}, [0, 1])
    fits = dict(model.qubits)
    values = {q: dataclasses.astuple(fit) for q, fit in fits.items()}
    errors = {q: fit.assignment_errors() for q, fit in fits.items()}
    for options in ({}, {"meas_level": 1, "meas_return": "single"}):
        emulation.run_emulated(
            manila,
            snapshot.id,
            [ghz(2)],
            shots=50,
            memory=True,
            options=options,
            seed_simulator=3,
        )
    after = readout.readout_model(snapshot.properties, manila.configuration, {}, [0, 1])
    for qubit, fit in fits.items():
        assert after.qubits[qubit] is fit
        assert dataclasses.astuple(fit) == values[qubit]
        assert fit.assignment_errors() == errors[qubit]


# --- once per job -----------------------------------------------------------------------------
def test_each_circuits_measured_qubits_are_found_once_per_job(
    manila: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = emulation.measured_qubits

    def counting(circuit: QuantumCircuit) -> list[int | None]:
        calls.append(circuit.name)
        return real(circuit)

    monkeypatch.setattr(emulation, "measured_qubits", counting)
    circuits = [ghz(2), ghz(3), ghz(4)]
    data = emulation.run_emulated(
        manila, None, circuits, shots=20, memory=False, options={}, seed_simulator=1
    )
    assert sorted(calls) == ["ghz2", "ghz3", "ghz4"]
    assert [len(next(iter(r["data"]["counts"]))) for r in data["results"]] == [3, 3, 3]


def test_measured_qubits_read_the_last_measurement_of_each_bit() -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.measure(2, 1)
    circuit.measure(1, 0)  # the last measurement of clbit 0
    assert emulation.measured_qubits(circuit) == [1, 2, None]


# --- fast paths equal the plain computation ---------------------------------------------------
@pytest.mark.parametrize("width", [0, 1, 5, 60, 61, 130])
def test_bits_of_memory_strings(width: int) -> None:
    rng = np.random.default_rng(width)
    values = [int(v) for v in rng.integers(0, 6, size=300)]  # repeated outcomes
    values += [(1 << width) - 1 if width else 0, (1 << (width // 2)) if width else 0]
    memory = [hex(v << max(width - 3, 0)) if width else "0x0" for v in values]
    bits = emulation._bits(memory, width)
    expected = [[(int(h, 16) >> i) & 1 for i in range(width)] for h in memory]
    assert bits.dtype == np.uint8 and bits.shape == (len(memory), width)
    assert bits.tolist() == expected
    assert emulation._bits([], width).shape == (0, width)


def _classify_slot_by_slot(
    model: readout.ReadoutModel,
    bits: np.ndarray[Any, Any],
    qubits: list[int | None],
    rng: np.random.Generator,
) -> np.ndarray[Any, Any]:
    """The classified readout drawn one slot at a time (the reference)."""
    out = bits.copy()
    for slot, qubit in enumerate(qubits):
        if qubit is None:
            continue
        eps0, eps1 = model.assignment_errors(qubit)
        draw = rng.random(bits.shape[0])
        flip = np.where(bits[:, slot] == 1, draw < eps1, draw < eps0)
        out[:, slot] = bits[:, slot] ^ flip.astype(np.uint8)
    return out


def test_classified_readout_draws_as_one_slot_at_a_time(manila: Device) -> None:
    snapshot = manila.history.anchors[0]
    model = readout.readout_model(snapshot.properties, manila.configuration, {}, [0, 1, 2, 4])
    qubits: list[int | None] = [0, None, 2, 1, None, 4, 3]  # 3 has no fit: kept as read
    bits = (np.random.default_rng(2).random((4000, len(qubits))) < 0.5).astype(np.uint8)
    ours, reference = np.random.default_rng(5), np.random.default_rng(5)
    classified = model.classify(bits, qubits, ours)
    assert classified.tolist() == _classify_slot_by_slot(model, bits, qubits, reference).tolist()
    assert ours.random() == reference.random()  # the stream goes on from the same place
    assert model.classify(bits, [None] * len(qubits), ours).tolist() == bits.tolist()


@pytest.mark.parametrize("width", [3, 62, 70])
def test_memory_and_counts_of_classified_shots(manila: Device, width: int) -> None:
    snapshot = manila.history.anchors[0]
    model = readout.readout_model(snapshot.properties, manila.configuration, {}, [0, 1, 2])
    qubits: list[int | None] = [q if q < 3 else None for q in range(width)]
    bits = (np.random.default_rng(4).random((500, width)) < 0.3).astype(np.uint8)
    physics = emulation.JobPhysics()
    data = emulation._readout_data(physics, model, bits, qubits, True, np.random.default_rng(8))
    keys = emulation._hex(model.classify(bits, qubits, np.random.default_rng(8)))
    assert data["memory"] == keys
    expected: dict[str, int] = {}
    for key in keys:
        expected[key] = expected.get(key, 0) + 1
    assert list(data["counts"].items()) == list(expected.items())  # in order of first shot
    assert all(type(n) is int for n in data["counts"].values())


def test_schedule_length_waits_for_qubits_and_classical_bits() -> None:
    lengths = {"x": 3.0, "measure": 10.0, "sx": 1.0}

    def duration_of(name: str, qubits: tuple[int, ...]) -> float:
        return lengths.get(name, 0.0) * (2 if qubits == (1,) else 1)

    circuit = QuantumCircuit(3, 2)
    circuit.x(0)  # q0: 0 -> 3
    circuit.measure(0, 0)  # q0, c0: 3 -> 13
    circuit.sx(1)  # q1: 0 -> 2
    circuit.measure(1, 0)  # waits for c0: 13 -> 33
    circuit.delay(4, 2, unit="dt")  # q2: 0 -> 4 dt of 0.5
    circuit.barrier(1, 2)  # aligns q1, q2 at 33
    with circuit.for_loop(range(3)):
        circuit.x(2)  # 3 x (3) = 9: 33 -> 42
    assert usage.circuit_duration(circuit, duration_of, 0.5) == 42.0
    empty = QuantumCircuit(2)
    assert usage.circuit_duration(empty, duration_of, None) == 0.0


def test_new_seeds_are_fresh_and_in_range() -> None:
    seeds = {emulation._new_seed() for _ in range(100)}
    assert len(seeds) == 100
    assert all(type(s) is int and 0 <= s < 2**62 for s in seeds)
