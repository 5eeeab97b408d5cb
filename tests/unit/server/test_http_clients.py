"""Any HTTP client: OpenQASM source over plain httpx, ``GET /v1/jobs``, answers that match
the OpenAPI schema the server publishes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest

from openqx.core.wire import ErrorBody
from tests.unit.server.harness import BASE_URL, Harness

BELL_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""
BELL_QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""


@pytest.fixture()
def http(harness: Harness) -> Iterator[httpx.Client]:
    token = harness.new_user()
    with httpx.Client(
        base_url=BASE_URL,
        transport=harness.client._transport,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def _check(harness: Harness, answer: httpx.Response, component: str) -> Any:
    """The answer's JSON, validated against ``component`` of the served OpenAPI schema."""
    document = harness.client.get("/openapi.json").json()
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    body = answer.json()
    jsonschema_rs.validator_for(schema).validate(body)
    return body


def _check_error(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    jsonschema_rs.validator_for(ErrorBody.model_json_schema()).validate(body)
    message: str = body["error"]["message"]
    return message


def test_submit_watch_and_read_a_qasm3_job_with_plain_httpx(
    harness: Harness, http: httpx.Client
) -> None:
    answer = http.post(
        "/v1/jobs",
        json={"backend": "ibmq_qasm_simulator", "qasm3": [BELL_QASM3], "shots": 100},
    )
    assert answer.status_code == 201, answer.text
    job = _check(harness, answer, "JobInfo")
    statuses = []
    with http.stream("GET", f"/v1/jobs/{job['id']}/events") as events:
        for line in events.iter_lines():
            if line.startswith("data: "):
                statuses.append(json.loads(line.removeprefix("data: ")))
    for status in statuses:
        jsonschema_rs.validator_for(
            {
                "$ref": "#/components/schemas/JobStatusInfo",
                "components": harness.client.get("/openapi.json").json()["components"],
            }
        ).validate(status)
    assert statuses[-1]["status"] == "DONE"
    _check(harness, http.get(f"/v1/jobs/{job['id']}/status"), "JobStatusInfo")
    result = http.get(f"/v1/jobs/{job['id']}/result").json()
    counts = result["results"][0]["data"]["counts"]
    assert sum(counts.values()) == 100
    assert set(counts) <= {"0x0", "0x3"}

    page = _check(harness, http.get("/v1/jobs", params={"status": "DONE"}), "JobPage")
    assert [j["id"] for j in page["jobs"]] == [job["id"]]
    assert http.get("/v1/jobs", params={"status": "QUEUED"}).json()["jobs"] == []
    searched = http.post("/v1/jobs/search", json={"status": ["DONE"]}).json()
    assert searched["jobs"] == page["jobs"]


def test_qasm2_source_runs(harness: Harness, http: httpx.Client) -> None:
    answer = http.post(
        "/v1/jobs", json={"backend": "ibmq_qasm_simulator", "qasm2": [BELL_QASM2, BELL_QASM2]}
    )
    job = _check(harness, answer, "JobInfo")
    assert job["num_circuits"] == 2
    assert harness.wait_final(job["id"], http.headers["Authorization"].split()[1]) == "DONE"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"qasm3": [BELL_QASM3.replace("h q[0];", "h q[0]")]}, "circuit 0, line 6, column 0"),
        ({"qasm3": [BELL_QASM3, BELL_QASM3.replace("h q", "foo q")]}, "circuit 1, line 5"),
        ({"qasm2": [BELL_QASM2.replace("h q[0];", "h q[0]")]}, "line 6, column 0"),
        ({"qasm3": [""]}, "circuit 0 is empty"),
        ({"qasm3": [BELL_QASM3], "qasm2": [BELL_QASM2]}, "exactly one of"),
        ({}, "exactly one of"),
    ],
)
def test_malformed_source_is_a_400_naming_line_and_column(
    harness: Harness, http: httpx.Client, body: dict[str, Any], needle: str
) -> None:
    before = len(harness.blobs._data)
    answer = http.post("/v1/jobs", json={"backend": "ibmq_qasm_simulator", **body})
    assert needle in _check_error(answer, 400)
    assert len(harness.blobs._data) == before


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": -1}, "limit"),
        ({"tags_operator": "XOR"}, "tags_operator"),
        ({"status": "SLEEPING"}, "status"),
    ],
)
def test_bad_list_filters_are_client_errors(
    http: httpx.Client, params: dict[str, Any], needle: str
) -> None:
    answer = http.get("/v1/jobs", params=params)
    assert answer.status_code in (400, 422), answer.text
    assert needle in answer.text


def test_listing_needs_a_token(harness: Harness) -> None:
    answer = httpx.Client(base_url=BASE_URL, transport=harness.client._transport).get("/v1/jobs")
    _check_error(answer, 401)
