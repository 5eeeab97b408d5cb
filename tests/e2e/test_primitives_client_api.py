"""openqx's SamplerV2 as qiskit-ibm-runtime code uses it, against a real server (uvicorn,
worker process, SQLite and PostgreSQL): options set by attribute, the job's state methods,
copies and pickles of the job, and ``retrieve_job`` refusing its id."""

from __future__ import annotations

import copy
import pickle

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.primitives import BasePrimitiveJob

from openqx.client import PrimitiveJob, SamplerV2
from openqx.client import exceptions as exc
from openqx.client.provider import AccountProvider


def test_a_sampler_job_used_the_qiskit_ibm_runtime_way(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    isa = transpile(circuit, backend=backend, seed_transpiler=1)
    sampler = SamplerV2(mode=backend)
    sampler.options.default_shots = 77
    job = sampler.run([isa])
    assert isinstance(job, BasePrimitiveJob)
    assert job.result(timeout=120)[0].data.meas.num_shots == 77
    assert (job.done(), job.running(), job.cancelled(), job.errored()) == (
        True,
        False,
        False,
        False,
    )
    assert job.in_final_state() and job.status().name == "DONE"

    for clone in (copy.deepcopy(job), pickle.loads(pickle.dumps(job))):
        assert isinstance(clone, PrimitiveJob) and clone.job_id() == job.job_id()
        assert clone.done()
        assert clone.result()[0].data.meas.num_shots == 77

    with pytest.raises(exc.OpenQXBackendError, match=r"provider\.runtime\.job"):
        backend.retrieve_job(job.job_id())
    assert job.job_id() not in [listed.job_id() for listed in backend.jobs(limit=None)]
    assert job.job_id() in [j.job_id() for j in provider.runtime.jobs(limit=None)]
