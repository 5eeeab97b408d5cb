"""openqx's own SamplerV2 / EstimatorV2 against the real in-process server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.primitives import BitArray, PrimitiveResult, PubResult, SamplerPubResult
from qiskit.quantum_info import SparsePauliOp, Statevector

from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.primitives import EstimatorV2, PrimitiveJob, SamplerV2
from openqx.client.provider import AccountProvider
from openqx.core import primitives as codec
from openqx.core import wire
from tests.unit.server.harness import Harness


@pytest.fixture(autouse=True)
def no_saved_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    for variable in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(variable, raising=False)
    yield
    OpenQX._provider = None


def _provider(harness: Harness) -> AccountProvider:
    return harness.provider()


def _rotated() -> QuantumCircuit:
    theta = Parameter("theta")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    circuit.rx(0.7, 1)
    circuit.rz(0.4, 0)
    return circuit


def _stored(harness: Harness) -> int:
    records, _ = harness.store.search_jobs(wire.JobQuery(limit=None))
    return len(records)


def test_sampler_runs_on_the_server_and_returns_qiskit_containers(harness: Harness) -> None:
    provider = _provider(harness)
    backend = provider.get_backend("fake_manila")
    circuit = _rotated()
    circuit.measure_all()
    isa = transpile(circuit, backend=backend, optimization_level=1, seed_transpiler=3)
    sampler = SamplerV2(mode=backend)
    job = sampler.run([(isa, [[0.1], [3.0]]), isa.assign_parameters([1.0])], shots=300, tags=["s"])
    result = job.result()
    assert isinstance(job, PrimitiveJob)
    assert isinstance(result, PrimitiveResult)
    assert len(result) == 2
    first = result[0]
    assert isinstance(first, SamplerPubResult)
    assert isinstance(first.data.meas, BitArray)
    assert first.data.shape == (2,)
    assert first.data.meas.num_shots == 300
    assert first.data.meas.num_bits == 2
    assert sum(first.data.meas[0].get_counts().values()) == 300
    # theta = 0.1 keeps qubit 0 mostly |0>; theta = 3.0 flips it mostly to |1>
    assert first.data.meas[0].get_counts().get("00", 0) > 150
    assert first.data.meas[1].get_counts().get("00", 0) < 100
    assert result[1].data.shape == ()

    assert job.status().name == "DONE"
    assert job.tags == ["s"]
    assert job.program_id == "sampler"
    usage = job.usage()
    assert usage is not None and usage > 0.0  # device seconds of 900 shots on fake_manila
    metrics = job.metrics()
    assert metrics["num_circuits"] == 3
    assert metrics["timestamps"]["finished"] is not None
    retrieved = provider.runtime.job(job.job_id())
    assert isinstance(retrieved, PrimitiveJob)
    again = retrieved.result()
    assert np.array_equal(again[0].data.meas.array, first.data.meas.array)
    listed = provider.runtime.jobs(program_id="sampler")
    assert [j.job_id() for j in listed] == [job.job_id()]
    assert isinstance(listed[0], PrimitiveJob)


def test_estimator_level_0_matches_the_statevector_with_broadcasting(harness: Harness) -> None:
    provider = _provider(harness)
    backend = provider.get_backend("ibmq_qasm_simulator")
    circuit = _rotated()
    observables = [
        [SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)])],
        [SparsePauliOp("YX")],
        [SparsePauliOp.from_list([("IY", -2.0), ("II", 0.25)])],
    ]
    values = [[0.3], [1.2]]
    estimator = EstimatorV2(mode=backend, options={"resilience_level": 0, "seed_simulator": 7})
    result = estimator.run([(circuit, observables, values)], precision=0.01).result()
    pub = result[0]
    assert isinstance(pub, PubResult)
    assert pub.data.evs.shape == (3, 2)
    assert pub.data.stds.shape == (3, 2)
    assert pub.metadata["shots"] == 10_000
    assert pub.metadata["target_precision"] == 0.01
    for i, row in enumerate(observables):
        for j, value in enumerate(values):
            exact = Statevector(circuit.assign_parameters(value)).expectation_value(row[0]).real
            assert abs(pub.data.evs[i, j] - exact) < 5 * pub.data.stds[i, j] + 1e-9


def test_estimator_level_1_corrects_readout_errors(harness: Harness) -> None:
    provider = _provider(harness)
    backend = provider.get_backend("fake_manila")
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    isa = transpile(bell, backend=backend, optimization_level=1, seed_transpiler=3)
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)
    evs = {}
    for level in (0, 1):
        estimator = EstimatorV2(backend, {"resilience_level": level, "seed_simulator": 11})
        evs[level] = float(estimator.run([(isa, observable)], precision=0.01).result()[0].data.evs)
    # ideal <ZZ> = 1; the noisy device reads less, mitigation removes the readout part
    assert evs[0] < 0.97
    assert abs(1 - evs[1]) < abs(1 - evs[0])


def _runtime(program: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"program_id": program, "backend": "ibmq_qasm_simulator", "params": params}


def _pub(circuit: QuantumCircuit, **fields: Any) -> dict[str, Any]:
    return {
        "circuit": wire.b64encode(_qpy(circuit)),
        "parameter_names": [p.name for p in circuit.parameters],
        "parameter_values": None,
        **fields,
    }


def _qpy(circuit: QuantumCircuit) -> bytes:
    import io

    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump([circuit], buffer)
    return buffer.getvalue()


MEASURED = QuantumCircuit(1, 1)
MEASURED.x(0)
MEASURED.measure(0, 0)


@pytest.mark.parametrize(
    ("program", "params", "needle"),
    [
        (
            "estimator",
            {"pubs": [_pub(_rotated(), parameter_values=[[0.1]], observables={"ZZZ": 1.0})]},
            "PUB 0: The number of qubits of the circuit (2) does not match",
        ),
        (
            "estimator",
            {
                "pubs": [
                    _pub(_rotated(), parameter_values=[[0.1]], observables={"ZZ": 1.0}),
                    _pub(
                        _rotated(),
                        parameter_values=[[0.1], [0.2], [0.3]],
                        observables=[{"ZZ": 1.0}, {"XX": 1.0}],
                    ),
                ]
            },
            "PUB 1",
        ),
        (
            "estimator",
            {"pubs": [_pub(_rotated(), parameter_values=[[0.1, 0.2]], observables={"ZZ": 1})]},
            "PUB 0: parameter values of shape [1, 2] do not fit",
        ),
        ("sampler", {"pubs": [_pub(_rotated())]}, "PUB 0: the circuit has 1 parameter(s)"),
        ("sampler", {"pubs": [_pub(MEASURED)], "options": {"twirling": True}}, "'twirling'"),
        (
            "estimator",
            {"pubs": [_pub(MEASURED, observables={"Z": 1.0})], "options": {"resilience_level": 2}},
            "resilience_level must be 0 or 1",
        ),
        ("sampler", {"pubs": [_pub(MEASURED)], "colour": 1}, "'colour'"),
        ("sampler", {"pubs": []}, "non-empty list"),
    ],
)
def test_bad_pubs_and_options_are_400_naming_the_problem_and_store_nothing(
    harness: Harness, program: str, params: dict[str, Any], needle: str
) -> None:
    token = harness.new_user()
    before = (_stored(harness), len(harness.blobs._data))
    answer = harness.client.post(
        "/v1/runtime/jobs", json=_runtime(program, params), headers=harness.headers(token)
    )
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["error"]["message"]
    assert (_stored(harness), len(harness.blobs._data)) == before


def test_a_circuit_not_in_the_device_gates_is_refused_naming_the_pub(harness: Harness) -> None:
    token = harness.new_user()
    before = _stored(harness)
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    body = _runtime("sampler", {"pubs": [_pub(MEASURED), _pub(circuit)]})
    body["backend"] = "fake_manila"
    answer = harness.client.post("/v1/runtime/jobs", json=body, headers=harness.headers(token))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"].startswith("PUB 1: ")
    assert _stored(harness) == before


def test_client_refuses_a_pub_with_mismatched_shapes_before_sending(harness: Harness) -> None:
    backend = _provider(harness).get_backend("ibmq_qasm_simulator")
    before = _stored(harness)
    observables = [SparsePauliOp("ZZ"), SparsePauliOp("XX")]
    with pytest.raises(exc.OpenQXInputValueError, match="PUB 0"):
        EstimatorV2(mode=backend).run([(_rotated(), observables, [[0.1], [0.2], [0.3]])])
    assert _stored(harness) == before


def test_result_codec_round_trips_without_pickle() -> None:
    bits = BitArray(np.arange(12, dtype=np.uint8).reshape(2, 3, 2), 10)
    from qiskit.primitives import DataBin

    result = PrimitiveResult(
        [
            SamplerPubResult(DataBin(meas=bits, shape=(2,)), metadata={"shots": 3}),
            PubResult(
                DataBin(evs=np.array([0.5, -1.0]), stds=np.array([0.1, 0.2]), shape=(2,)),
                metadata={"target_precision": 0.1},
            ),
        ],
        metadata={"version": 2},
    )
    text = json.dumps(codec.encode_result(result))
    back = codec.decode_result(json.loads(text))
    assert np.array_equal(back[0].data.meas.array, bits.array)
    assert back[0].data.meas.num_bits == 10
    assert back[1].data.evs.tolist() == [0.5, -1.0]
    assert back[1].metadata == {"target_precision": 0.1}
    assert back.metadata == {"version": 2}


def test_primitive_jobs_on_a_device_are_charged_device_seconds(harness: Harness) -> None:
    # A sampler job is charged what its circuits would take on the device, the same as a
    # backend.run job of the same circuits and shots (before: the host seconds of the run).
    provider = _provider(harness)
    backend = provider.get_backend("fake_manila")
    circuit = _rotated()
    circuit.measure_all()
    isa = transpile(circuit, backend=backend, optimization_level=1, seed_transpiler=3)
    values = [[0.1], [3.0]]
    sampled = SamplerV2(mode=backend).run([(isa, values)], shots=300)
    sampled.result()
    bound = [isa.assign_parameters(v) for v in values]
    ran = backend.run(bound, shots=300)
    ran.result()
    device_seconds = ran.usage()
    assert device_seconds is not None and device_seconds > 0.0
    assert sampled.result().metadata["usage"]["quantum_seconds"] == pytest.approx(device_seconds)
    charged = harness.store.get_job(sampled.job_id()).usage_seconds  # what fair share counts
    assert charged == pytest.approx(device_seconds, rel=1e-9)
    assert sampled.usage() == pytest.approx(device_seconds, rel=1e-9)
    assert sampled.metrics()["usage"]["quantum_seconds"] == pytest.approx(device_seconds)
    # An estimator measures each Pauli basis in a circuit of its own: ZZ and XX here, at
    # ceil(1 / 0.05**2) = 400 shots each.
    observables = SparsePauliOp(["ZZ", "XX"]).apply_layout(isa.layout)
    estimated = EstimatorV2(mode=backend).run(
        [(isa.remove_final_measurements(inplace=False), observables, [[0.5]])],
        precision=0.05,
    )
    reported = estimated.result().metadata["usage"]["quantum_seconds"]
    one_basis = backend.run(isa.assign_parameters([0.5]), shots=400)
    one_basis.result()
    basis_seconds = one_basis.usage()
    assert basis_seconds is not None
    assert reported == pytest.approx(2 * basis_seconds, rel=0.05)  # bases differ by a gate
    assert harness.store.get_job(estimated.job_id()).usage_seconds == pytest.approx(reported)
