"""Ideal simulator jobs with a user's noise model, method or precision: the runner builds the
simulator from them and reuses it for the same values."""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit_aer.noise import NoiseModel, ReadoutError

from openqx.devices.catalog import default_catalog
from openqx.execution import runner


def _always_one() -> dict[str, object]:
    model = NoiseModel()
    model.add_readout_error(ReadoutError([[0.0, 1.0], [0.0, 1.0]]), [0])
    data: dict[str, object] = model.to_dict(serializable=True)
    return data


def test_a_user_noise_model_is_used_and_its_simulator_reused() -> None:
    device = default_catalog().get("ibmq_qasm_simulator")
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    options = {"noise_model": _always_one(), "method": "density_matrix"}

    result = runner.run_experiments(device, None, [circuit], shots=50, simulator_options=options)

    assert result.get_counts() == {"1": 50}  # every readout flipped by the model
    assert result.results[0].metadata["method"] == "density_matrix"
    again = {"method": "density_matrix", "noise_model": _always_one()}
    assert runner._user_simulator(device, again) is runner._user_simulator(device, options)
    ideal = runner.run_experiments(device, None, [circuit], shots=50)
    assert ideal.get_counts() == {"0": 50}
