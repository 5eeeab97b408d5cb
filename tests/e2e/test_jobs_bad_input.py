"""Issue 3, bad input to job search and job updates: a value error on the client AND a 400
with a message from the server (raw ``POST /v1/jobs/search`` and ``PATCH /v1/jobs/{id}``);
and the seed's ``IBMQ*`` names through ``openqx.compat.ibmq``. SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import datetime
from typing import Any

import httpx
import pytest
from qiskit import transpile

from openqx.client.exceptions import OpenQXBackendValueError, OpenQXJobInvalidStateError
from openqx.client.job import OpenQXJob
from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import ghz

TIMEOUT = 120


@pytest.fixture()
def api(server: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.url}/v1", headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    ) as client:
        yield client


@pytest.fixture(scope="module")
def done_job(provider: AccountProvider):  # type: ignore[no-untyped-def]
    backend = provider.get_backend("simulator_stabilizer")
    job = backend.run(transpile(ghz(2), backend), shots=5, job_name="keep", job_tags=["keep"])
    job.wait_for_final_state(timeout=TIMEOUT)
    return job


def _assert_400(answer: httpx.Response, *needles: str) -> None:
    assert answer.status_code in (400, 422), answer.text
    error = answer.json()["error"]
    assert error["message"], error
    for needle in needles:
        assert needle in error["message"], error


# (jobs() keyword arguments, server JobQuery body, text both messages contain)
SEARCH_CASES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"status": "finished"}, {"status": ["finished"]}, "status.0: Input should be"),
    ({"status": "finished"}, {"status": ["finished"]}, "'finished'"),
    (
        {"job_tags_operator": "XOR", "job_tags": ["a"]},
        {"tags_operator": "XOR", "tags": ["a"]},
        "'XOR'",
    ),
    ({"job_name": "(unclosed"}, {"name": "(unclosed"}, "(unclosed"),
    ({"start_datetime": "yesterday"}, {"start_datetime": "yesterday"}, "start_datetime"),
    ({"end_datetime": 12.5}, {"end_datetime": "not-a-date"}, "end_datetime"),
    ({"end_datetime": 12.5}, {"end_datetime": "not-a-date"}, "'not-a-date'"),
    ({"job_tags": "a"}, {"tags": "a"}, "tags"),
    ({"job_tags": [1, 2, 3]}, {"tags": [1, 2, 3]}, "tags"),
    ({"job_tags": ["t"] * 101}, {"tags": ["t"] * 101}, "100"),
    ({"limit": -1}, {"limit": -1}, "limit"),
    ({"skip": -3}, {"skip": -3}, "skip"),
    ({"db_filter": {"secret": 1}}, {"db_filter": {"secret": 1}}, "secret"),
    ({"db_filter": "name = 'x'"}, {"db_filter": "name = 'x'"}, "db_filter"),
]


@pytest.mark.parametrize(("kwargs", "body", "needle"), SEARCH_CASES)
def test_bad_search_filters(
    provider: AccountProvider,
    api: httpx.Client,
    kwargs: dict[str, Any],
    body: dict[str, Any],
    needle: str,
) -> None:
    with pytest.raises(OpenQXBackendValueError) as info:
        provider.backend.jobs(**kwargs)
    assert str(info.value)
    _assert_400(api.post("/jobs/search", json=body))
    assert needle in api.post("/jobs/search", json=body).text


def test_start_after_end_is_refused(provider: AccountProvider) -> None:
    with pytest.raises(OpenQXBackendValueError, match="later"):
        provider.backend.jobs(
            start_datetime=datetime(2030, 1, 2), end_datetime=datetime(2030, 1, 1)
        )


# (body, text the message contains)
PATCH_CASES: list[tuple[dict[str, Any], str]] = [
    ({"name": 5}, "name"),
    ({"name": ["x"]}, "name"),
    ({"name": "n" * 257}, "256"),
    ({"tags": "tag"}, "tags"),
    ({"tags": [1, "a"]}, "tags"),
    ({"tags": {"a": 1}}, "tags"),
    ({"tags": ["t"] * 101}, "100"),
    ({"tags": [""]}, "empty"),
    ({"tags": ["x" * 300]}, "256"),
    ({}, "name"),
    ({"name": "ok", "owner": "me"}, "owner"),
]


@pytest.mark.parametrize(("body", "needle"), PATCH_CASES)
def test_bad_job_updates(
    provider: AccountProvider,
    api: httpx.Client,
    done_job: OpenQXJob,
    body: dict[str, Any],
    needle: str,
) -> None:
    answer = api.patch(f"/jobs/{done_job.job_id()}", json=body)
    _assert_400(answer)
    assert needle in answer.text
    if "name" in body and body != {"name": "ok", "owner": "me"}:
        with pytest.raises(OpenQXJobInvalidStateError):
            done_job.update_name(body["name"])
    if "tags" in body:
        with pytest.raises(OpenQXJobInvalidStateError):
            done_job.update_tags(replacement_tags=body["tags"])
    stored = provider.backend.retrieve_job(done_job.job_id())
    assert stored.name() == "keep" and stored.tags() == ["keep"]


def test_update_of_unknown_job_is_404(api: httpx.Client) -> None:
    answer = api.patch("/jobs/no-such-job", json={"name": "x"})
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["message"]


def test_old_style_script_runs_after_changing_one_import(
    server: EmbeddedServer, request: pytest.FixtureRequest
) -> None:
    # The body below is a qiskit-ibmq-provider 0.20 script; only the import line changed
    # (``from qiskit import IBMQ`` ... ``from qiskit.providers.ibmq import ...``).
    from openqx.compat.ibmq import (
        IBMQ,
        IBMQBackend,
        IBMQBackendValueError,
        IBMQJob,
        IBMQJobInvalidStateError,
        job_monitor,
        least_busy,
    )

    provider = IBMQ.enable_account(server.token, url=server.url)
    # As in the seed, one account per session: the next parametrization enables its own.
    request.addfinalizer(IBMQ.disable_account)
    backend = provider.get_backend("ibmq_qasm_simulator")
    assert isinstance(backend, IBMQBackend)
    job = backend.run(transpile(ghz(3), backend), shots=256, job_name="old", job_tags=["old"])
    assert isinstance(job, IBMQJob)
    out = io.StringIO()
    with redirect_stdout(out):
        job_monitor(job, interval=0.2)
    assert "job has successfully run" in out.getvalue()
    counts = job.result().get_counts()
    assert set(counts) <= {"000", "111"} and sum(counts.values()) == 256
    found = backend.jobs(limit=5, job_tags=["old"], status="DONE")
    assert [j.job_id() for j in found] == [job.job_id()]
    assert provider.backend.retrieve_job(job.job_id()).name() == "old"
    with pytest.raises(IBMQBackendValueError):
        backend.jobs(job_tags_operator="XOR", job_tags=["old"])
    with pytest.raises(IBMQJobInvalidStateError):
        job.update_tags()
    assert least_busy(provider.backends(simulator=True)).name in {
        b.name for b in provider.backends(simulator=True)
    }
