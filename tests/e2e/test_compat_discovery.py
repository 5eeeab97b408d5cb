"""Point 6 of the legacy issue, through ``openqx.compat.ibmq``: ``backends(input_allowed=...)``
and list filters match by containment, ``provider.backends.<name>`` works as in the seed, and
circuit-runner jobs stay out of ``backend.jobs()`` (``provider.runtime.jobs()`` lists them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qiskit import transpile

from openqx.compat.ibmq import AccountProvider, IBMQBackend, IBMQSimulator
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import ghz
from tests.e2e.compat_helpers import ibmq_session

TIMEOUT = 120


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> Iterator[AccountProvider]:
    with ibmq_session(server) as provider:
        yield provider


def test_input_allowed_filters_by_containment(provider: AccountProvider) -> None:
    every = {backend.name() for backend in provider.backends()}
    assert {b.name() for b in provider.backends(input_allowed="job")} == every
    assert {b.name() for b in provider.backends(input_allowed="runtime")} == every
    assert {b.name() for b in provider.backends(input_allowed=["job", "runtime"])} == every
    assert provider.backends(input_allowed="nothing-else") == []
    assert provider.get_backend("fake_manila").configuration().input_allowed == ["job", "runtime"]


def test_list_filters_match_by_containment(provider: AccountProvider) -> None:
    with_ecr = provider.backends(basis_gates=["ecr"])
    assert with_ecr and all("ecr" in b.configuration().basis_gates for b in with_ecr)
    assert "fake_manila" not in {b.name() for b in with_ecr}  # a cx device
    both = {b.name() for b in provider.backends(basis_gates=["cx", "rz"], simulator=False)}
    assert "fake_manila" in both
    assert provider.backends(basis_gates=["no_such_gate"]) == []
    assert [b.name() for b in provider.backends(n_qubits=5, backend_name="fake_manila")] == [
        "fake_manila"
    ]


def test_backends_as_attributes(provider: AccountProvider) -> None:
    with pytest.warns(DeprecationWarning, match="provider.backend"):
        simulator = provider.backends.ibmq_qasm_simulator
    assert isinstance(simulator, IBMQSimulator)
    assert simulator.name() == "ibmq_qasm_simulator"
    device = provider.backends.fake_manila  # warned once per provider, as in the seed
    assert isinstance(device, IBMQBackend) and not isinstance(device, IBMQSimulator)
    assert provider.backend.fake_manila is device
    assert callable(provider.backends.jobs)
    with pytest.raises(AttributeError):
        _ = provider.backends.no_such_backend
    assert [b.name() for b in provider.backends("fake_manila")] == ["fake_manila"]


def test_circuit_runner_jobs_stay_out_of_backend_jobs(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    circuit_job = backend.run(transpile(ghz(2), backend), shots=10, job_tags=["discovery"])
    runtime_job = provider.run_circuits(ghz(2), backend_name="ibmq_qasm_simulator", shots=10)
    runtime_job.result(timeout=TIMEOUT)
    circuit_job.wait_for_final_state(timeout=TIMEOUT)

    listed = {job.job_id() for job in backend.jobs(limit=None)}
    assert circuit_job.job_id() in listed
    assert runtime_job.job_id() not in listed
    assert runtime_job.job_id() not in provider.backend.job_ids(limit=None)
    assert runtime_job.job_id() not in {j.job_id() for j in provider.backend.jobs(limit=None)}
    assert runtime_job.job_id() in {j.job_id() for j in provider.runtime.jobs(limit=None)}


def test_name_and_provider_are_callable_as_in_the_seed(
    provider: AccountProvider, server: EmbeddedServer
) -> None:
    from openqx.client import OpenQX

    device = provider.get_backend("fake_manila")
    assert device.name() == "fake_manila" and device.name == "fake_manila"
    assert device.provider() is provider and device.provider is provider
    job = device.run(transpile(ghz(2), device, seed_transpiler=2), shots=10)
    assert job.backend().name() == "fake_manila"
    assert provider.backend.retrieve_job(job.job_id()).backend().provider() is provider
    job.wait_for_final_state(timeout=TIMEOUT)
    # openqx's own names keep Qiskit's BackendV2: name is a plain str attribute.
    plain = OpenQX.enable_account(server.token, server.url).get_backend("fake_manila")
    assert type(plain.name) is str and not callable(plain.name)
    assert not callable(plain.provider)
