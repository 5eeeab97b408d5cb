"""``/jobs`` and ``/job_sets`` on a service that runs jobs (inline executor): submit, read,
search, rename, results, circuits, properties, events, cancel, and every error answer."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from openqx.core import wire
from openqx.core.status import JobStatus
from tests.unit.server.harness import MAX_PAYLOAD_BYTES, Harness, bell, qpy_b64


@dataclass(frozen=True)
class DoneJob:
    """A finished job of its own user."""

    token: str
    id: str
    info: dict[str, Any]


@pytest.fixture(scope="module")
def done(harness: Harness) -> DoneJob:
    token = harness.new_user(instances=("hub/group/project",))
    info = harness.submit(
        token, name="bell-job", tags=["alpha", "beta"], shots=64, header={"note": "x"}
    )
    assert harness.wait_final(info["id"], token) == "DONE"
    return DoneJob(token, info["id"], info)


def _error(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == code, error
    return error


# --- submit ---------------------------------------------------------------------------------
def test_submit_answers_201_with_the_job(harness: Harness, done: DoneJob) -> None:
    info = done.info
    assert info["kind"] == "circuits"
    assert info["backend"] == "ibmq_qasm_simulator"
    assert info["status"] == "QUEUED"
    assert info["owner"].startswith("user")
    assert info["instance"] == "hub/group/project"
    assert info["name"] == "bell-job"
    assert info["tags"] == ["alpha", "beta"]
    assert info["shots"] == 64
    assert info["num_circuits"] == 1
    assert info["header"] == {"note": "x"}
    assert info["share_level"] == "none"
    assert info["snapshot_id"] is None
    assert list(info["time_per_step"]) == ["CREATING", "VALIDATING", "QUEUED"]
    assert wire.JobInfo.model_validate(info).id == done.id


def _counts(harness: Harness) -> tuple[int, int]:
    """(jobs in the store, blobs in the blob store)."""
    records, _ = harness.store.search_jobs(wire.JobQuery(limit=None))
    keys = list(harness.blobs._data)  # the memory blob store's dict
    return len(records), len(keys)


def _qpy_of(*circuits: QuantumCircuit) -> str:
    return qpy_b64(*circuits)


def _wide(qubits: int) -> QuantumCircuit:
    circuit = QuantumCircuit(qubits)
    circuit.x(qubits - 1)
    circuit.measure_all()
    return circuit


def _parametric() -> QuantumCircuit:
    circuit = QuantumCircuit(1, name="rot")
    circuit.rx(Parameter("theta"), 0)
    circuit.measure_all()
    return circuit


def _uncoupled() -> QuantumCircuit:
    circuit = QuantumCircuit(5, name="far")
    circuit.cx(0, 4)  # manila is a line 0-1-2-3-4
    circuit.measure_all()
    return circuit


BELL = _qpy_of(bell())
REJECTED: list[tuple[dict[str, Any], int, str, str]] = [
    ({"backend": "nope", "qpy": BELL}, 404, "backend_not_found", "nope"),
    ({"backend": "ibmq_qasm_simulator"}, 400, "invalid_input", "qpy"),
    ({"backend": "ibmq_qasm_simulator", "qpy": "%%%"}, 400, "invalid_input", "base64"),
    (
        {"backend": "ibmq_qasm_simulator", "qpy": base64.b64encode(b"junk").decode()},
        400,
        "invalid_input",
        "QPY",
    ),
    ({"backend": "ibmq_qasm_simulator", "qpy": BELL, "shots": 0}, 400, "invalid_input", "shots"),
    ({"backend": "ibmq_qasm_simulator", "qpy": BELL, "shots": 1.5}, 400, "invalid_input", "shots"),
    ({"backend": "ibmq_qasm_simulator", "qpy": BELL, "shots": "x"}, 400, "invalid_input", "shots"),
    ({"backend": "ibmq_qasm_simulator", "qpy": BELL, "colour": 1}, 400, "invalid_input", "colour"),
    (
        {"backend": "ibmq_qasm_simulator", "qpy": BELL, "tags": ["a", 3]},
        400,
        "invalid_input",
        "tags",
    ),
    (
        {"backend": "ibmq_qasm_simulator", "qpy": BELL, "share_level": "everyone"},
        400,
        "invalid_input",
        "share_level",
    ),
    (
        {"backend": "fake_manila", "qpy": _qpy_of(_wide(6))},
        400,
        "invalid_circuit",
        "6",
    ),
    (
        {"backend": "fake_manila", "qpy": _qpy_of(_uncoupled())},
        400,
        "invalid_circuit",
        "(0, 4)",
    ),
    (
        {"backend": "ibmq_qasm_simulator", "qpy": _qpy_of(_parametric())},
        400,
        "invalid_input",
        "theta",
    ),
    (
        {
            "backend": "ibmq_qasm_simulator",
            "qpy": _qpy_of(_parametric()),
            "options": {"parameter_binds": [{"phi": 1.0}]},
        },
        400,
        "invalid_input",
        "parameter_binds",
    ),
    (
        {
            "backend": "ibmq_qasm_simulator",
            "qpy": _qpy_of(_parametric()),
            "options": {"parameter_binds": [{"theta": "one"}]},
        },
        400,
        "invalid_input",
        "number",
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "needle"), REJECTED)
def test_rejected_submissions_say_why_and_store_nothing(
    harness: Harness, body: dict[str, Any], status: int, code: str, needle: str
) -> None:
    before = _counts(harness)
    answer = harness.client.post("/v1/jobs", json=body, headers=harness.headers())
    error = _error(answer, status, code)
    assert needle in error["message"]
    assert _counts(harness) == before


def test_more_experiments_than_the_backend_takes(harness: Harness) -> None:
    device = harness.service.catalog.get("simulator_stabilizer")
    tiny = QuantumCircuit(1, name="t")
    tiny.measure_all()
    before = _counts(harness)
    answer = harness.client.post(
        "/v1/jobs",
        json={"backend": device.name, "qpy": _qpy_of(*[tiny] * (device.max_experiments + 1))},
        headers=harness.headers(),
    )
    assert "max_experiments" in _error(answer, 400, "invalid_input")["message"]
    assert _counts(harness) == before


def test_a_body_that_is_not_json_is_400(harness: Harness) -> None:
    answer = harness.client.post(
        "/v1/jobs",
        content=b"{not json",
        headers={**harness.headers(), "Content-Type": "application/json"},
    )
    _error(answer, 400, "invalid_input")


def test_an_oversized_body_is_413(harness: Harness) -> None:
    before = _counts(harness)
    answer = harness.client.post(
        "/v1/jobs",
        content=b"x" * (MAX_PAYLOAD_BYTES + 1),
        headers={**harness.headers(), "Content-Type": "application/json"},
    )
    error = _error(answer, 413, "payload_too_large")
    assert "limit" in error["message"]
    assert error["details"] == {"max_bytes": MAX_PAYLOAD_BYTES}
    assert _counts(harness) == before


def test_an_oversized_chunked_body_is_413(harness: Harness) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_PAYLOAD_BYTES // 4096 + 2):
            yield b"x" * 4096

    answer = harness.client.post(
        "/v1/jobs",
        content=chunks(),
        headers={**harness.headers(), "Content-Type": "application/json"},
    )
    _error(answer, 413, "payload_too_large")


def test_parameter_binds_multiply_the_experiments(harness: Harness) -> None:
    token = harness.new_user()
    info = harness.submit(
        token,
        circuits=(_parametric(),),
        options={"parameter_binds": [{"theta": 0.0}, {"theta": 3.14159}]},
        shots=32,
    )
    assert info["num_circuits"] == 2
    assert harness.wait_final(info["id"], token) == "DONE"
    result = harness.client.get(f"/v1/jobs/{info['id']}/result", headers=harness.headers(token))
    assert len(result.json()["results"]) == 2


# --- read -----------------------------------------------------------------------------------
def test_get_and_status_of_a_finished_job(harness: Harness, done: DoneJob) -> None:
    got = harness.client.get(f"/v1/jobs/{done.id}", headers=harness.headers(done.token))
    assert got.status_code == 200
    info = got.json()
    assert info["status"] == "DONE"
    assert info["queue_position"] is None
    assert info["run_mode"] == "fairshare"
    assert list(info["time_per_step"])[-2:] == ["RUNNING", "DONE"]
    status = harness.client.get(f"/v1/jobs/{done.id}/status", headers=harness.headers(done.token))
    assert status.json() == {"id": done.id, "status": "DONE", "queue_position": None, "error": None}


def test_result_of_a_finished_job(harness: Harness, done: DoneJob) -> None:
    answer = harness.client.get(f"/v1/jobs/{done.id}/result", headers=harness.headers(done.token))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    result = answer.json()
    assert result["success"] is True
    counts = result["results"][0]["data"]["counts"]
    assert sum(counts.values()) == 64
    assert result["results"][0]["header"]["name"] == "bell"


def test_circuits_come_back_as_submitted(harness: Harness, done: DoneJob) -> None:
    answer = harness.client.get(f"/v1/jobs/{done.id}/circuits", headers=harness.headers(done.token))
    assert answer.status_code == 200
    assert answer.json() == {"qpy": BELL}


def test_properties_of_a_simulator_job_are_null(harness: Harness, done: DoneJob) -> None:
    answer = harness.client.get(
        f"/v1/jobs/{done.id}/properties", headers=harness.headers(done.token)
    )
    assert answer.status_code == 200
    assert answer.json() is None


def test_queue_info_of_a_finished_job_has_no_estimate(harness: Harness, done: DoneJob) -> None:
    answer = harness.client.get(
        f"/v1/jobs/{done.id}/queue_info", headers=harness.headers(done.token)
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "job_id": done.id,
        "position": None,
        "status": "DONE",
        "estimated_start_time": None,
        "estimated_complete_time": None,
        "hub_priority": None,
        "group_priority": None,
        "project_priority": None,
    }


def test_events_of_a_finished_job_are_one_final_status(harness: Harness, done: DoneJob) -> None:
    assert harness.events(done.id, done.token) == [
        {"id": done.id, "status": "DONE", "queue_position": None, "error": None}
    ]


JOB_ROUTES = [
    ("GET", ""),
    ("PATCH", ""),
    ("GET", "/status"),
    ("GET", "/events"),
    ("GET", "/result"),
    ("GET", "/circuits"),
    ("GET", "/properties"),
    ("GET", "/queue_info"),
    ("POST", "/cancel"),
]


@pytest.mark.parametrize(("method", "suffix"), JOB_ROUTES)
def test_another_users_job_is_404(
    harness: Harness, done: DoneJob, method: str, suffix: str
) -> None:
    stranger = harness.new_user()
    answer = harness.client.request(
        method,
        f"/v1/jobs/{done.id}{suffix}",
        json={"name": "mine now"} if method == "PATCH" else None,
        headers=harness.headers(stranger),
    )
    error = _error(answer, 404, "job_not_found")
    assert done.id in error["message"]
    assert harness.store.get_job(done.id).name == "bell-job"
    assert harness.store.get_job(done.id).status is JobStatus.DONE


@pytest.mark.parametrize(("method", "suffix"), JOB_ROUTES)
def test_an_unknown_job_is_404(harness: Harness, method: str, suffix: str) -> None:
    answer = harness.client.request(
        method,
        f"/v1/jobs/ffffffffffffffffffffffff{suffix}",
        json={"name": "x"} if method == "PATCH" else None,
        headers=harness.headers(),
    )
    _error(answer, 404, "job_not_found")


def test_an_admin_sees_another_users_job(harness: Harness, done: DoneJob) -> None:
    answer = harness.client.get(f"/v1/jobs/{done.id}", headers=harness.headers())
    assert answer.status_code == 200
    assert answer.json()["id"] == done.id


# --- search ---------------------------------------------------------------------------------
def test_search_finds_own_jobs_by_filters(harness: Harness) -> None:
    token = harness.new_user()
    first = harness.submit(token, name="first run", tags=["sweep"])
    second = harness.submit(token, name="second run", tags=["sweep", "final"])
    harness.wait_final(first["id"], token)
    harness.wait_final(second["id"], token)

    def ids(**query: Any) -> list[str]:
        answer = harness.client.post("/v1/jobs/search", json=query, headers=harness.headers(token))
        assert answer.status_code == 200, answer.text
        return [job["id"] for job in answer.json()["jobs"]]

    assert ids() == [second["id"], first["id"]]
    assert ids(descending=False) == [first["id"], second["id"]]
    assert ids(tags=["final"]) == [second["id"]]
    assert ids(tags=["sweep", "final"], tags_operator="AND") == [second["id"]]
    assert ids(name="^first") == [first["id"]]
    assert ids(status=["DONE"], backend="ibmq_qasm_simulator") == [second["id"], first["id"]]
    assert ids(backend="fake_manila") == []
    assert ids(skip=1) == [first["id"]]
    assert ids(db_filter={"name": {"regexp": "^second"}}) == [second["id"]]


def test_search_pages_follow_the_cursor(harness: Harness) -> None:
    token = harness.new_user()
    submitted = [harness.submit(token)["id"] for _ in range(3)]
    for job_id in submitted:
        harness.wait_final(job_id, token)
    seen: list[str] = []
    query: dict[str, Any] = {"limit": 2}
    while True:
        answer = harness.client.post("/v1/jobs/search", json=query, headers=harness.headers(token))
        page = answer.json()
        seen.extend(job["id"] for job in page["jobs"])
        if page["next_cursor"] is None:
            break
        query = {"limit": 2, "cursor": page["next_cursor"]}
    assert seen == submitted[::-1]


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"limit": -1}, "limit"),
        ({"skip": -1}, "skip"),
        ({"tags": ["ok", ""]}, "tag"),
        ({"name": "("}, "name"),
        ({"db_filter": {"no_such_field": 1}}, "no_such_field"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_searches_are_400(harness: Harness, query: dict[str, Any], needle: str) -> None:
    answer = harness.client.post("/v1/jobs/search", json=query, headers=harness.headers())
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] in {"invalid_filter", "invalid_input"}
    assert needle in error["message"]


def test_search_body_schema_errors_are_400(harness: Harness) -> None:
    answer = harness.client.post(
        "/v1/jobs/search", json={"limit": "ten"}, headers=harness.headers()
    )
    assert "limit" in _error(answer, 400, "invalid_input")["message"]


# --- rename and retag -----------------------------------------------------------------------
def test_owner_renames_and_retags(harness: Harness) -> None:
    token = harness.new_user()
    job_id = harness.submit(token, name="old", tags=["a"])["id"]
    harness.wait_final(job_id, token)
    answer = harness.client.patch(
        f"/v1/jobs/{job_id}",
        json={"name": "new", "tags": ["b", "c"]},
        headers=harness.headers(token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "new"
    assert answer.json()["tags"] == ["b", "c"]
    only_tags = harness.client.patch(
        f"/v1/jobs/{job_id}", json={"tags": []}, headers=harness.headers(token)
    )
    assert only_tags.json()["name"] == "new"
    assert only_tags.json()["tags"] == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [({}, "name"), ({"tags": [""]}, "tag"), ({"name": 5}, "name"), ({"owner": "x"}, "owner")],
)
def test_bad_updates_are_400(
    harness: Harness, done: DoneJob, body: dict[str, Any], needle: str
) -> None:
    answer = harness.client.patch(
        f"/v1/jobs/{done.id}", json=body, headers=harness.headers(done.token)
    )
    assert needle in _error(answer, 400, "invalid_input")["message"]
    assert harness.store.get_job(done.id).name == "bell-job"


def test_only_the_owner_and_admins_may_change_a_job(harness: Harness, done: DoneJob) -> None:
    """Issue 10: administrators over a job's instance (the server admin here) may change it,
    and the change is audited; another user cannot even see it (404)."""
    other = harness.new_user()
    answer = harness.client.patch(
        f"/v1/jobs/{done.id}", json={"name": "other was here"}, headers=harness.headers(other)
    )
    _error(answer, 404, "job_not_found")
    assert harness.store.get_job(done.id).name == "bell-job"
    answer = harness.client.patch(
        f"/v1/jobs/{done.id}", json={"name": "admin was here"}, headers=harness.headers()
    )
    assert answer.status_code == 200, answer.text
    assert harness.store.get_job(done.id).name == "admin was here"
    (entry,) = harness.store.audit_entries()
    assert (entry.actor, entry.action, entry.target) == ("admin", "update_job", done.id)


# --- cancel and job sets --------------------------------------------------------------------
def test_cancel_of_a_finished_job_changes_nothing(harness: Harness, done: DoneJob) -> None:
    answer = harness.client.post(f"/v1/jobs/{done.id}/cancel", headers=harness.headers(done.token))
    assert answer.status_code == 200
    assert answer.json() == {
        "cancelled": False,
        "status": "DONE",
        "message": f"Job {done.id} is already DONE.",
    }


def test_job_set_lists_its_jobs_oldest_first(harness: Harness) -> None:
    token = harness.new_user()
    tag = "openqx_jobset_set42_"
    first = harness.submit(token, tags=[tag, f"{tag}0"])["id"]
    second = harness.submit(token, tags=[tag, f"{tag}1"])["id"]
    harness.submit(token, tags=["unrelated"])
    answer = harness.client.get("/v1/job_sets/set42", headers=harness.headers(token))
    assert answer.status_code == 200
    assert [job["id"] for job in answer.json()] == [first, second]
    stranger = harness.new_user()
    hidden = harness.client.get("/v1/job_sets/set42", headers=harness.headers(stranger))
    assert "set42" in _error(hidden, 404, "job_set_not_found")["message"]


def test_an_unknown_job_set_is_404(harness: Harness) -> None:
    answer = harness.client.get("/v1/job_sets/nothing", headers=harness.headers())
    _error(answer, 404, "job_set_not_found")


# --- through the client ---------------------------------------------------------------------
def test_api_client_runs_a_job_end_to_end(harness: Harness) -> None:
    token = harness.new_user()
    with harness.api(token) as api:
        info = api.submit_job(
            wire.JobSubmission(backend="ibmq_qasm_simulator", qpy=BELL, shots=16, name="via-client")
        )
        statuses = [event.status for event in api.stream_job_status(info.id)]
        assert statuses[-1] is JobStatus.DONE
        result = api.job_result(info.id)
        assert sum(result["results"][0]["data"]["counts"].values()) == 16
        assert api.job(info.id).name == "via-client"
        assert api.job_status(info.id).status is JobStatus.DONE
        assert api.job_circuits(info.id).qpy
        assert api.job_properties(info.id) is None
        assert api.job_queue_info(info.id).status == "DONE"
        page = api.search_jobs(wire.JobQuery(name="via-client"))
        assert [job.id for job in page.jobs] == [info.id]
        renamed = api.update_job(info.id, wire.JobUpdate(name="renamed"))
        assert renamed.name == "renamed"
        assert api.cancel_job(info.id).cancelled is False


def test_result_json_round_trips_through_the_client(harness: Harness, done: DoneJob) -> None:
    with harness.api(done.token) as api:
        raw = harness.client.get(f"/v1/jobs/{done.id}/result", headers=harness.headers(done.token))
        assert api.job_result(done.id) == json.loads(raw.text)
