"""Point 4 of the legacy issue, through ``openqx.compat.ibmq``: a user noise model (a
``NoiseModel`` or its dict) and ``backend_options`` on the cloud simulator, as the seed's
``IBMQSimulator.run`` took them; the server bounds the model (size, qubits) and runs with it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit_aer.noise import NoiseModel, ReadoutError

from openqx.compat.ibmq import AccountProvider, IBMQBackendValueError
from openqx.core import circuit_payload
from openqx.devices import user_noise
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import ghz
from tests.e2e.compat_helpers import ibmq_session

TIMEOUT = 120
SHOTS = 4000


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> Iterator[AccountProvider]:
    with ibmq_session(server) as provider:
        yield provider


def _zero() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1, name="zero")
    circuit.measure(0, 0)
    return circuit


def _readout_flip(probability: float) -> NoiseModel:
    """A model that reads |0> as 1 with ``probability`` on qubit 0."""
    model = NoiseModel()
    error = ReadoutError([[1 - probability, probability], [probability, 1 - probability]])
    model.add_readout_error(error, [0])
    return model


@pytest.mark.parametrize("as_dict", [False, True])
def test_counts_follow_a_user_noise_model(provider: AccountProvider, as_dict: bool) -> None:
    simulator = provider.get_backend("ibmq_qasm_simulator")
    model = _readout_flip(0.25)
    noise = model.to_dict(serializable=True) if as_dict else model

    noisy = simulator.run(_zero(), shots=SHOTS, noise_model=noise, seed_simulator=11)
    ideal = simulator.run(_zero(), shots=SHOTS, seed_simulator=11)

    flipped = noisy.result(timeout=TIMEOUT).get_counts().get("1", 0)
    # Binomial(4000, 0.25): mean 1000, standard deviation 27; 7 deviations either side.
    assert 810 < flipped < 1190, flipped
    assert ideal.result(timeout=TIMEOUT).get_counts() == {"0": SHOTS}
    assert noisy.backend_options()["noise_model"] == model.to_dict(serializable=True)


def test_a_device_noise_model_on_the_simulator(provider: AccountProvider) -> None:
    device = provider.get_backend("fake_manila")
    simulator = provider.get_backend("ibmq_qasm_simulator")
    model = NoiseModel.from_backend(device)
    circuit = transpile(ghz(3), device, seed_transpiler=5)

    counts = simulator.run(circuit, shots=SHOTS, noise_model=model, seed_simulator=3).result(
        timeout=TIMEOUT
    )
    counts_noisy = counts.get_counts()
    ideal = simulator.run(circuit, shots=SHOTS, seed_simulator=3).result(timeout=TIMEOUT)
    assert set(ideal.get_counts()) == {"000", "111"}
    wrong = sum(n for key, n in counts_noisy.items() if key not in ("000", "111"))
    assert 0.005 * SHOTS < wrong < 0.25 * SHOTS, counts_noisy  # manila's errors, not chaos


def test_backend_options_as_the_seed_took_them(provider: AccountProvider) -> None:
    simulator = provider.get_backend("ibmq_qasm_simulator")
    with pytest.warns(DeprecationWarning, match="backend_options"):
        job = simulator.run(
            ghz(2),
            backend_options={"shots": 300, "method": "matrix_product_state", "seed_simulator": 4},
            shots=200,  # keyword arguments win over backend_options
        )
    result = job.result(timeout=TIMEOUT)
    assert sum(result.get_counts().values()) == 200
    assert result.results[0].metadata["method"] == "matrix_product_state"
    assert job.backend_options()["seed_simulator"] == 4
    with pytest.warns(DeprecationWarning), pytest.raises(IBMQBackendValueError, match="method"):
        simulator.run(ghz(2), backend_options={"method": "quantum_annealer"})


def test_noise_model_bounds(provider: AccountProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    simulator = provider.get_backend("ibmq_qasm_simulator")
    device = provider.get_backend("fake_manila")
    stored = len(provider.backend.job_ids(limit=None))
    too_wide = NoiseModel()
    too_wide.add_readout_error(ReadoutError([[0.9, 0.1], [0.1, 0.9]]), [simulator.num_qubits])
    width = simulator.num_qubits
    with pytest.raises(IBMQBackendValueError, match=f"qubit {width} is out of range"):
        simulator.run(_zero(), noise_model=too_wide)
    with pytest.raises(IBMQBackendValueError, match="simulators only"):
        device.run(transpile(_zero(), device), noise_model=_readout_flip(0.1))
    with pytest.raises(IBMQBackendValueError, match="NoiseModel"):
        simulator.run(_zero(), noise_model="depolarizing")
    # The server process is this one: a lower size bound applies to the next submission.
    monkeypatch.setattr(user_noise, "MAX_NOISE_MODEL_BYTES", 10_000)
    with pytest.raises(IBMQBackendValueError, match="bytes of JSON"):
        simulator.run(_zero(), noise_model=NoiseModel.from_backend(device))
    assert len(provider.backend.job_ids(limit=None)) == stored  # nothing was stored


def test_the_server_refuses_bad_noise_models(server: EmbeddedServer) -> None:
    qpy = circuit_payload.encode_circuits([_zero()])
    headers = {"Authorization": f"Bearer {server.token}"}
    huge_qubit = {
        "type": "qerror",
        "operations": ["x"],
        "instructions": [[{"name": "x", "qubits": [10**9]}]],
        "probabilities": [1.0],
        "gate_qubits": [[0]],
    }
    cases = {
        "qubit 1000000000 is out of range": {"errors": [huge_qubit]},
        "needs to be 'qerror' or 'roerror'": {"errors": [{"type": "bitflip"}]},
        "not a valid NoiseModel dict": {
            "errors": [
                {
                    "type": "qerror",
                    "operations": ["x"],
                    "instructions": [[{"name": "no_such_gate", "qubits": [0]}]],
                    "probabilities": [1.0],
                    "gate_qubits": [[0]],
                }
            ]
        },
        "accepted by simulators only": None,
    }
    for message, model in cases.items():
        backend = "fake_manila" if model is None else "ibmq_qasm_simulator"
        body = {
            "backend": backend,
            "qpy": qpy,
            "options": {"noise_model": model or {"errors": []}},
        }
        answer = httpx.post(f"{server.url}/v1/jobs", json=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert message in answer.json()["error"]["message"], answer.text
