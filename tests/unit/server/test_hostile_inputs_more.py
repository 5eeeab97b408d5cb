"""More hostile requests an exploratory tester found: each gets a 400 naming the problem at
submission (never a 500, never a job that fails later), and stores nothing.

Also: an unexpected error in a route is a JSON 500, a Rust panic (a ``BaseException``) too.
The service is the in-process one of ``tests.unit.server.harness``.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from openqx.core import wire
from openqx.server.routes import backends as backend_routes
from tests.unit.server.harness import BASE_URL, Harness, bell, qpy_b64

SIM = "ibmq_qasm_simulator"
BELL = qpy_b64(bell())


def _rx() -> QuantumCircuit:
    circuit = QuantumCircuit(1, name="rx")
    circuit.rx(Parameter("theta"), 0)
    circuit.measure_all()
    return circuit


RX = qpy_b64(_rx())


def _stored(harness: Harness) -> tuple[int, int]:
    """Jobs and blobs in the service."""
    records, _ = harness.store.search_jobs(wire.JobQuery(limit=None))
    return len(records), len(harness.blobs)


def _refused(harness: Harness, path: str, body: dict[str, Any], *needles: str) -> str:
    """POST ``body``; assert a 400 whose message holds ``needles`` and that nothing is stored."""
    before = _stored(harness)
    answer = harness.client.post(path, json=body, headers=harness.headers())
    assert answer.status_code == 400, answer.text
    message: str = answer.json()["error"]["message"]
    for needle in needles:
        assert needle in message, message
    assert _stored(harness) == before
    return message


def _runner(circuits: str = BELL, **params: Any) -> dict[str, Any]:
    return {
        "program_id": "circuit-runner",
        "backend": SIM,
        "params": {"circuits": circuits, **params},
    }


# --- circuit-runner -----------------------------------------------------------------------

RUNNER_CASES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "initial_layout 5": (_runner(initial_layout=5), ("initial_layout", "list")),
    "initial_layout text": (_runner(initial_layout="01"), ("initial_layout",)),
    "initial_layout dict": (_runner(initial_layout={"0": 1, "1": 0}), ("initial_layout",)),
    "initial_layout too short": (_runner(initial_layout=[0]), ("initial_layout", "1 qubit")),
    "initial_layout too long": (_runner(initial_layout=[0, 1, 2]), ("initial_layout", "3 qubit")),
    "transpiler_options.initial_layout too short": (
        _runner(transpiler_options={"initial_layout": [0]}),
        ("transpiler_options.initial_layout", "1 qubit"),
    ),
    "transpiler_options.initial_layout dict": (
        _runner(transpiler_options={"initial_layout": {"0": 1, "1": 0}}),
        ("transpiler_options.initial_layout", "list"),
    ),
    "parameter_binds text": (_runner(RX, parameter_binds="zzz"), ("parameter_binds",)),
    "parameter_binds other name": (
        _runner(RX, parameter_binds=[{"phi": 0.5}]),
        ("parameter_binds", "theta"),
    ),
    "parameter_binds on a circuit without": (
        _runner(parameter_binds=[{"theta": 0.5}]),
        ("parameter_binds",),
    ),
    "parameter_binds not a number": (
        _runner(RX, parameter_binds=[{"theta": "x"}]),
        ("parameter_binds", "theta"),
    ),
    "no parameter_binds for a parameter": (_runner(RX), ("theta", "parameter_binds")),
    "routing_method 123": (_runner(routing_method=123), ("routing_method", "123")),
    "routing_method unknown": (_runner(routing_method="evil"), ("routing_method", "sabre")),
    "layout_method unknown": (_runner(layout_method="evil"), ("layout_method",)),
    "translation_method list": (_runner(translation_method=["x"]), ("translation_method",)),
    "shots 0": (_runner(shots=0), ("shots", "0")),
    "shots false": (_runner(shots=False), ("shots", "bool")),
    "shots -1": (_runner(shots=-1), ("shots",)),
    "shots text": (_runner(shots="100"), ("shots", "str")),
    "shots 1.5": (_runner(shots=1.5), ("shots", "float")),
    "shots 2**64": (_runner(shots=2**64), ("shots", "max_shots")),
}


@pytest.mark.parametrize("name", list(RUNNER_CASES))
def test_bad_circuit_runner_input_is_400_at_submission(harness: Harness, name: str) -> None:
    body, needles = RUNNER_CASES[name]
    _refused(harness, "/v1/runtime/jobs", body, *needles)


def test_circuit_runner_still_takes_good_options(harness: Harness) -> None:
    """The checks refuse only what cannot run: these options run to DONE."""
    body = _runner(
        RX,
        initial_layout=[0],
        routing_method="sabre",
        layout_method="trivial",
        translation_method="translator",
        parameter_binds=[{"theta": 0.1}, {"theta": 0.2}],
        shots=100,
    )
    answer = harness.client.post("/v1/runtime/jobs", json=body, headers=harness.headers())
    assert answer.status_code == 201, answer.text
    assert harness.wait_final(answer.json()["id"]) == "DONE"
    plain = harness.client.post(
        "/v1/runtime/jobs", json=_runner(parameter_binds=[]), headers=harness.headers()
    )
    assert plain.status_code == 201, plain.text
    assert harness.wait_final(plain.json()["id"]) == "DONE"


# --- estimator precision --------------------------------------------------------------------


def _estimator(pub_precision: object = None, **params: Any) -> dict[str, Any]:
    circuit = QuantumCircuit(1)
    circuit.x(0)
    pub: dict[str, Any] = {
        "circuit": qpy_b64(circuit),
        "parameter_names": [],
        "parameter_values": None,
        "observables": {"Z": 1.0},
    }
    if pub_precision is not None:
        pub["precision"] = pub_precision
    return {"program_id": "estimator", "backend": SIM, "params": {"pubs": [pub], **params}}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (_estimator(1e-200), "PUB 0: precision"),
        (_estimator(1e-160), "PUB 0: precision"),
        (_estimator(10**400), "PUB 0: precision"),
        (_estimator(precision=1e-200), "precision"),
        (_estimator(precision=1e-160), "precision"),
        (_estimator(options={"default_precision": 1e-170}), "default_precision"),
        (_estimator(1e-100), "precision 1e-100"),  # representable, beyond max_shots
        (_estimator(precision=1e-9), "precision 1e-09"),
    ],
)
def test_an_estimator_precision_too_fine_is_400_naming_it(
    harness: Harness, body: dict[str, Any], needle: str
) -> None:
    message = _refused(harness, "/v1/runtime/jobs", body, needle)
    assert len(message) < 400, message


def test_a_fine_but_possible_precision_still_runs(harness: Harness) -> None:
    answer = harness.client.post(
        "/v1/runtime/jobs", json=_estimator(0.05), headers=harness.headers()
    )
    assert answer.status_code == 201, answer.text
    assert harness.wait_final(answer.json()["id"]) == "DONE"


# --- cursors --------------------------------------------------------------------------------


def _cursor(data: object) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = {
    "year 9999 -05:00": _cursor({"t": "9999-12-31T23:59:59-05:00", "i": "x", "d": True}),
    "year 1 +05:00": _cursor({"t": "0001-01-01T00:00:00+05:00", "i": "x", "d": False}),
    "id a list": _cursor({"t": "2024-01-01T00:00:00+00:00", "i": ["x"], "d": True}),
    "direction text": _cursor({"t": "2024-01-01T00:00:00+00:00", "i": "x", "d": "yes"}),
    "date a number": _cursor({"t": 5, "i": "x", "d": True}),
    "id with NUL": _cursor({"t": "2024-01-01T00:00:00+00:00", "i": "a\x00b", "d": True}),
    "a list": _cursor(["2024-01-01T00:00:00+00:00", "x", True]),
}


@pytest.mark.parametrize("name", list(BAD_CURSORS))
def test_a_bad_cursor_is_400_invalid_cursor(harness: Harness, name: str) -> None:
    cursor = BAD_CURSORS[name]
    listed = harness.client.get("/v1/jobs", params={"cursor": cursor}, headers=harness.headers())
    assert listed.status_code == 400, listed.text
    assert "Invalid cursor" in listed.json()["error"]["message"]
    searched = harness.client.post(
        "/v1/jobs/search", json={"cursor": cursor}, headers=harness.headers()
    )
    assert searched.status_code == 400, searched.text
    assert "Invalid cursor" in searched.json()["error"]["message"]


def test_the_dashboard_table_shows_a_bad_cursor_as_a_problem(harness: Harness) -> None:
    browser = TestClient(harness.client.app, base_url=BASE_URL)
    signed_in = browser.post(
        "/signin", data={"token": "admin-token-for-tests", "next": "/jobs"}, follow_redirects=False
    )
    assert signed_in.status_code == 303, signed_in.text
    cursor = BAD_CURSORS["year 9999 -05:00"]
    table = browser.get("/jobs/table", params={"cursor": cursor})
    garbage = browser.get("/jobs/table", params={"cursor": "garbage"})
    assert (table.status_code, garbage.status_code) == (200, 200), table.text
    page = browser.get("/jobs", params={"cursor": cursor})
    assert page.status_code == 400, page.text
    assert "Invalid cursor" in page.text


# --- job sets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("set_id", "needle"),
    [("x" * 300, "300 characters"), ("a%00b", "NUL")],
)
def test_a_job_set_id_no_set_can_have_is_400_naming_the_rule(
    harness: Harness, set_id: str, needle: str
) -> None:
    answer = harness.client.get(f"/v1/job_sets/{set_id}", headers=harness.headers())
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert "job set id" in message and "at most 241 characters" in message, message
    assert needle in message, message


@pytest.mark.parametrize("set_id", ["no-such-set", "y" * 241])
def test_a_well_formed_unknown_job_set_is_404(harness: Harness, set_id: str) -> None:
    answer = harness.client.get(f"/v1/job_sets/{set_id}", headers=harness.headers())
    assert answer.status_code == 404, answer.text


# --- calibration snapshots ------------------------------------------------------------------


def _snapshot(harness: Harness) -> dict[str, Any]:
    snapshot = harness.service.catalog.get("fake_manila").current_snapshot()
    assert snapshot is not None
    return copy.deepcopy(snapshot.properties)


@pytest.mark.parametrize(
    "date", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "not a date"]
)
def test_a_snapshot_date_out_of_utc_range_is_400_naming_the_field(
    harness: Harness, date: str
) -> None:
    device = harness.service.catalog.get("fake_manila")
    before = [a.id for a in device.history.anchors]
    properties = _snapshot(harness)
    properties["last_update_date"] = date
    answer = harness.client.post(
        "/v1/backends/fake_manila/properties", json=properties, headers=harness.headers()
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["details"]["field"] == "last_update_date"
    assert "last_update_date" in error["message"]
    assert [a.id for a in device.history.anchors] == before


def test_a_qubit_date_out_of_utc_range_is_400_naming_the_field(harness: Harness) -> None:
    properties = _snapshot(harness)
    properties["qubits"][0][0]["date"] = "0001-01-01T00:00:00+05:00"
    answer = harness.client.post(
        "/v1/backends/fake_manila/properties", json=properties, headers=harness.headers()
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"]["field"] == "qubits[0][0].date"


# --- unexpected errors ----------------------------------------------------------------------


class FakePanic(BaseException):
    """Stands in for pyo3's ``PanicException``, which derives from ``BaseException``."""


@pytest.mark.parametrize("error", [RuntimeError("boom"), FakePanic("rust panicked")])
def test_an_unexpected_error_is_a_json_500_logged_once(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: BaseException,
) -> None:
    def failing(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr(backend_routes, "_summary", failing)
    with caplog.at_level(logging.ERROR):
        answer = harness.client.get(f"/v1/backends/{SIM}/status", headers=harness.headers())
    assert answer.status_code == 500, answer.text
    assert answer.json()["error"]["code"] == "internal"
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is error]
    assert len(logged) == 1
    assert getattr(logged[0], "action", None) == "request_failed"
    assert f"/v1/backends/{SIM}/status" in logged[0].getMessage()
    assert harness.client.get("/v1/account", headers=harness.headers()).status_code == 200


@pytest.mark.parametrize("shots", [2**64, 10**400])
def test_a_sampler_asking_for_more_shots_than_a_float_holds_is_400(
    harness: Harness, shots: int
) -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    pub: dict[str, Any] = {
        "circuit": qpy_b64(circuit),
        "parameter_names": [],
        "parameter_values": None,
    }
    body = {"program_id": "sampler", "backend": SIM, "params": {"pubs": [pub], "shots": shots}}
    message = _refused(harness, "/v1/runtime/jobs", body, "PUB 0 needs about 10**")
    assert len(message) < 300, message
