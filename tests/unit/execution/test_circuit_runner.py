from __future__ import annotations

import json
import math

import pytest
from qiskit.result import Result

from openqx.core import errors, wire
from openqx.devices import default_catalog
from openqx.execution.circuit_runner import PROGRAM_ID, validate_circuit_runner_params
from openqx.execution.port import ExecutionRequest
from openqx.execution.runner import run_request

from .helpers import ghz, qpy_bytes


def _params(**extra: object) -> dict[str, object]:
    return {"circuits": wire.b64encode(qpy_bytes([ghz(3)])), **extra}


def _request(params: dict[str, object]) -> ExecutionRequest:
    return ExecutionRequest(
        job_id="rt1",
        kind="runtime",
        backend="fake_manila",
        snapshot_id=None,
        payload=json.dumps(params).encode(),
        shots=4000,
        program_id=PROGRAM_ID,
    )


def _hellinger_to_ghz(probs: dict[str, float]) -> float:
    ideal = {"000": 0.5, "111": 0.5}
    keys = set(ideal) | set(probs)
    overlap = sum(math.sqrt(max(probs.get(k, 0.0), 0.0) * ideal.get(k, 0.0)) for k in keys)
    return math.sqrt(max(0.0, 1 - overlap))


def test_mitigation_brings_ghz3_closer_to_ideal() -> None:
    params = _params(
        shots=8000, seed_transpiler=3, seed_simulator=9, measurement_error_mitigation=True
    )
    data = run_request(_request(params))
    json.dumps(data)
    result = Result.from_dict(data)
    raw = {k: v / 8000 for k, v in result.get_counts().items()}
    exp = data["results"][0]
    assert len(exp["header"]["final_measurement_mapping"]) == 3
    quasi = {format(int(k, 16), "03b"): v for k, v in exp["data"]["quasiprobabilities"].items()}
    assert math.isclose(sum(quasi.values()), 1.0, abs_tol=1e-6)
    assert _hellinger_to_ghz(quasi) < _hellinger_to_ghz(raw)


def test_seeded_runs_are_reproducible() -> None:
    params = _params(shots=500, seed_transpiler=1, seed_simulator=2, optimization_level=1)
    first = run_request(_request(params))
    assert first["results"][0]["data"] == run_request(_request(params))["results"][0]["data"]
    assert "quasiprobabilities" not in first["results"][0]["data"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"bogus": 1}, "Unknown circuit-runner option.*bogus.*Known options"),
        ({"initial_layout": [0, 9, 1]}, "out of range"),
        ({"initial_layout": [0, 0, 1]}, "duplicate"),
        ({"optimization_level": 4}, "optimization_level"),
        ({"circuits": "bm90IHFweQ=="}, "not valid base64 QPY"),
        ({"circuits": wire.b64encode(qpy_bytes([]))}, "circuits"),
    ],
)
def test_validation_rejects_bad_params(extra: dict[str, object], message: str) -> None:
    device = default_catalog().get("fake_manila")
    with pytest.raises(errors.InvalidInputError, match=message):
        validate_circuit_runner_params(_params(**extra), device)


def test_validation_summary() -> None:
    summary = validate_circuit_runner_params(
        _params(shots=123), default_catalog().get("fake_manila")
    )
    assert (summary.num_circuits, summary.shots) == (1, 123)
