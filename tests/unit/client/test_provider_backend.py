from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.providers.exceptions import QiskitBackendNotFoundError

from openqx.client import (
    BackendJobLimit,
    OpenQXBackend,
    OpenQXJob,
    least_busy,
)
from openqx.client import (
    exceptions as exc,
)
from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider
from openqx.core import circuit_payload
from tests.unit.client.conftest import FakeServer


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def test_get_backend(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_manila")
    assert isinstance(backend, OpenQXBackend) and backend.name == "ibmq_manila"
    with pytest.raises(QiskitBackendNotFoundError, match="No backend matches the criteria"):
        provider.get_backend("nope")
    with pytest.raises(QiskitBackendNotFoundError, match="More than one backend matches"):
        provider.get_backend()
    assert provider.get_backend(simulator=True).name == "simulator_statevector"


def test_backends_filters(provider: AccountProvider) -> None:
    assert [b.name for b in provider.backends(min_num_qubits=6)] == ["simulator_statevector"]
    assert [b.name for b in provider.backends(operational=True, simulator=False)] == ["ibmq_manila"]
    # configuration field, then status field
    assert [b.name for b in provider.backends(memory=True)] == [
        "ibmq_manila",
        "simulator_statevector",
    ]
    assert [b.name for b in provider.backends(dynamic_reprate_enabled=True)] == ["ibmq_manila"]
    assert [b.name for b in provider.backends(pending_jobs=3)] == ["simulator_statevector"]
    assert provider.backends(filters=lambda b: b.num_qubits == 5)[0].name == "ibmq_manila"


def test_backend_service_attributes(provider: AccountProvider) -> None:
    assert provider.backend.ibmq_manila is provider.get_backend("ibmq_manila")
    assert "simulator_statevector" in dir(provider.backend)
    with pytest.raises(AttributeError):
        provider.backend.nope  # noqa: B018
    assert provider.backend.backends(simulator=True)[0].name == "simulator_statevector"


def test_services(provider: AccountProvider) -> None:
    assert provider.has_service("backend") and provider.has_service("runtime")
    assert set(provider.services()) == {"backend", "runtime"}
    assert provider.service("backend") is provider.backend
    with pytest.raises(exc.OpenQXInputValueError, match="Unknown service foo specified."):
        provider.service("foo")
    with pytest.raises(exc.OpenQXInputValueError):
        provider.has_service("foo")


def test_provider_repr_eq(provider: AccountProvider, api: ApiClient) -> None:
    from openqx.client import AccountProvider

    assert provider == AccountProvider(api, "h/g/p")
    assert provider != AccountProvider(api, "h/g/q")
    assert "h/g/p" in repr(provider)


def test_target_and_transpile(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_manila")
    assert backend.num_qubits == 5
    assert backend.max_circuits == 300
    assert backend.target is backend.target  # cached
    out = transpile(bell(), backend, seed_transpiler=1)
    assert set(out.count_ops()) <= {"rz", "sx", "x", "cx", "measure", "barrier"}
    sim = provider.get_backend("simulator_statevector")
    assert sim.num_qubits == 32
    # No coupling map and a basis holding h and cx: the circuit keeps its width and gates.
    on_sim = transpile(bell(), sim)
    assert on_sim.num_qubits == 2
    assert dict(on_sim.count_ops()) == {"h": 1, "cx": 1, "measure": 2}


def test_configuration_properties_status(provider: AccountProvider, server: FakeServer) -> None:
    backend = provider.get_backend("ibmq_manila")
    conf = backend.configuration()
    assert conf.backend_name == "ibmq_manila" and backend.configuration() is conf
    props = backend.properties()
    assert props is not None and props.backend_name == "ibmq_manila"
    count = len(server.requests)
    backend.properties()
    assert len(server.requests) == count  # cached
    backend.properties(refresh=True)
    assert len(server.requests) == count + 1
    from datetime import datetime

    backend.properties(datetime=datetime(2024, 1, 1))
    assert "datetime=" in str(server.requests[-1].url)
    with pytest.raises(TypeError):
        backend.properties(refresh="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        backend.properties(datetime="2024")  # type: ignore[arg-type]
    assert provider.get_backend("simulator_statevector").properties() is None
    status = backend.status()
    assert status.operational and status.pending_jobs == 7 and status.status_msg == "active"
    assert backend.job_limit() == BackendJobLimit(maximum_jobs=5, active_jobs=2)
    assert backend.remaining_jobs_count() == 3
    assert backend.reservations() == []


def test_properties_after_target_reuse_its_fetch(
    provider: AccountProvider, server: FakeServer
) -> None:
    backend = provider.get_backend("ibmq_manila")
    assert backend.target.num_qubits == 5
    count = len(server.requests)
    props = backend.properties()
    assert props is not None and props.backend_name == "ibmq_manila"
    assert len(server.requests) == count


def test_default_options(provider: AccountProvider, server: FakeServer) -> None:
    backend = provider.get_backend("ibmq_manila")
    assert backend.options.shots == 4000
    assert backend.options.meas_level == 2 and backend.options.memory_slot_size == 100
    server.backends["tiny"] = (dict(server.backends["ibmq_manila"][0], max_shots=1000), None)
    provider._backends = None
    assert provider.get_backend("tiny").options.shots == 1000
    sim = provider.get_backend("simulator_statevector")
    assert "seed_simulator" in sim.options and "noise_model" in sim.options
    with pytest.raises(AttributeError):
        backend.set_options(bogus=1)


def _decode(body: dict[str, Any]) -> list[QuantumCircuit]:
    return circuit_payload.decode_circuits(body["qpy"])


def test_run_payload(provider: AccountProvider, server: FakeServer) -> None:
    backend = provider.get_backend("ibmq_manila")
    theta = Parameter("theta")
    qc = QuantumCircuit(1, 1, name="param")
    qc.rx(theta, 0)
    qc.measure(0, 0)
    job = backend.run(
        [qc, qc.copy(name="second")],
        job_name="exp-1",
        job_share_level="project",
        job_tags=["a", "b"],
        experiment_id="E1",
        header={"user": 1},
        shots=123,
        memory=True,
        rep_delay=100e-6,
        parameter_binds=[{theta: 0.5}, {theta: 1}],
    )
    assert isinstance(job, OpenQXJob) and job.job_id() == "job-00001"
    body = server.submissions[-1]
    assert [c.name for c in _decode(body)] == ["param", "second"]
    assert body["backend"] == "ibmq_manila"
    assert body["shots"] == 123 and body["memory"] is True
    assert body["name"] == "exp-1" and body["tags"] == ["a", "b"]
    assert body["share_level"] == "project" and body["experiment_id"] == "E1"
    assert body["header"] == {"user": 1}
    opts = body["options"]
    assert opts["parameter_binds"] == [{"theta": 0.5}, {"theta": 1.0}]
    assert opts["rep_delay"] == 100e-6
    assert opts["init_qubits"] is True and opts["meas_level"] == 2
    assert opts["use_measure_esp"] is False  # resolved from the configuration
    assert body["client_info"]["name"] == "openqx"
    assert job.name() == "exp-1" and job.tags() == ["a", "b"] and job.share_level() == "project"


def test_run_options_precedence(provider: AccountProvider, server: FakeServer) -> None:
    backend = provider.get_backend("ibmq_manila")
    backend.set_options(shots=50)
    backend.run(bell())
    assert server.submissions[-1]["shots"] == 50
    backend.run(bell(), shots=60)
    assert server.submissions[-1]["shots"] == 60
    backend.run(bell())
    assert server.submissions[-1]["shots"] == 50
    backend.run(bell(), shots=None)  # explicitly none: server default
    assert server.submissions[-1]["shots"] is None


def test_run_unknown_option_warns(provider: AccountProvider, server: FakeServer) -> None:
    backend = provider.get_backend("ibmq_manila")
    with pytest.warns(UserWarning, match="foo is not a recognized runtime option"):
        backend.run(bell(), foo="bar")
    assert server.submissions[-1]["options"]["foo"] == "bar"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"job_tags": {"a"}}, "job_tags needs to be a list of strings."),
        ({"job_tags": [1, 2]}, "job_tags needs to be a list of strings."),
        ({"shots": 0}, "shots"),
        ({"shots": 100001}, "max_shots"),
        ({"shots": True}, "shots"),
        ({"job_share_level": "world"}, "share level"),
        ({"use_measure_esp": True}, "ESP readout not supported on this device"),
        ({"rep_delay": 1.0}, "rep_delay"),
        ({"meas_return": "x"}, "meas_return"),
        ({"dynamic": True}, "not supported"),
        ({"noise_model": object()}, "noise_model"),
        ({"schedule_los": [{}]}, "pulse"),
        ({"parameter_binds": [{"nope": 1}]}, "Mismatch"),
    ],
)
def test_run_validation(
    provider: AccountProvider, server: FakeServer, kwargs: Any, match: str
) -> None:
    backend = provider.get_backend("ibmq_manila")
    with pytest.raises(exc.OpenQXBackendValueError, match=match):
        backend.run(bell(), **kwargs)
    assert server.submissions == []


def test_run_rejects_non_circuits(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_manila")
    with pytest.raises(exc.OpenQXBackendValueError, match="pulse schedules"):
        backend.run("OPENQASM 2.0;")
    with pytest.raises(exc.OpenQXBackendValueError):
        backend.run([])


def test_run_job_limit(provider: AccountProvider, server: FakeServer) -> None:
    server.job_limit_reached = True
    with pytest.raises(
        exc.OpenQXBackendJobLimitError, match="Maximum number of active jobs"
    ) as info:
        provider.get_backend("ibmq_manila").run(bell())
    assert info.value.code == "job_limit_reached"
    assert len(server.submissions) == 1  # never retried


def test_retrieve_job(provider: AccountProvider, server: FakeServer) -> None:
    job_id = server.add_job(backend="simulator_statevector")
    assert provider.backend.retrieve_job(job_id).backend().name == "simulator_statevector"
    manila = provider.get_backend("ibmq_manila")
    with pytest.warns(UserWarning, match="belongs to"):
        with pytest.raises(
            exc.OpenQXBackendError,
            match=f"Failed to get job {job_id}: job does not belong to backend ibmq_manila.",
        ):
            manila.retrieve_job(job_id)
    with pytest.raises(exc.OpenQXBackendApiError, match="not found"):
        provider.backend.retrieve_job("missing")


def test_least_busy(provider: AccountProvider) -> None:
    assert least_busy(provider.backends()).name == "simulator_statevector"
    with pytest.raises(exc.OpenQXError):
        least_busy([])


def test_runtime_run_circuits(provider: AccountProvider, server: FakeServer) -> None:
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(json.loads(request.content))
        return httpx.Response(
            201,
            json={
                "id": "rt-1",
                "kind": "runtime",
                "backend": "ibmq_manila",
                "status": "QUEUED",
                "owner": "alice",
                "instance": "h/g/p",
                "created_at": "2024-01-01T00:00:00Z",
                "program_id": "circuit-runner",
            },
        )

    original = server.handler

    def server_handler(request: httpx.Request) -> httpx.Response:
        return handler(request) if request.url.path == "/v1/runtime/jobs" else original(request)

    transport = provider.api_client._http._transport
    assert isinstance(transport, httpx.MockTransport)
    transport.handler = server_handler
    job = provider.run_circuits(bell(), "ibmq_manila", shots=0, seed_transpiler=0)
    assert job.job_id() == "rt-1"
    assert seen["program_id"] == "circuit-runner" and seen["backend"] == "ibmq_manila"
    assert seen["params"]["shots"] == 0 and seen["params"]["seed_transpiler"] == 0
    assert seen["params"]["optimization_level"] == 1
    assert isinstance(seen["params"]["circuits"], str)
