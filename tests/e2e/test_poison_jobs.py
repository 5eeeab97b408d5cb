"""Poison jobs through the real server (SQLite and PostgreSQL, one local worker process).

A job whose ``header`` nests 500 levels deep once killed the dispatcher's executor thread (a
RecursionError while pickling) and with it every user's jobs. The API now refuses such a
header; a job that is already stored with one (put there by an older server, or by hand) ends
ERROR ``start_failed`` with the reason, and jobs queued behind it run."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qiskit import qpy, transpile
from qiskit.providers import JobStatus

from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from openqx.store.records import NewJob
from tests.e2e.circuits import ghz

TIMEOUT = 120


def _nested(depth: int) -> dict[str, Any]:
    header: dict[str, Any] = {}
    level = header
    for _ in range(depth - 1):
        level["a"] = {}
        level = level["a"]
    return header


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    db_url = None
    if request.param == "postgresql":
        db_url = request.getfixturevalue("postgres_database_url")
    with EmbeddedServer(
        data_dir=tmp_path_factory.mktemp(f"openqx-poison-{request.param}"),
        db_url=db_url,
        executor="local",
        workers=1,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> AccountProvider:
    from openqx.client import OpenQX

    return OpenQX.enable_account(server.token, url=server.url)


def test_the_api_refuses_a_header_nested_500_deep(
    server: EmbeddedServer, provider: AccountProvider
) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    buffer = io.BytesIO()
    qpy.dump([transpile(ghz(2), backend)], buffer)
    body = {
        "backend": "simulator_stabilizer",
        "qpy": base64.b64encode(buffer.getvalue()).decode(),
        "shots": 10,
        "header": _nested(500),
    }
    answer = httpx.post(
        f"{server.url}/v1/jobs",
        json=body,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    assert 400 <= answer.status_code < 500, answer.text
    follower = backend.run(transpile(ghz(2), backend), shots=10)
    assert follower.result(timeout=TIMEOUT).success


def test_a_stored_job_with_a_header_nested_500_deep_fails_alone(
    server: EmbeddedServer, provider: AccountProvider
) -> None:
    service = server._service
    assert service is not None
    backend = provider.get_backend("simulator_stabilizer")
    buffer = io.BytesIO()
    qpy.dump([transpile(ghz(2), backend)], buffer)
    owner = service.store.user_for_token(server.token)
    poison = service.store.create_job(
        NewJob(
            id="0" * 23 + "1",
            kind="circuits",
            backend="simulator_stabilizer",
            owner_id=owner.id,
            instance=owner.instances[0],
            num_circuits=1,
            shots=10,
            header=_nested(500),
        )
    )
    service.blobs.put(poison.payload_key, buffer.getvalue())
    behind = backend.run(transpile(ghz(2), backend), shots=10)
    service.job_changed(poison.id)

    assert behind.result(timeout=TIMEOUT).success
    # The status stream, not the full job: the full view carries the header itself.
    for info in provider.api_client.stream_job_status(poison.id, timeout=TIMEOUT):
        if JobStatus[info.status] in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED):
            break
    assert info.status == "ERROR" and info.error is not None
    assert info.error.code == "start_failed" and "RecursionError" in info.error.message
    again = backend.run(transpile(ghz(2), backend), shots=10)
    assert again.result(timeout=TIMEOUT).success
