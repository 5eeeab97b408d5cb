"""The exploratory tester's requests on a real server: 400s naming the problem, nothing stored;
an unexpected error is a JSON 500 on a connection that stays open, its traceback logged once."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit

from openqx.embedded import EmbeddedServer
from openqx.server.routes import backends as backend_routes
from tests.e2e.circuits import ghz
from tests.e2e.test_bad_input import _qpy

SIM = "ibmq_qasm_simulator"


@pytest.fixture()
def api(server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.url}/v1", headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    ) as client:
        yield client


def _job_count(api: httpx.Client) -> int:
    answer = api.post("/jobs/search", json={"limit": None})
    assert answer.status_code == 200, answer.text
    return len(answer.json()["jobs"])


def _estimator(precision: float) -> dict[str, Any]:
    circuit = QuantumCircuit(1)
    circuit.x(0)
    pub: dict[str, Any] = {
        "circuit": _qpy(circuit),
        "parameter_names": [],
        "parameter_values": None,
        "observables": {"Z": 1.0},
        "precision": precision,
    }
    return {"program_id": "estimator", "backend": SIM, "params": {"pubs": [pub]}}


def _runner(**params: Any) -> dict[str, Any]:
    return {
        "program_id": "circuit-runner",
        "backend": SIM,
        "params": {"circuits": _qpy(ghz(2)), **params},
    }


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (_runner(initial_layout=5), "initial_layout"),
        (_runner(parameter_binds="zzz"), "parameter_binds"),
        (_runner(routing_method=123), "routing_method"),
        (_runner(shots=0), "shots"),
        (_runner(shots=False), "shots"),
        (_estimator(1e-200), "precision"),
        (_estimator(1e-160), "precision"),
    ],
)
def test_reported_runtime_submissions_are_400_and_store_nothing(
    api: httpx.Client, body: dict[str, Any], needle: str
) -> None:
    before = _job_count(api)
    answer = api.post("/runtime/jobs", json=body)
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["error"]["message"]
    assert _job_count(api) == before


def test_reported_reads_are_400(api: httpx.Client, server: EmbeddedServer) -> None:
    raw = json.dumps({"t": "9999-12-31T23:59:59-05:00", "i": "x", "d": True}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    listed = api.get("/jobs", params={"cursor": cursor})
    assert listed.status_code == 400, listed.text
    assert "Invalid cursor" in listed.json()["error"]["message"]
    for set_id in ("x" * 300, "a%00b"):
        answer = api.get(f"/job_sets/{set_id}")
        assert answer.status_code == 400, answer.text
        assert "job set id" in answer.json()["error"]["message"]
    properties = api.get("/backends/fake_manila/properties").json()
    properties["last_update_date"] = "0001-01-01T00:00:00+05:00"
    imported = api.post("/backends/fake_manila/properties", json=properties)
    assert imported.status_code == 400, imported.text
    assert "last_update_date" in imported.json()["error"]["message"]


def test_an_unexpected_error_keeps_the_connection_and_logs_once(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    error = RuntimeError("the status route broke")

    def failing(*args: object, **kwargs: object) -> object:
        raise error

    addresses: list[object] = []  # the local address of the connection of each answer

    def note_connection(answer: httpx.Response) -> None:
        addresses.append(answer.extensions["network_stream"].get_extra_info("client_addr"))

    monkeypatch.setattr(backend_routes, "_summary", failing)
    uvicorn_log = logging.getLogger("uvicorn.error")  # it does not propagate to the root
    uvicorn_log.addHandler(caplog.handler)
    try:
        with (
            caplog.at_level(logging.ERROR),
            httpx.Client(
                base_url=f"{server.url}/v1",
                headers={"Authorization": f"Bearer {server.token}"},
                event_hooks={"response": [note_connection]},
            ) as api,
        ):
            failed = api.get(f"/backends/{SIM}/status")
            answered = api.get("/account")
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert failed.status_code == 500, failed.text
    assert failed.json()["error"]["code"] == "internal"
    assert answered.status_code == 200, answered.text
    tracebacks = [r for r in caplog.records if r.exc_info and r.exc_info[1] is error]
    assert len(tracebacks) == 1, [r.getMessage() for r in caplog.records]
    assert tracebacks[0].name == "openqx.server.errors"
    assert addresses[0] == addresses[1], "the 500 closed the connection"
