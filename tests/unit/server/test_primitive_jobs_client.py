"""openqx's SamplerV2 / EstimatorV2 as qiskit code uses them, against the real in-process
server: their jobs are qiskit ``BasePrimitiveJob``s (done, running, cancelled, errored,
in_final_state), their options take attributes, and ``backend.retrieve_job`` refuses their
ids with a message that names ``provider.runtime.job``."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import BasePrimitiveJob
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.backend import OpenQXBackend
from openqx.client.http import ApiClient
from openqx.client.primitive_options import PrimitiveOptions
from openqx.client.primitives import EstimatorV2, PrimitiveJob, SamplerV2
from openqx.client.provider import AccountProvider
from tests.unit.server.harness import BASE_URL, Harness, HeldExecutor

SIMULATOR = "ibmq_qasm_simulator"


@pytest.fixture(autouse=True)
def no_saved_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    for variable in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(variable, raising=False)
    yield
    OpenQX._provider = None


def _provider(harness: Harness) -> AccountProvider:
    return harness.provider()


def _bell(measured: bool = True) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    if measured:
        circuit.measure_all()
    return circuit


def _states(job: PrimitiveJob) -> dict[str, bool]:
    return {
        "done": job.done(),
        "running": job.running(),
        "cancelled": job.cancelled(),
        "errored": job.errored(),
        "in_final_state": job.in_final_state(),
    }


# --- jobs -------------------------------------------------------------------------------


def test_a_finished_primitive_job_is_a_qiskit_primitive_job_that_is_done(
    harness: Harness,
) -> None:
    provider = _provider(harness)
    backend = provider.get_backend(SIMULATOR)
    job = SamplerV2(mode=backend).run([_bell()], shots=10)
    assert isinstance(job, BasePrimitiveJob)
    job.result()
    assert job.status() is JobStatus.DONE
    assert _states(job) == {
        "done": True,
        "running": False,
        "cancelled": False,
        "errored": False,
        "in_final_state": True,
    }
    retrieved = provider.runtime.job(job.job_id())
    assert isinstance(retrieved, BasePrimitiveJob) and retrieved.job_id() == job.job_id()
    assert retrieved.done() and retrieved.in_final_state()

    # a pickle carries the connection's settings only (the harness's in-process transport
    # cannot travel): a job on a plain client, final, answers without a request
    plain = PrimitiveJob(None, ApiClient(BASE_URL, "token", retries=0), job._job.info)
    for clone in (copy.deepcopy(job), pickle.loads(pickle.dumps(plain))):
        assert type(clone) is PrimitiveJob and clone.job_id() == job.job_id()
        assert clone.done() and clone.in_final_state()


def test_a_running_then_failed_primitive_job_reports_each_state(
    held_harness: Harness, held: HeldExecutor
) -> None:
    backend = _provider(held_harness).get_backend(SIMULATOR)
    job = EstimatorV2(mode=backend).run([(_bell(False), SparsePauliOp("ZZ"))])
    assert held.next_job() == job.job_id()
    assert job.status() is JobStatus.RUNNING
    assert _states(job) == {
        "done": False,
        "running": True,
        "cancelled": False,
        "errored": False,
        "in_final_state": False,
    }
    held.fail(job.job_id(), "the backend broke")
    job.wait_for_final_state(timeout=30)
    assert _states(job) == {
        "done": False,
        "running": False,
        "cancelled": False,
        "errored": True,
        "in_final_state": True,
    }


def test_a_cancelled_primitive_job_is_cancelled_and_final(
    held_harness: Harness, held: HeldExecutor
) -> None:
    backend = _provider(held_harness).get_backend(SIMULATOR)
    job = SamplerV2(mode=backend).run([_bell()], shots=10)
    assert held.next_job() == job.job_id()
    job.cancel()
    job.wait_for_final_state(timeout=30)
    assert _states(job) == {
        "done": False,
        "running": False,
        "cancelled": True,
        "errored": False,
        "in_final_state": True,
    }


# --- options ----------------------------------------------------------------------------


def test_sampler_options_set_by_attribute_apply_to_the_next_run(harness: Harness) -> None:
    backend = _provider(harness).get_backend(SIMULATOR)
    sampler = SamplerV2(mode=backend)
    assert sampler.options.default_shots is None  # not set: the server's default applies
    sampler.options.default_shots = 77
    assert sampler.options.default_shots == 77 and sampler.options["default_shots"] == 77
    result = sampler.run([_bell()]).result()
    assert result[0].data.meas.num_shots == 77

    sampler.options["default_shots"] = 33  # the mapping style still works
    assert sampler.options.default_shots == 33
    assert sampler.run([_bell()]).result()[0].data.meas.num_shots == 33


def test_estimator_options_set_by_attribute_apply_to_the_next_run(harness: Harness) -> None:
    backend = _provider(harness).get_backend(SIMULATOR)
    estimator = EstimatorV2(mode=backend, options={"resilience_level": 1})
    estimator.options.resilience_level = 0
    estimator.options.default_precision = 0.1
    estimator.options.seed_simulator = 11
    assert dict(estimator.options) == {
        "resilience_level": 0,
        "default_precision": 0.1,
        "seed_simulator": 11,
    }
    pub = estimator.run([(_bell(False), SparsePauliOp("ZZ"))]).result()[0]
    assert pub.metadata["target_precision"] == 0.1
    assert pub.metadata["shots"] == 100  # ceil(1 / 0.1**2)


def test_an_unknown_option_is_a_clear_error_however_it_is_set(harness: Harness) -> None:
    backend: OpenQXBackend = _provider(harness).get_backend(SIMULATOR)
    sampler = SamplerV2(mode=backend)
    with pytest.raises(exc.OpenQXInputValueError, match="'default_precision'.*default_shots"):
        sampler.options.default_precision = 0.1  # an estimator option
    with pytest.raises(exc.OpenQXInputValueError, match="Unknown sampler option 'twirling'"):
        sampler.options["twirling"] = True
    with pytest.raises(exc.OpenQXInputValueError, match="Unknown estimator option 'shots'"):
        EstimatorV2(mode=backend, options={"shots": 5})
    with pytest.raises(AttributeError, match="Unknown sampler option 'dynamical_decoupling'"):
        _ = sampler.options.dynamical_decoupling
    assert dict(sampler.options) == {}


def test_options_are_a_mapping_that_copies_and_unsets() -> None:
    options = PrimitiveOptions("sampler", frozenset({"default_shots", "seed_simulator"}))
    options.update(default_shots=5, seed_simulator=3)
    assert options == {"default_shots": 5, "seed_simulator": 3}
    assert repr(options) == "PrimitiveOptions(default_shots=5, seed_simulator=3)"
    for clone in (copy.copy(options), copy.deepcopy(options), pickle.loads(pickle.dumps(options))):
        assert clone == options
        clone.default_shots = 9
        assert options.default_shots == 5
    options.seed_simulator = None  # unsets
    del options.default_shots
    assert options.to_dict() == {} and options.seed_simulator is None


# --- retrieval through the backend service ------------------------------------------------


def test_backend_retrieve_job_refuses_a_primitive_job_naming_the_runtime_service(
    harness: Harness,
) -> None:
    provider = _provider(harness)
    backend = provider.get_backend(SIMULATOR)
    job = SamplerV2(mode=backend).run([_bell()], shots=10)
    job.result()
    expected = rf"primitive job \(program 'sampler'\).*provider\.runtime\.job\('{job.job_id()}'\)"
    with pytest.raises(exc.OpenQXBackendError, match=expected):
        provider.backend.retrieve_job(job.job_id())
    with pytest.raises(exc.OpenQXBackendError, match=expected):
        backend.retrieve_job(job.job_id())
    circuit_job = backend.run(_bell(), shots=5)  # circuit jobs are still retrieved
    assert provider.backend.retrieve_job(circuit_job.job_id()).job_id() == circuit_job.job_id()
