"""``POST /runtime/jobs``: circuit-runner jobs take the same submission path as circuit jobs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openqx.core import wire
from openqx.core.status import JobStatus
from tests.unit.server.harness import Harness, bell, qpy_b64

BELL = qpy_b64(bell())


def _runtime(**fields: Any) -> dict[str, Any]:
    return {
        "program_id": "circuit-runner",
        "backend": "ibmq_qasm_simulator",
        "params": {"circuits": BELL, "shots": 50},
        **fields,
    }


def _stored(harness: Harness) -> tuple[int, int]:
    records, _ = harness.store.search_jobs(wire.JobQuery(limit=None))
    return len(records), len(harness.blobs._data)


def test_a_circuit_runner_job_runs_and_keeps_its_inputs(harness: Harness) -> None:
    token = harness.new_user()
    answer = harness.client.post(
        "/v1/runtime/jobs",
        json=_runtime(name="runner", tags=["rt"], params={"circuits": BELL, "shots": 50}),
        headers=harness.headers(token),
    )
    assert answer.status_code == 201, answer.text
    info = answer.json()
    assert info["kind"] == "runtime"
    assert info["program_id"] == "circuit-runner"
    assert info["name"] == "runner"
    assert info["tags"] == ["rt"]
    assert info["shots"] == 50
    assert info["num_circuits"] == 1
    assert info["options"] == {"shots": 50}
    assert harness.wait_final(info["id"], token) == "DONE"

    circuits = harness.client.get(f"/v1/jobs/{info['id']}/circuits", headers=harness.headers(token))
    assert circuits.json() == {"qpy": BELL}
    payload = json.loads(harness.blobs.get(harness.store.get_job(info["id"]).payload_key))
    assert payload == {"circuits": BELL, "shots": 50}
    result = harness.client.get(f"/v1/jobs/{info['id']}/result", headers=harness.headers(token))
    assert result.status_code == 200
    assert sum(result.json()["results"][0]["data"]["counts"].values()) == 50

    found = harness.client.post(
        "/v1/jobs/search",
        json={"program_id": "circuit-runner", "kind": "runtime"},
        headers=harness.headers(token),
    )
    assert [job["id"] for job in found.json()["jobs"]] == [info["id"]]


def test_api_client_submits_a_runtime_job(harness: Harness) -> None:
    token = harness.new_user()
    with harness.api(token) as api:
        info = api.submit_runtime_job(wire.RuntimeJobSubmission.model_validate(_runtime()))
        assert info.kind == "runtime"
        assert [e.status for e in api.stream_job_status(info.id)][-1] is JobStatus.DONE


@pytest.mark.parametrize(
    ("body", "status", "code", "needle"),
    [
        (_runtime(program_id="qaoa"), 400, "invalid_input", "Unknown program 'qaoa'"),
        (_runtime(backend="nope"), 404, "backend_not_found", "nope"),
        (_runtime(params={}), 400, "invalid_input", "'circuits' is required"),
        (_runtime(params={"circuits": BELL, "colour": 1}), 400, "invalid_input", "colour"),
        (_runtime(params={"circuits": "%%%"}), 400, "invalid_input", "circuits"),
        (
            _runtime(params={"circuits": BELL, "optimization_level": 7}),
            400,
            "invalid_input",
            "optimization_level",
        ),
        (_runtime(params={"circuits": BELL, "shots": -1}), 400, "invalid_input", "shots"),
        (_runtime(tags=[""]), 400, "invalid_input", "tag"),
        (_runtime(name=3), 400, "invalid_input", "name"),
        ({"backend": "ibmq_qasm_simulator", "params": {}}, 400, "invalid_input", "program_id"),
    ],
)
def test_bad_runtime_submissions_say_why_and_store_nothing(
    harness: Harness, body: dict[str, Any], status: int, code: str, needle: str
) -> None:
    before = _stored(harness)
    answer = harness.client.post("/v1/runtime/jobs", json=body, headers=harness.headers())
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert needle in error["message"]
    assert _stored(harness) == before
