"""The jobs page's event stream (``/jobs/stream``) and the job page's (``/jobs/<id>/events``):
what they send as jobs change, and that they stop at once when the session ends.

The in-process client hands a streamed answer over only once it is complete, so each test
reads the stream in a thread, drives the service from the test, and ends the stream by ending
the session. It waits on what the stream has seen (recorded by wrapping the functions it calls),
never on time.
"""

from __future__ import annotations

import json
import queue
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from openqx.core import wire
from openqx.web import job_pages
from tests.unit.server.harness import (
    ADMIN_TOKEN,
    BASE_URL,
    Harness,
    HeldExecutor,
    open_harness,
    small_catalog,
)
from tests.unit.web.test_pages import browser_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

WAIT = 60.0
"""Upper bound on waiting for the stream (a hung test fails instead of hanging)."""


@pytest.fixture
def held() -> HeldExecutor:
    return HeldExecutor(small_catalog())


@pytest.fixture
def harness(held: HeldExecutor) -> Iterator[Harness]:
    with open_harness(executor=held) as opened:
        yield opened


def _events(text: str) -> list[tuple[str, Any]]:
    """The ``(event, data)`` pairs of a server-sent event stream."""
    found: list[tuple[str, Any]] = []
    kind = ""
    for line in text.splitlines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            found.append((kind, json.loads(line.removeprefix("data: "))))
    return found


class Reader:
    """A GET of a stream in a thread; ``answer()`` once it has ended."""

    def __init__(self, client: TestClient, path: str) -> None:
        self._answer: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, args=(client, path), daemon=True)
        self._thread.start()

    def _run(self, client: TestClient, path: str) -> None:
        self._answer = client.get(path, follow_redirects=False)

    def answer(self) -> httpx.Response:
        self._thread.join(WAIT)
        assert self._answer is not None, "the stream did not end"
        return self._answer


def _recording(monkeypatch: pytest.MonkeyPatch, name: str) -> queue.Queue[Any]:
    """Wrap ``job_pages.<name>`` so that each value it returns is also put on a queue."""
    seen: queue.Queue[Any] = queue.Queue()
    original: Callable[..., Any] = getattr(job_pages, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        seen.put(value)
        return value

    monkeypatch.setattr(job_pages, name, wrapper)
    return seen


def _until(seen: queue.Queue[Any], condition: Callable[[Any], bool]) -> Any:
    while True:
        value = seen.get(timeout=WAIT)
        if condition(value):
            return value


def _statuses(state: list[list[Any]]) -> dict[str, str]:
    return {job_id: status for job_id, status, *_ in state}


def test_the_jobs_stream_follows_statuses_and_new_jobs_then_stops_at_revocation(
    harness: Harness, held: HeldExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job_pages, "RECHECK_SECONDS", 0.05)
    states = _recording(monkeypatch, "_page_state")
    token = harness.new_user()
    first = harness.submit(token)["id"]
    held.next_job()
    client = browser_for(harness, token)
    reader = Reader(client, "/jobs/stream")
    _until(states, lambda s: _statuses(s) == {first: "RUNNING"})
    held.finish(first)  # a status event of a job on the page
    _until(states, lambda s: _statuses(s) == {first: "DONE"})
    second = harness.submit(token, name="late")["id"]  # a job not on the page yet
    _until(states, lambda s: second in _statuses(s))
    answer_name = f"/v1/admin/users/{token.removeprefix('token-of-')}/token"
    assert harness.client.delete(answer_name, headers=harness.headers()).status_code == 204
    answer = reader.answer()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = _events(answer.text)
    assert events[-1] == ("signin", {})
    changes = [data for kind, data in events[:-1]]
    assert [kind for kind, _ in events[:-1]] == ["changed"] * len(changes)
    assert _statuses(changes[0]) == {first: "RUNNING"}
    assert {first: "DONE"} in [_statuses(c) for c in changes]
    assert _statuses(changes[-1])[first] == "DONE" and second in _statuses(changes[-1])
    assert changes[-1][0][:3] == [second, _statuses(changes[-1])[second], "late"]
    # Each event says something new: the stream does not repeat an unchanged page.
    assert all(a != b for a, b in zip(changes, changes[1:], strict=False))
    held.finish(held.next_job())


def test_the_job_stream_sends_nothing_after_the_token_is_rotated(
    harness: Harness, held: HeldExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = _recording(monkeypatch, "still_signed_in")
    token = harness.new_user()
    job = harness.submit(token)["id"]
    held.next_job()
    client = browser_for(harness, token)
    reader = Reader(client, f"/jobs/{job}/events")
    assert checks.get(timeout=WAIT) is True  # the first status event passed the check
    rotated = harness.client.post(
        f"/v1/admin/users/{token.removeprefix('token-of-')}/token", headers=harness.headers()
    )
    assert rotated.status_code == 200
    held.finish(job)  # the API stream's next event (DONE) must not reach the browser
    events = _events(reader.answer().text)
    assert [kind for kind, _ in events] == ["status", "signin"]
    assert events[0][1]["status"] == "RUNNING"


def test_the_stream_of_a_later_page_of_final_jobs_ends(
    harness: Harness, held: HeldExecutor
) -> None:
    token = harness.new_user()
    ids = []
    for _ in range(3):
        ids.append(harness.submit(token)["id"])
        held.finish(held.next_job())
        harness.wait_final(ids[-1], token)
    client = browser_for(harness, token)
    first = client.get("/jobs")
    assert 'data-stream="/jobs/stream?' in first.text  # new jobs can always appear there
    # A later page (the keyset cursor after the newest job) whose jobs are all final:
    # nothing can change there, so the page has no stream, and a stream opened anyway says
    # so and ends.
    cursor = harness.api(token).search_jobs(wire.JobQuery(limit=1)).next_cursor
    assert cursor is not None
    later = client.get("/jobs", params={"cursor": cursor})
    assert later.status_code == 200 and "data-stream" not in later.text
    assert 'data-refresh="/jobs/table?cursor=' in later.text
    answer = client.get("/jobs/stream", params={"cursor": cursor})
    events = _events(answer.text)
    assert [kind for kind, _ in events] == ["changed", "end"]
    assert _statuses(events[0][1]) == {ids[1]: "DONE", ids[0]: "DONE"}
    assert [row[0] for row in events[0][1]] == [ids[1], ids[0]]


def test_streams_need_a_session_and_a_valid_filter(harness: Harness) -> None:
    visitor = TestClient(harness.client.app, base_url=BASE_URL)
    answer = visitor.get("/jobs/stream", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    client = browser_for(harness, ADMIN_TOKEN)
    bad = client.get("/jobs/stream?start=yesterday")
    assert bad.status_code == 400 and "is not a date" in bad.text
    assert not bad.headers["content-type"].startswith("text/event-stream")
