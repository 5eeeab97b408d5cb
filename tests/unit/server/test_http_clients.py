"""Any HTTP client: OpenQASM source over plain httpx, ``GET /v1/jobs``, answers that match
the OpenAPI schema the server publishes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest

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


def _schema(harness: Harness) -> dict[str, Any]:
    document: dict[str, Any] = harness.client.get("/openapi.json").json()
    return document


def _check(harness: Harness, method: str, path: str, answer: httpx.Response) -> Any:
    """The answer's JSON, validated against what the served OpenAPI schema declares for this
    operation and status (every status an operation answers must be declared)."""
    document = _schema(harness)
    declared = document["paths"][path][method]["responses"]
    assert str(answer.status_code) in declared, (path, method, answer.status_code)
    schema = declared[str(answer.status_code)]["content"]["application/json"]["schema"]
    body = answer.json()
    jsonschema_rs.validator_for({**schema, "components": document["components"]}).validate(body)
    return body


def _check_error(harness: Harness, method: str, path: str, answer: httpx.Response) -> str:
    assert answer.status_code >= 400, answer.text
    body = _check(harness, method, path, answer)
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
    job = _check(harness, "post", "/v1/jobs", answer)
    received: list[tuple[str, Any]] = []
    kind = ""
    with http.stream("GET", f"/v1/jobs/{job['id']}/events") as events:
        for line in events.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                received.append((kind, json.loads(line.removeprefix("data: "))))
    document = _schema(harness)
    stream = document["paths"]["/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]
    for kind, data in received:
        item = stream["x-events"][kind]
        jsonschema_rs.validator_for({**item, "components": document["components"]}).validate(data)
    # the record and result come once, just before the final status
    assert [kind for kind, _ in received][-2:] == ["job", "status"]
    assert received[-1][1]["status"] == "DONE"
    final = received[-2][1]
    assert final["job"]["status"] == "DONE" and final["result"]["results"][0]["data"]["counts"]
    _check(harness, "get", "/v1/jobs/{job_id}/status", http.get(f"/v1/jobs/{job['id']}/status"))
    _check(harness, "get", "/v1/jobs/{job_id}", http.get(f"/v1/jobs/{job['id']}"))
    result = _check(
        harness, "get", "/v1/jobs/{job_id}/result", http.get(f"/v1/jobs/{job['id']}/result")
    )
    counts = result["results"][0]["data"]["counts"]
    assert sum(counts.values()) == 100
    assert set(counts) <= {"0x0", "0x3"}

    page = _check(harness, "get", "/v1/jobs", http.get("/v1/jobs", params={"status": "DONE"}))
    assert [j["id"] for j in page["jobs"]] == [job["id"]]
    assert http.get("/v1/jobs", params={"status": "QUEUED"}).json()["jobs"] == []
    searched = http.post("/v1/jobs/search", json={"status": ["DONE"]}).json()
    assert searched["jobs"] == page["jobs"]


def test_qasm2_source_runs(harness: Harness, http: httpx.Client) -> None:
    answer = http.post(
        "/v1/jobs", json={"backend": "ibmq_qasm_simulator", "qasm2": [BELL_QASM2, BELL_QASM2]}
    )
    job = _check(harness, "post", "/v1/jobs", answer)
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
    assert answer.status_code == 400
    assert needle in _check_error(harness, "post", "/v1/jobs", answer)
    assert len(harness.blobs._data) == before


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": -1}, "limit"),
        ({"tags_operator": "XOR"}, "tags_operator"),
        ({"status": "SLEEPING"}, "status"),
    ],
)
def test_bad_list_filters_are_400_envelopes(
    harness: Harness, http: httpx.Client, params: dict[str, Any], needle: str
) -> None:
    answer = http.get("/v1/jobs", params=params)
    assert answer.status_code == 400, answer.text
    assert needle in _check_error(harness, "get", "/v1/jobs", answer)


def test_listing_needs_a_token(harness: Harness) -> None:
    answer = httpx.Client(base_url=BASE_URL, transport=harness.client._transport).get("/v1/jobs")
    assert answer.status_code == 401
    _check_error(harness, "get", "/v1/jobs", answer)
    missing = http_get(harness, "/v1/jobs/nosuchjob")
    assert missing.status_code == 404
    _check_error(harness, "get", "/v1/jobs/{job_id}", missing)


def http_get(harness: Harness, path: str) -> httpx.Response:
    token = harness.new_user()
    with httpx.Client(base_url=BASE_URL, transport=harness.client._transport) as client:
        return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_schema_declares_bearer_security_and_error_envelopes(harness: Harness) -> None:
    document = _schema(harness)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An openqx API token: ``Authorization: Bearer <token>`` (or "
        "``X-Access-Token: <token>``, as the IBM Quantum API accepted).",
    }
    paths = document["paths"]
    assert paths["/v1/version"]["get"]["security"] == []
    assert "401" not in paths["/v1/version"]["get"]["responses"]
    operations = [(p, m, op) for p, ops in paths.items() for m, op in ops.items()]
    assert len(operations) > 20
    for path, method, operation in operations:
        if path != "/v1/version":
            assert operation["security"] == [{"bearerAuth": []}], (path, method)
        for status, answer in operation["responses"].items():
            assert status != "422", (path, method)
            if status.startswith(("4", "5")):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method)
    result = paths["/v1/jobs/{job_id}/result"]["get"]["responses"]["200"]
    assert result["content"]["application/json"]["schema"]["$ref"].endswith("JobResult")


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", ["swagger-ui-bundle.js", "swagger-ui.css"]),
        ("/redoc", ["redoc.standalone.js"]),
    ],
)
def test_docs_pages_load_their_assets_from_openqx(
    harness: Harness, page: str, assets: list[str]
) -> None:
    html = harness.client.get(page)
    assert html.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert sources
    assert all(source.startswith("/") for source in sources), sources
    assert "cdn" not in html.text.lower()
    assert "fonts.googleapis" not in html.text
    for asset in assets:
        assert f"/docs-assets/{asset}" in sources
        served = harness.client.get(f"/docs-assets/{asset}")
        assert served.status_code == 200
        assert len(served.content) > 100_000
