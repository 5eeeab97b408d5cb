from __future__ import annotations

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import hellinger_fidelity

from openqx.devices import default_catalog, noise


def test_reduced_model_keeps_only_active_qubit_errors() -> None:
    device = default_catalog().get("fake_manila")
    full = noise.full_noise_model(device)
    reduced = noise.reduced_noise_model(device, None, frozenset({0, 1}))
    assert noise.reduced_noise_model(device, None, frozenset({0, 1})) is reduced
    assert reduced.basis_gates == full.basis_gates
    kept = {q for by_q in reduced._local_quantum_errors.values() for q in by_q}
    assert kept == {(0,), (1,), (0, 1), (1, 0)}
    assert set(reduced._local_readout_errors) == {(0,), (1,)}
    assert (2,) in full._local_readout_errors
    assert reduced.noise_qubits == [0, 1]


def test_full_model_matches_aer_from_backend() -> None:
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    # The real snapshot (the history's anchor) with the honest configuration gives exactly
    # Aer's model of the fake backend.
    device = default_catalog().get("fake_manila")
    reference = AerSimulator.from_backend(FakeManilaV2()).options.noise_model
    assert noise.full_noise_model(device, device.snapshots[0].id) == reference


def test_ideal_simulator_has_no_noise_model() -> None:
    with pytest.raises(ValueError, match="ideal simulator"):
        noise.full_noise_model(default_catalog().get("simulator_statevector"))


def test_reduced_model_gives_same_distribution_on_sherbrooke() -> None:
    from qiskit_aer import AerSimulator

    device = default_catalog().get("fake_sherbrooke")
    qc = QuantumCircuit(5)
    qc.h(0)
    for i in range(4):
        qc.cx(i, i + 1)
    qc.measure_all()
    isa = transpile(qc, target=device.target(), seed_transpiler=7)
    active = frozenset(
        isa.find_bit(q).index for inst in isa.data if inst.name != "barrier" for q in inst.qubits
    )
    full = AerSimulator(noise_model=noise.full_noise_model(device))
    small = AerSimulator(noise_model=noise.reduced_noise_model(device, None, active))
    shots = 8000
    a = full.run(isa, shots=shots, seed_simulator=1).result().get_counts()
    b = small.run(isa, shots=shots, seed_simulator=2).result().get_counts()
    assert hellinger_fidelity(a, b) > 0.995


def test_noise_model_follows_the_snapshot_in_force() -> None:
    from datetime import UTC, datetime

    from openqx.core.clock import ManualClock
    from openqx.devices import Device
    from openqx.devices.catalog import DEFAULT_DRIFT
    from openqx.devices.fake_import import load_fake_device

    device = load_fake_device(
        "fake_manila",
        "manila",
        drift=DEFAULT_DRIFT,
        clock=ManualClock(datetime(2024, 7, 1, tzinfo=UTC)),
    )
    assert isinstance(device, Device)
    anchor, current = device.snapshots[0], device.current_snapshot()
    assert current is not None and current.id != anchor.id
    for snapshot in (anchor, current):
        model = noise.reduced_noise_model(device, snapshot.id, frozenset({0}))
        readout = next(
            p["value"] for p in snapshot.properties["qubits"][0] if p["name"] == "readout_error"
        )
        # Aer's model carries the snapshot's (symmetrised) readout error of qubit 0
        assert model._local_readout_errors[(0,)].probabilities[0][1] == pytest.approx(readout)
    assert noise.reduced_noise_model(device, None, frozenset({0})) is noise.reduced_noise_model(
        device, current.id, frozenset({0})
    )
