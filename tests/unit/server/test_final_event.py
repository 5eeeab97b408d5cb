"""A job's status stream ends with its record and, when small, its result (``wire.JobFinal``),
and ``backend.run`` has the submission answered with that stream, so ``job.result()`` costs
the submission alone: no second stream, no refresh, no result request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from openqx.client.account import OpenQX
from openqx.client.http import _sse_events
from openqx.client.provider import AccountProvider
from openqx.server import finals, status_stream
from openqx.store.records import JobRecord
from tests.unit.server.harness import (
    BASE_URL,
    WAIT_SECONDS,
    Harness,
    HeldExecutor,
    bell,
    running_status_sent,
)


class CountingTransport(httpx.BaseTransport):
    """The harness's in-process transport, recording ``METHOD path`` of each request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        return self.inner.handle_request(request)


@pytest.fixture(autouse=True)
def no_saved_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    for variable in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(variable, raising=False)
    yield
    OpenQX._provider = None


def _provider(harness: Harness) -> tuple[AccountProvider, CountingTransport]:
    transport = CountingTransport(harness.client._transport)
    provider = OpenQX.enable_account(harness.new_user(), BASE_URL, transport=transport, retries=0)
    return provider, transport


def _final_events(harness: Harness, job_id: str) -> list[tuple[str, Any]]:
    answer = harness.client.get(f"/v1/jobs/{job_id}/events", headers=harness.headers())
    assert answer.status_code == 200, answer.text
    return list(_sse_events(iter(answer.text.splitlines())))


def test_result_needs_no_request_after_the_stream(harness: Harness) -> None:
    provider, transport = _provider(harness)
    backend = provider.get_backend("ibmq_qasm_simulator")
    backend.configuration()  # read once, then cached: run() checks options against it
    transport.seen.clear()
    job = backend.run(bell(), shots=64)
    result = job.result()
    assert transport.seen == ["POST /v1/jobs"]  # answered with the job's status stream
    assert result.get_counts() == result.get_counts(0) and sum(result.get_counts().values()) == 64
    assert job.status().name == "DONE" and job.info.time_per_step  # the full record came too
    # the same result as the result request answers
    fetched = job.result(refresh=True)
    assert transport.seen[-1] == f"GET /v1/jobs/{job.job_id()}/result"
    assert fetched.get_counts() == result.get_counts() and fetched.job_id == result.job_id


def test_a_large_result_is_fetched_after_the_stream(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finals, "INLINE_RESULT_MAX_BYTES", 16)
    provider, transport = _provider(harness)
    backend = provider.get_backend("ibmq_qasm_simulator")
    backend.configuration()  # read once, then cached: run() checks options against it
    transport.seen.clear()
    job = backend.run(bell(), shots=32)
    assert sum(job.result().get_counts().values()) == 32
    path = f"/v1/jobs/{job.job_id()}"
    assert transport.seen == ["POST /v1/jobs", f"GET {path}/result"]
    events = _final_events(harness, job.job_id())
    assert [name for name, _ in events] == ["job", "status"]
    assert events[0][1]["result"] is None and events[0][1]["job"]["status"] == "DONE"


def test_a_failed_job_ends_its_stream_with_the_record_and_no_result(
    held_harness: Harness, held: HeldExecutor
) -> None:
    job_id = held_harness.submit(held_harness.new_user(is_admin=True))["id"]
    assert held.next_job() == job_id
    held.fail(job_id, "the backend broke")
    events = _final_events(held_harness, job_id)
    assert [name for name, _ in events] == ["job", "status"]
    final = events[0][1]
    assert final["result"] is None
    assert final["job"]["status"] == "ERROR" and "the backend broke" in json.dumps(final["job"])
    assert events[1][1]["status"] == "ERROR"


def test_a_line_break_in_the_data_survives_the_stream() -> None:
    text = status_stream.sse("job", '{"job":\n{"id": "x"},\r\n"result": null}')
    assert list(_sse_events(iter(text.splitlines()))) == [
        ("job", {"job": {"id": "x"}, "result": None})
    ]


def test_a_lost_result_blob_leaves_the_result_to_the_result_request(harness: Harness) -> None:
    job_id = harness.submit(harness.new_user(is_admin=True))["id"]
    harness.wait_final(job_id)
    record = harness.store.get_job(job_id)
    assert record.result_key is not None
    harness.blobs.delete(record.result_key)  # e.g. a power loss beside SQLite (durability.md)
    events = _final_events(harness, job_id)
    assert [name for name, _ in events] == ["job", "status"]
    assert events[0][1]["result"] is None and events[0][1]["job"]["status"] == "DONE"
    answer = harness.client.get(f"/v1/jobs/{job_id}/result", headers=harness.headers())
    assert answer.status_code == 404 and record.result_key in answer.text


def test_a_damaged_result_blob_is_not_sent_with_the_final_event(harness: Harness) -> None:
    job_id = harness.submit(harness.new_user(is_admin=True))["id"]
    harness.wait_final(job_id)
    record = harness.store.get_job(job_id)
    assert record.result_key is not None
    harness.blobs.put(record.result_key, b"")  # left empty by a power loss (durability.md)
    events = _final_events(harness, job_id)  # still a stream the client can read
    assert events[0][0] == "job" and events[0][1]["result"] is None


def test_a_job_ended_here_reaches_its_stream_without_a_read(
    held_harness: Harness, held: HeldExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher hands the job as recorded and its result to the stream (``events.
    Recorded``): after the job's end the stream reads neither the job nor its result."""
    h = held_harness
    token = h.new_user()
    job_id = h.submit(token)["id"]
    assert held.next_job() == job_id
    sent_running = running_status_sent(monkeypatch)
    reads: list[str] = []
    get_job, get_many = h.store.get_job, h.blobs.get_many

    def reading_job(job_id: str) -> JobRecord:
        reads.append(f"job {job_id}")
        return get_job(job_id)

    def reading_blobs(keys: Sequence[str], *, max_bytes: int | None = None) -> dict[str, bytes]:
        reads.append(f"blobs {list(keys)}")
        return get_many(keys, max_bytes=max_bytes)

    monkeypatch.setattr(h.store, "get_job", reading_job)
    monkeypatch.setattr(h.blobs, "get_many", reading_blobs)
    streamed: list[list[tuple[str, Any]]] = []
    reader = threading.Thread(target=lambda: streamed.append(_final_events(h, job_id)))
    reader.start()
    assert sent_running.wait(WAIT_SECONDS)
    reads.clear()
    held.finish(job_id)
    reader.join(WAIT_SECONDS)
    ((running, (job_name, final), done),) = streamed
    assert running == ("status", {"id": job_id, "status": "RUNNING", "queue_position": None,
                                  "error": None})  # fmt: skip
    assert (job_name, done[1]["status"]) == ("job", "DONE")
    assert final["job"]["status"] == "DONE" and final["job"]["id"] == job_id
    assert sum(final["result"]["results"][0]["data"]["counts"].values()) > 0
    assert reads == []
    fetched = h.client.get(f"/v1/jobs/{job_id}/result", headers=h.headers(token)).json()
    assert fetched == final["result"]  # what the result request answers
