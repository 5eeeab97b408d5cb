"""The cached simulators of ``openqx.execution.aer_cache``: same distribution, cheaper runs."""

from __future__ import annotations

import copy
import pickle
from typing import Any

from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import hellinger_fidelity

from openqx.devices.catalog import default_catalog
from openqx.execution import aer_cache


def _ghz5() -> QuantumCircuit:
    qc = QuantumCircuit(5)
    qc.h(0)
    for q in range(4):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def _manila_setup() -> tuple[Any, QuantumCircuit]:
    device = default_catalog().get("fake_manila")
    snapshot = device.resolve_snapshot(None)
    assert snapshot is not None
    isa = transpile(_ghz5(), target=device.target(snapshot.id), seed_transpiler=1)
    simulator = aer_cache.readout_free_simulator(device, snapshot.id, frozenset(range(5)))
    return simulator, isa


def test_cached_model_is_serialised_once_and_copies_are_plain() -> None:
    from qiskit_aer.noise import NoiseModel

    simulator, _ = _manila_setup()
    model = simulator.options.noise_model
    assert model.to_dict(serializable=True) is model.to_dict(serializable=True)
    for duplicate in (copy.deepcopy(model), copy.copy(model), pickle.loads(pickle.dumps(model))):
        assert type(duplicate) is NoiseModel
        assert duplicate.to_dict(serializable=True) == model.to_dict(serializable=True)


def test_cached_model_runs_exactly_like_the_plain_model() -> None:
    from qiskit_aer import AerSimulator

    simulator, isa = _manila_setup()
    plain = AerSimulator(
        method=simulator.options.method, noise_model=copy.deepcopy(simulator.options.noise_model)
    )
    for _ in range(2):  # the second run uses the kept serialisation
        ours = simulator.run(isa, shots=2000, seed_simulator=11).result().get_counts()
        theirs = plain.run(isa, shots=2000, seed_simulator=11).result().get_counts()
        assert ours == theirs


def test_pre_readout_distribution_matches_direct_aer_at_20000_shots() -> None:
    """openqx runs emulated devices without readout errors in Aer (it applies the snapshot's
    asymmetric readout afterwards), so the reference is Aer's model of the fake backend
    without readout errors."""
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    simulator, isa = _manila_setup()
    reference = AerSimulator(
        method="density_matrix",
        noise_model=NoiseModel.from_backend(FakeManilaV2(), readout_error=False),
    )
    shots = 20_000
    ours = simulator.run(isa, shots=shots, seed_simulator=3).result().get_counts()
    theirs = reference.run(isa, shots=shots, seed_simulator=4).result().get_counts()
    assert hellinger_fidelity(ours, theirs) >= 0.99
