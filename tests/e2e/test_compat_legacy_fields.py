"""Point 5 of the legacy issue, through ``openqx.compat.ibmq``: ``qobj_header=`` reaches the
result header as ``header=`` does, results carry ``client_version``, and ``use_measure_esp``
is recorded for every backend, simulators included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qiskit import transpile

from openqx.compat.ibmq import AccountProvider, IBMQBackendValueError
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import ghz
from tests.e2e.compat_helpers import ibmq_session

TIMEOUT = 120


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> Iterator[AccountProvider]:
    with ibmq_session(server) as provider:
        yield provider


def _field(header: Any, key: str) -> Any:
    return header[key] if isinstance(header, dict) else getattr(header, key)


@pytest.mark.parametrize("name", ["ibmq_qasm_simulator", "fake_manila"])
def test_qobj_header_reaches_the_result(provider: AccountProvider, name: str) -> None:
    backend = provider.get_backend(name)
    circuit = transpile(ghz(2), backend, seed_transpiler=3)
    job = backend.run(circuit, shots=100, qobj_header={"experiment": "bell", "run": 7})

    result = job.result(timeout=TIMEOUT)
    assert _field(result.header, "experiment") == "bell"
    experiment_header = result.results[0].header
    assert _field(experiment_header, "run") == 7
    assert _field(experiment_header, "name") == circuit.name  # the circuit's own fields stay
    assert job.header() == {"experiment": "bell", "run": 7}
    assert "qobj_header" not in job.backend_options()


def test_header_and_qobj_header_together_are_refused(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    with pytest.raises(IBMQBackendValueError, match="qobj_header"):
        backend.run(ghz(2), header={"a": 1}, qobj_header={"b": 2})


def test_results_carry_the_client_version(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    job = backend.run(transpile(ghz(2), backend), shots=10)
    result = job.result(timeout=TIMEOUT)

    versions = result.client_version
    assert versions == job.client_version
    assert set(versions) >= {"openqx", "qiskit"}
    assert all(isinstance(value, str) and value for value in versions.values())
    retrieved = provider.backend.retrieve_job(job.job_id())
    assert retrieved.result().client_version == versions


@pytest.mark.parametrize(
    "name", ["ibmq_qasm_simulator", "simulator_stabilizer", "simulator_mps", "fake_manila"]
)
def test_use_measure_esp_is_recorded_for_every_backend(
    provider: AccountProvider, name: str
) -> None:
    backend = provider.get_backend(name)
    job = backend.run(transpile(ghz(2), backend, seed_transpiler=1), shots=10)
    supported = bool(backend.configuration_dict().get("measure_esp_enabled", False))

    recorded = provider.backend.retrieve_job(job.job_id()).backend_options()
    assert recorded["use_measure_esp"] is supported
    job.wait_for_final_state(timeout=TIMEOUT)


def test_the_server_records_use_measure_esp_for_a_client_that_sends_none(
    provider: AccountProvider, server: EmbeddedServer
) -> None:
    import httpx

    from openqx.core import circuit_payload

    body = {
        "backend": "ibmq_qasm_simulator",
        "qpy": circuit_payload.encode_circuits([ghz(2)]),
        "shots": 10,
    }
    answer = httpx.post(
        f"{server.url}/v1/jobs", json=body, headers={"Authorization": f"Bearer {server.token}"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["options"]["use_measure_esp"] is False
    provider.backend.retrieve_job(answer.json()["id"]).wait_for_final_state(timeout=TIMEOUT)
