"""``devices.user_noise``: the bounds of a user noise model and its decoding (complex Kraus
matrices included)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from qiskit_aer.noise import NoiseModel, ReadoutError, amplitude_damping_error, depolarizing_error

from openqx.devices import user_noise


def _as_sent(model: NoiseModel) -> dict[str, Any]:
    """The dict as it travels: serializable, through JSON."""
    data: dict[str, Any] = json.loads(json.dumps(model.to_dict(serializable=True)))
    return data


def _qerror(qubits: list[int], gate_qubits: list[list[int]], name: str = "x") -> dict[str, Any]:
    return {
        "type": "qerror",
        "operations": ["x"],
        "instructions": [[{"name": name, "qubits": qubits}]],
        "probabilities": [1.0],
        "gate_qubits": gate_qubits,
    }


def test_a_model_round_trips_with_kraus_and_readout_errors() -> None:
    model = NoiseModel()
    model.add_quantum_error(amplitude_damping_error(0.2), ["x"], [1])  # a Kraus channel
    model.add_quantum_error(depolarizing_error(0.1, 2), ["cx"], [0, 1])
    model.add_readout_error(ReadoutError([[0.9, 0.1], [0.2, 0.8]]), [0])

    decoded = user_noise.check_noise_model(_as_sent(model), num_qubits=2)

    assert sorted(decoded.noise_qubits) == [0, 1]
    assert set(decoded.noise_instructions) == {"x", "cx", "measure"}
    assert (
        _as_sent(decoded)["errors"][0]["probabilities"]
        == _as_sent(model)["errors"][0]["probabilities"]
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "needs to be a NoiseModel dict"),
        ({"errors": {}}, "'errors'] needs to be a list"),
        ({"errors": [], "extra": 1}, "unknown fields: extra"),
        ({"errors": [{"type": "bitflip"}]}, "'qerror' or 'roerror'"),
        ({"errors": [_qerror([0], [[5]])]}, "qubit 5 is out of range (the simulator has 5"),
        ({"errors": [_qerror([10**9], [[0]])]}, "qubit 1000000000 is out of range"),
        ({"errors": [_qerror([0, 1, 2, 3], [[0]])]}, "at most 3 qubits"),
        ({"errors": [_qerror([0, 0], [[0]])]}, "repeat a qubit"),
        ({"errors": [_qerror([0], [[True]])]}, "lists of qubit indices"),
        ({"errors": [{**_qerror([0], [[0]]), "probabilities": [0.5, 0.5]}]}, "one term per"),
        ({"errors": [{**_qerror([0], [[0]]), "operations": "x"}]}, "list of instruction names"),
        (
            {
                "errors": [
                    {**_qerror([0], [[0]]), "instructions": [[{"name": "nope", "qubits": [0]}]]}
                ]
            },
            "not a valid NoiseModel dict",
        ),
    ],
)
def test_bad_models_are_refused(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        user_noise.check_noise_model(data, num_qubits=5)


def test_size_and_count_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    many = {"errors": [_qerror([0], [[0]])] * (user_noise.MAX_NOISE_ERRORS + 1)}
    with pytest.raises(ValueError, match="errors; at most"):
        user_noise.check_noise_model(many, num_qubits=5)
    monkeypatch.setattr(user_noise, "MAX_NOISE_MODEL_BYTES", 100)
    with pytest.raises(ValueError, match="bytes of JSON; at most 100"):
        user_noise.check_noise_model({"errors": [_qerror([0], [[0]])] * 3}, num_qubits=5)
