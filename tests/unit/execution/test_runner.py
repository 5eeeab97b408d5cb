from __future__ import annotations

import json

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.result import Result

from openqx.devices import default_catalog
from openqx.execution.port import ExecutionError
from openqx.execution.runner import run_request

from .helpers import ghz, request


def _check_result(data: dict[str, object], shots: int) -> Result:
    json.dumps(data)
    result = Result.from_dict(data)
    for exp in result.results:
        assert exp.success
        assert sum(result.get_counts(exp.header["name"]).values()) == shots
    return result


def test_ideal_run_with_memory_and_header() -> None:
    data = run_request(
        request("simulator_statevector", [ghz(3)], shots=500, memory=True, header={"tag": "x"})
    )
    result = _check_result(data, 500)
    assert data["job_id"] == "job1"
    assert data["backend_name"] == "simulator_statevector"
    assert set(result.get_counts()) <= {"000", "111"}
    assert len(result.get_memory()) == 500
    header = data["results"][0]["header"]
    assert (
        header["tag"] == "x" and header["name"] == "ghz" and header["creg_sizes"] == [["meas", 3]]
    )


def test_noisy_run_on_emulated_device() -> None:
    device = default_catalog().get("fake_manila")
    isa = transpile(ghz(3), target=device.target(), seed_transpiler=1)
    data = run_request(request("fake_manila", [isa], shots=2000, options={"seed_simulator": 5}))
    counts = _check_result(data, 2000).get_counts()
    assert len(counts) > 2  # noise leaks outside 000/111
    assert counts.get("000", 0) + counts.get("111", 0) > 1500


def test_seed_makes_runs_reproducible() -> None:
    req = request("simulator_statevector", [ghz(3)], options={"seed_simulator": 11})
    assert run_request(req)["results"][0]["data"] == run_request(req)["results"][0]["data"]


def test_parameter_binds_are_circuit_major_and_named() -> None:
    theta = Parameter("theta")
    a = QuantumCircuit(1, name="a")
    a.rx(theta, 0)
    a.measure_all()
    b = a.copy(name="b")
    binds = [{"theta": 0.0}, {"theta": 3.141592653589793}]
    data = run_request(
        request("simulator_statevector", [a, b], shots=100, options={"parameter_binds": binds})
    )
    names = [exp["header"]["name"] for exp in data["results"]]
    assert names == ["a-bind0", "a-bind1", "b-bind0", "b-bind1"]
    result = _check_result(data, 100)
    assert result.get_counts("a-bind0") == {"0": 100}
    assert result.get_counts("b-bind1") == {"1": 100}


def test_unbound_parameters_fail_clearly() -> None:
    qc = QuantumCircuit(1)
    qc.rx(Parameter("phi"), 0)
    with pytest.raises(ExecutionError, match="unbound parameters \\(phi\\)"):
        run_request(request("simulator_statevector", [qc]))


def test_unknown_backend_and_bad_payload() -> None:
    with pytest.raises(ExecutionError, match="not found"):
        run_request(request("nope", [ghz(2)]))
    bad = request("simulator_statevector", [ghz(2)])
    bad = type(bad)(**{**{f: getattr(bad, f) for f in bad.__dataclass_fields__}, "payload": b"xx"})
    with pytest.raises(ExecutionError, match="QPY"):
        run_request(bad)
