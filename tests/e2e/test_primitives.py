"""openqx's SamplerV2 and EstimatorV2 against a real server (uvicorn, worker process, SQLite and
PostgreSQL): results in Qiskit's containers, jobs listed, retrieved and cancelled."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.primitives import PrimitiveResult
from qiskit.quantum_info import SparsePauliOp

from openqx.client import EstimatorV2, PrimitiveJob, SamplerV2
from openqx.client import exceptions as exc
from openqx.client.provider import AccountProvider


def _bell(measured: bool) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    if measured:
        circuit.measure_all()
    return circuit


def test_sampler_and_estimator_on_an_emulated_device(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    sampled = transpile(_bell(True), backend=backend, seed_transpiler=1)
    job = SamplerV2(mode=backend).run([sampled], shots=500, tags=["e2e-primitives"])
    result = job.result(timeout=120)
    assert isinstance(result, PrimitiveResult)
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 500
    assert counts.get("00", 0) + counts.get("11", 0) > 400

    estimated = transpile(_bell(False), backend=backend, seed_transpiler=1)
    observable = SparsePauliOp.from_list([("ZZ", 1.0), ("XX", 1.0)]).apply_layout(estimated.layout)
    estimate = EstimatorV2(mode=backend).run([(estimated, observable)], precision=0.02)
    value = float(estimate.result(timeout=120)[0].data.evs)
    assert 1.6 < value < 2.2  # ideal 2; readout-mitigated on the noisy device

    found = provider.runtime.jobs(program_id="sampler", limit=None)
    assert job.job_id() in [j.job_id() for j in found]
    again = provider.runtime.job(estimate.job_id())
    assert isinstance(again, PrimitiveJob)
    assert again.result()[0].data.evs == estimate.result()[0].data.evs
    charged = estimate.usage()
    assert charged is not None and charged > 0


def test_a_cancelled_primitive_job_says_so(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    sampled = transpile(_bell(True), backend=backend, seed_transpiler=1)
    pubs = [sampled] * 50
    job = SamplerV2(mode=backend).run(pubs, shots=100_000)
    try:
        job.cancel()
    except exc.RuntimeInvalidStateError:
        pytest.skip("the job finished before it could be cancelled")
    with pytest.raises(exc.RuntimeInvalidStateError, match="cancelled"):
        job.result(timeout=120)
