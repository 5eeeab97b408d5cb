"""Bad input gets a clear 4xx and leaves nothing behind (real server, raw HTTP and client)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit, qpy, transpile

from openqx.client.provider import AccountProvider
from openqx.core.wire import b64encode
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import ghz


def _qpy(*circuits: QuantumCircuit) -> str:
    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer)
    return b64encode(buffer.getvalue())


@pytest.fixture()
def api(server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.url}/v1", headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    ) as client:
        yield client


def _blob_files(server: EmbeddedServer) -> set[Path]:
    root = Path(server.settings.blob_location)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _job_count(api: httpx.Client) -> int:
    answer = api.post("/jobs/search", json={"limit": 0})
    assert answer.status_code == 200, answer.text
    return len(answer.json()["jobs"])


def _assert_rejected(
    api: httpx.Client, server: EmbeddedServer, body: dict[str, Any], status: int, *needles: str
) -> dict[str, Any]:
    jobs, blobs = _job_count(api), _blob_files(server)
    answer = api.post("/jobs", json=body)
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    for needle in needles:
        assert needle in error["message"], error
    assert _job_count(api) == jobs
    assert _blob_files(server) == blobs
    return error


def test_missing_and_wrong_token_are_401(server: EmbeddedServer) -> None:
    assert httpx.get(f"{server.url}/v1/backends").status_code == 401
    answer = httpx.get(f"{server.url}/v1/backends", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_client_reports_a_bad_token(server: EmbeddedServer) -> None:
    from openqx import OpenQX
    from openqx.client.exceptions import OpenQXAccountError

    with pytest.raises(OpenQXAccountError):
        OpenQX.enable_account("not-a-token", url=server.url)


def test_unknown_backend_is_404(api: httpx.Client, server: EmbeddedServer) -> None:
    error = _assert_rejected(api, server, {"backend": "nope", "qpy": _qpy(ghz(2))}, 404, "nope")
    assert error["code"] == "backend_not_found"
    assert api.get("/backends/nope/configuration").status_code == 404


def test_gate_outside_the_basis_names_instruction_and_hint(
    api: httpx.Client, server: EmbeddedServer
) -> None:
    error = _assert_rejected(
        api, server, {"backend": "fake_manila", "qpy": _qpy(ghz(2))}, 400, "'h'", "ranspile"
    )
    assert error["code"] == "invalid_circuit"


def test_two_qubit_gate_on_uncoupled_qubits(
    api: httpx.Client, server: EmbeddedServer, provider: AccountProvider
) -> None:
    circuit = QuantumCircuit(5)
    circuit.cx(0, 4)  # manila is a line 0-1-2-3-4
    circuit.measure_all()
    error = _assert_rejected(
        api, server, {"backend": "fake_manila", "qpy": _qpy(circuit)}, 400, "cx", "(0, 4)"
    )
    assert error["code"] == "invalid_circuit"
    assert "not coupled" in error["message"]
    assert error["details"]["backend"] == "fake_manila"
    # The same circuit routed onto the coupling map is accepted.
    backend = provider.get_backend("fake_manila")
    routed = transpile(circuit, backend, seed_transpiler=1)
    answer = api.post("/jobs", json={"backend": "fake_manila", "qpy": _qpy(routed), "shots": 10})
    assert answer.status_code == 201, answer.text


def test_more_qubits_than_the_device(api: httpx.Client, server: EmbeddedServer) -> None:
    circuit = QuantumCircuit(6)
    circuit.x(5)
    _assert_rejected(api, server, {"backend": "fake_manila", "qpy": _qpy(circuit)}, 400, "6", "5")


def test_shots_above_max_and_not_integer(
    api: httpx.Client, server: EmbeddedServer, provider: AccountProvider
) -> None:
    backend = provider.get_backend("fake_manila")
    payload = _qpy(transpile(ghz(2), backend))
    max_shots = backend.configuration().max_shots
    _assert_rejected(
        api,
        server,
        {"backend": "fake_manila", "qpy": payload, "shots": max_shots + 1},
        400,
        "shots",
    )
    _assert_rejected(
        api, server, {"backend": "fake_manila", "qpy": payload, "shots": 1.5}, 400, "shots"
    )
    _assert_rejected(
        api, server, {"backend": "fake_manila", "qpy": payload, "shots": "many"}, 400, "shots"
    )


def test_more_circuits_than_max_experiments(
    api: httpx.Client, server: EmbeddedServer, provider: AccountProvider
) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    limit = backend.configuration().max_experiments
    tiny = QuantumCircuit(1)
    tiny.measure_all()
    _assert_rejected(
        api,
        server,
        {"backend": backend.name, "qpy": _qpy(*[tiny] * (limit + 1))},
        400,
        "max_experiments",
    )


def test_malformed_payloads(api: httpx.Client, server: EmbeddedServer) -> None:
    _assert_rejected(api, server, {"backend": "fake_manila", "qpy": "%%%not base64"}, 400, "base64")
    _assert_rejected(
        api, server, {"backend": "fake_manila", "qpy": b64encode(b"garbage")}, 400, "QPY"
    )
    _assert_rejected(api, server, {"backend": "fake_manila"}, 400, "qpy")
    answer = api.post("/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_input"


def test_oversized_payload_is_413(api: httpx.Client, server: EmbeddedServer) -> None:
    limit = server.settings.max_payload_bytes
    answer = api.post(
        "/jobs", content=b"x" * (limit + 1), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert "limit" in answer.json()["error"]["message"]


def test_client_side_value_errors(provider: AccountProvider) -> None:
    from openqx.client.exceptions import OpenQXBackendValueError

    backend = provider.get_backend("fake_manila")
    circuit = transpile(ghz(2), backend)
    with pytest.raises(OpenQXBackendValueError):
        backend.run(circuit, job_tags={"a-set"})  # type: ignore[arg-type]  # a set on purpose
    with pytest.raises(OpenQXBackendValueError):
        backend.run(circuit, shots=backend.configuration().max_shots + 1)
    with pytest.raises(OpenQXBackendValueError):
        backend.run(circuit, job_share_level="everyone")
