"""``openqx.execution.compact_noise``: each error as one Kraus channel, the same channel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import Kraus, SuperOp

from openqx.devices import noise
from openqx.devices.catalog import default_catalog
from openqx.execution import aer_cache, compact_noise

KRAUS_DAY = "2026-11-28T12:00:00Z"
"""A day whose fake_manila calibration has errors only a Kraus channel expresses. Calibrations
drift daily, and on some days (2026-12-02, for one) every error is a reset and Pauli mixture."""


def _manila_model() -> Any:
    device = default_catalog().get("fake_manila")
    snapshot = device.snapshot_at(KRAUS_DAY)
    assert snapshot is not None
    return noise.full_noise_model(device, snapshot.id)


def _errors(model: Any) -> list[Any]:
    return [e for by_qubits in model._local_quantum_errors.values() for e in by_qubits.values()]


def _is_one_kraus(error: Any) -> bool:
    return len(error.circuits) == 1 and [i.operation.name for i in error.circuits[0].data] == [
        "kraus"
    ]


def test_every_error_of_a_device_keeps_its_channel() -> None:
    errors = _errors(_manila_model())
    names = {i.operation.name for e in errors for c in e.circuits for i in c.data}
    assert {"kraus", "reset", "pauli"} <= names  # the instructions the converter must know
    assert any(e.num_qubits == 2 for e in errors)
    for error in errors:
        expected = SuperOp(error.to_quantumchannel()).data
        assert np.allclose(compact_noise.error_superop(error), expected, atol=1e-10)
        compact = compact_noise.compact_error(error)
        assert _is_one_kraus(compact)
        assert np.allclose(SuperOp(compact.to_quantumchannel()).data, expected, atol=1e-9)


def test_two_qubit_instruction_on_swapped_qubits_is_placed_right() -> None:
    from qiskit_aer.noise import QuantumError

    circuit = QuantumCircuit(2)
    circuit.cx(1, 0)  # control on the error's second qubit
    circuit.reset(1)
    error = QuantumError([(circuit, 1.0)])
    expected = SuperOp(error.to_quantumchannel()).data
    assert np.allclose(compact_noise.error_superop(error), expected, atol=1e-12)


def test_an_error_already_one_kraus_channel_is_kept() -> None:
    from qiskit_aer.noise import QuantumError

    error = QuantumError(Kraus([np.sqrt(0.9) * np.eye(2), np.sqrt(0.1) * np.diag([1, -1])]))
    assert compact_noise.compact_error(error) is error


def test_compact_model_keeps_readout_basis_gates_and_passes() -> None:
    model = _manila_model()
    compact = compact_noise.compact_noise_model(model)
    assert compact.basis_gates == model.basis_gates
    assert compact._local_readout_errors.keys() == model._local_readout_errors.keys()
    assert len(compact._custom_noise_passes) == len(model._custom_noise_passes)
    assert {
        (name, qubits)
        for name, by_qubits in compact._local_quantum_errors.items()
        for qubits in by_qubits
    } == {
        (name, qubits)
        for name, by_qubits in model._local_quantum_errors.items()
        for qubits in by_qubits
    }
    assert all(_is_one_kraus(e) for e in _errors(compact))
    without = compact_noise.compact_noise_model(model, readout=False)
    assert not without._local_readout_errors


@pytest.mark.parametrize("active", [frozenset(range(5)), frozenset(range(9)), frozenset(range(14))])
def test_cached_simulators_compact_density_matrix_models_and_thread_small_ones(
    active: frozenset[int],
) -> None:
    device = default_catalog().get("fake_kolkata")
    snapshot = device.current_snapshot_id()
    assert snapshot is not None
    simulator = aer_cache.readout_free_simulator(device, snapshot, active)
    errors = _errors(simulator.options.noise_model)
    assert errors
    dense = simulator.options.method == "density_matrix"
    assert dense == (len(active) <= aer_cache.DENSITY_MATRIX_MAX_QUBITS)
    assert all(_is_one_kraus(e) for e in errors) == dense
    one_thread = simulator.options.max_parallel_threads == 1
    assert one_thread == (len(active) <= aer_cache.SINGLE_THREAD_MAX_QUBITS)


def test_compact_and_mixture_models_give_the_same_counts() -> None:
    from qiskit_aer import AerSimulator

    device = default_catalog().get("fake_manila")
    snapshot = device.current_snapshot_id()
    assert snapshot is not None
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.delay(2000, 2, unit="dt")  # the relaxation pass stays
    circuit.measure_all()
    isa = transpile(circuit, target=device.target(snapshot), seed_transpiler=1)
    model = noise.full_noise_model(device, snapshot)
    plain = AerSimulator(method="density_matrix", noise_model=model)
    compact = AerSimulator(
        method="density_matrix", noise_model=compact_noise.compact_noise_model(model)
    )
    ours = compact.run(isa, shots=4000, seed_simulator=7).result().get_counts()
    theirs = plain.run(isa, shots=4000, seed_simulator=7).result().get_counts()
    assert ours == theirs  # same density matrix, same seed: the same samples
