"""``POST /jobs`` asked for ``text/event-stream``: the answer is the job's status stream, its
first event (``submitted``) the job as queued, so a client that waits for the job needs no
second request; a refused submission is the usual JSON error, and leaves no watch behind."""

from __future__ import annotations

from typing import Any

from openqx.client.http import _sse_events
from tests.unit.server.harness import Harness, bell, qpy_b64

STREAM = {"Accept": "text/event-stream"}


def _submit(h: Harness, token: str, **fields: Any) -> Any:
    body = {"backend": "ibmq_qasm_simulator", "qpy": qpy_b64(bell()), "shots": 32, **fields}
    return h.client.post("/v1/jobs", json=body, headers={**h.headers(token), **STREAM})


def _payloads(h: Harness) -> set[str]:
    return {key for key in h.blobs._data if key.endswith("payload.qpy")}


def test_the_answer_is_the_jobs_status_stream_starting_with_the_job(harness: Harness) -> None:
    token = harness.new_user()
    answer = _submit(harness, token)
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = list(_sse_events(iter(answer.text.splitlines())))
    names = [name for name, _ in events]
    assert names[0] == "submitted" and names[-2:] == ["job", "status"]
    submitted, final = events[0][1], events[-2][1]
    assert submitted["status"] == "QUEUED" and submitted["shots"] == 32
    assert final["job"]["id"] == submitted["id"] and final["job"]["status"] == "DONE"
    assert sum(final["result"]["results"][0]["data"]["counts"].values()) == 32
    assert events[-1][1]["status"] == "DONE"
    # the job as GET /jobs/{id} shows it, then (it has run since)
    shown = harness.client.get(f"/v1/jobs/{submitted['id']}", headers=harness.headers(token))
    assert {k: shown.json()[k] for k in ("id", "backend", "owner", "instance", "created_at")} == {
        k: submitted[k] for k in ("id", "backend", "owner", "instance", "created_at")
    }


def test_without_the_accept_header_the_answer_is_the_job(harness: Harness) -> None:
    token = harness.new_user()
    body = {"backend": "ibmq_qasm_simulator", "qpy": qpy_b64(bell())}
    answer = harness.client.post("/v1/jobs", json=body, headers=harness.headers(token))
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["status"] == "QUEUED"


def test_a_refused_submission_is_a_json_error_and_leaves_nothing(harness: Harness) -> None:
    token = harness.new_user()
    payloads_before = _payloads(harness)
    answer = _submit(harness, token, shots=0)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "shots" in answer.json()["error"]["message"]
    assert _payloads(harness) == payloads_before
    assert harness.service.events._waiters == {}  # the watch of the refused job ended


def test_a_finished_stream_leaves_no_watch(harness: Harness) -> None:
    token = harness.new_user()
    assert _submit(harness, token).status_code == 201
    answer = harness.client.get(
        "/v1/jobs/0123456789abcdef01234567/events", headers=harness.headers(token)
    )
    assert answer.status_code == 404
    assert harness.service.events._waiters == {}
