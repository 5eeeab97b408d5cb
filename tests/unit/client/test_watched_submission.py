"""``ApiClient.submit_watched``: a submission answered with the job's status stream, at most
``MAX_WATCHED_SUBMISSIONS`` open at once (past them, a plain submission), falling back to a
plain submission when nothing reached the server, and reading a server that answers with the
job alone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from openqx.client import exceptions as exc
from openqx.client.http import MAX_WATCHED_SUBMISSIONS, STREAM_SUBMISSIONS_VARIABLE, ApiClient
from openqx.core import wire

URL = "http://openqx.test"
JOB: dict[str, Any] = {
    "id": "0123456789abcdef01234567",
    "backend": "ibmq_qasm_simulator",
    "status": "QUEUED",
    "owner": "alice",
    "instance": "h/g/p",
    "created_at": "2026-12-02T00:00:00Z",
}
SUBMISSION = wire.JobSubmission(backend="ibmq_qasm_simulator", qpy="")


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _stream(*statuses: str, final: bool = False) -> str:
    text = _event(wire.SUBMITTED_EVENT, JOB)
    for status in statuses:
        text += _event("status", {"id": JOB["id"], "status": status})
    if final:
        done = {**JOB, "status": "DONE"}
        text += _event(wire.JOB_EVENT, {"job": done, "result": {"results": []}})
        text += _event("status", {"id": JOB["id"], "status": "DONE"})
    return text


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> ApiClient:
    return ApiClient(URL, "token", transport=httpx.MockTransport(handler), backoff_factor=0)


def _streaming(body: str) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/event-stream"
        return httpx.Response(201, text=body, headers={"content-type": "text/event-stream"})

    return handle


def test_the_job_then_its_statuses_then_its_final_record() -> None:
    with _client(_streaming(_stream("RUNNING", final=True))) as api:
        info, opened = api.submit_watched(SUBMISSION)
        assert info.id == JOB["id"] and info.status.value == "QUEUED"
        assert opened is not None
        items = list(opened)
    assert [type(item).__name__ for item in items] == ["JobStatusInfo", "JobFinal", "JobStatusInfo"]
    running = items[0]
    assert isinstance(running, wire.JobStatusInfo) and running.status.value == "RUNNING"
    final = items[-1]
    assert isinstance(final, wire.JobStatusInfo) and final.status.value == "DONE"


def test_at_most_so_many_streams_are_open_at_once() -> None:
    plain: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.headers.get("accept") != "text/event-stream":
            plain.append(request.url.path)
            return httpx.Response(201, json=JOB)
        return _streaming(_stream("RUNNING"))(request)

    with _client(handle) as api:
        open_streams: list[Iterator[Any]] = []
        for _ in range(MAX_WATCHED_SUBMISSIONS):
            _, opened = api.submit_watched(SUBMISSION)
            assert opened is not None
            open_streams.append(opened)
        info, opened = api.submit_watched(SUBMISSION)
        assert opened is None and info.id == JOB["id"] and plain == ["/v1/jobs"]
        list(open_streams.pop())  # one stream ends: its place is free again
        _, opened = api.submit_watched(SUBMISSION)
        assert opened is not None and plain == ["/v1/jobs"]


def test_nothing_sent_falls_back_to_a_plain_submission() -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("accept", ""))
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(201, json=JOB)

    with _client(handle) as api:
        info, opened = api.submit_watched(SUBMISSION)
    assert info.id == JOB["id"] and opened is None
    assert calls[0] == "text/event-stream" and calls[1] != "text/event-stream"


def test_a_server_answering_with_the_job_alone_is_understood() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=JOB)

    with _client(handle) as api:
        info, opened = api.submit_watched(SUBMISSION)
        assert info.id == JOB["id"]
        assert opened is not None and list(opened) == []  # the feed then opens the stream


def test_a_refused_submission_raises_its_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        error = {"error": {"code": "invalid_input", "message": "shots must be positive"}}
        return httpx.Response(400, json=error)

    with _client(handle) as api, pytest.raises(exc.OpenQXBackendError, match="shots"):
        api.submit_watched(SUBMISSION)


def test_the_environment_can_turn_streamed_submissions_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """For a proxy that buffers answers: every job is submitted plainly."""
    accepted: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        accepted.append(request.headers.get("accept"))
        return httpx.Response(201, json=JOB)

    monkeypatch.setenv(STREAM_SUBMISSIONS_VARIABLE, "0")
    with _client(handle) as api:
        info, opened = api.submit_watched(SUBMISSION)
    assert info.id == JOB["id"] and opened is None
    assert len(accepted) == 1 and accepted[0] != "text/event-stream"  # one plain submission
