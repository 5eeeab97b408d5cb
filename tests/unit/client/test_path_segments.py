"""Ids and names in URL paths: each one segment, percent-encoded by ``session.path_segment``;
an empty one is refused with the context's not-found error before any request; an answer
off the contract is one line naming what differs, never a pydantic dump."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from openqx.client import ApiClient
from openqx.client import exceptions as exc
from openqx.connection.session import path_segment
from openqx.core import wire


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("job-1", "job-1"),
        ("../backends", "..%2Fbackends"),
        ("a/b", "a%2Fb"),
        ("x?y=1", "x%3Fy%3D1"),
        ("#", "%23"),
        ("%2e", "%252e"),
        (".", "%2E"),
        ("..", "%2E%2E"),
        ("...", "..."),
        ("a b", "a%20b"),
        ("é", "%C3%A9"),
    ],
)
def test_path_segment(value: str, segment: str) -> None:
    assert path_segment(value) == segment


class Recorder:
    """A transport that records each request's raw path and answers 404."""

    def __init__(self) -> None:
        self.paths: list[bytes] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.raw_path)
        body = {"error": {"code": "job_not_found", "message": "Job x not found.", "details": {}}}
        return httpx.Response(404, json=body)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def api(recorder: Recorder) -> Iterator[ApiClient]:
    with ApiClient(
        "http://openqx.test", "token", transport=httpx.MockTransport(recorder.handler), retries=0
    ) as client:
        yield client


_ID = "../a?b#c"
_QUOTED = "..%2Fa%3Fb%23c"
_CALLS: list[tuple[Callable[[ApiClient, str], Any], str]] = [
    (lambda api, v: api.job(v), "/v1/jobs/{}"),
    (lambda api, v: api.update_job(v, wire.JobUpdate(name="n")), "/v1/jobs/{}"),
    (lambda api, v: api.job_status(v), "/v1/jobs/{}/status"),
    (lambda api, v: api.job_result(v), "/v1/jobs/{}/result"),
    (lambda api, v: api.job_circuits(v), "/v1/jobs/{}/circuits"),
    (lambda api, v: api.job_properties(v), "/v1/jobs/{}/properties"),
    (lambda api, v: api.job_queue_info(v), "/v1/jobs/{}/queue_info"),
    (lambda api, v: api.cancel_job(v), "/v1/jobs/{}/cancel"),
    (lambda api, v: list(api.stream_job_status(v)), "/v1/jobs/{}/events"),
    (lambda api, v: api.job_set(v), "/v1/job_sets/{}"),
    (lambda api, v: api.backend(v), "/v1/backends/{}"),
    (lambda api, v: api.backend_configuration(v), "/v1/backends/{}/configuration"),
    (lambda api, v: api.backend_properties(v), "/v1/backends/{}/properties"),
    (lambda api, v: api.backend_defaults(v), "/v1/backends/{}/defaults"),
    (lambda api, v: api.backend_snapshots(v), "/v1/backends/{}/snapshots"),
    (lambda api, v: api.backend_status(v), "/v1/backends/{}/status"),
    (lambda api, v: api.backend_job_limit(v), "/v1/backends/{}/job_limit"),
    (lambda api, v: api.reset_job_limit(v), "/v1/admin/backends/{}/job_limit"),
]


@pytest.mark.parametrize(("call", "path"), _CALLS)
def test_every_id_or_name_is_one_segment(
    api: ApiClient, recorder: Recorder, call: Callable[[ApiClient, str], Any], path: str
) -> None:
    with pytest.raises(exc.OpenQXError):
        call(api, _ID)
    assert recorder.paths == [path.format(_QUOTED).encode()]


@pytest.mark.parametrize(("call", "path"), _CALLS)
def test_an_empty_id_or_name_sends_nothing(
    api: ApiClient, recorder: Recorder, call: Callable[[ApiClient, str], Any], path: str
) -> None:
    with pytest.raises(exc.OpenQXError, match="not found: the .* is empty") as info:
        call(api, "")
    assert (info.value.code or "").endswith("not_found")
    assert recorder.paths == []


@pytest.mark.parametrize(
    ("context", "cls"),
    [
        ("job", exc.OpenQXJobApiError),
        ("backend", exc.OpenQXBackendApiError),
        ("runtime", exc.RuntimeJobNotFound),
    ],
)
def test_an_empty_job_id_is_the_not_found_error_of_its_context(
    api: ApiClient, context: Any, cls: type[exc.OpenQXError]
) -> None:
    with pytest.raises(cls, match="Job '' not found") as info:
        api.job("", context=context)
    assert info.value.code == "job_not_found" and info.value.job_id == ""


def test_an_empty_job_set_id_is_an_unknown_job_set(api: ApiClient) -> None:
    with pytest.raises(exc.OpenQXJobManagerUnknownJobSet, match="job set id is empty"):
        api.job_set("")


def test_text_that_cannot_be_a_url_sends_nothing(api: ApiClient, recorder: Recorder) -> None:
    with pytest.raises(exc.OpenQXJobApiError, match="not valid text"):
        api.job("\ud800")
    assert recorder.paths == []


def test_a_path_no_route_matches_is_the_job_not_found(recorder: Recorder) -> None:
    def no_route(request: httpx.Request) -> httpx.Response:
        recorder.paths.append(request.url.raw_path)
        body = {"error": {"code": "not_found", "message": "Not Found", "details": {}}}
        return httpx.Response(404, json=body)

    with ApiClient(
        "http://openqx.test", "token", transport=httpx.MockTransport(no_route), retries=0
    ) as api:
        with pytest.raises(exc.OpenQXJobApiError, match="Job 'a/b' not found") as info:
            api.job_status("a/b")
    assert info.value.code == "job_not_found"


def test_an_answer_off_the_contract_is_one_line_without_the_answer() -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"jobs": ["x" * 1000], "next_cursor": None})

    with ApiClient(
        "http://openqx.test", "token", transport=httpx.MockTransport(odd), retries=0
    ) as api:
        with pytest.raises(exc.OpenQXJobApiError) as info:
            api.job("job-1")
    text = str(info.value)
    assert text.startswith("Unexpected answer from the server (not a valid JobInfo): id: Field")
    assert "and 5 more." in text and "\n" not in text
    assert "xxx" not in text and "pydantic" not in text
