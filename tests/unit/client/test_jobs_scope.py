"""The listing scope of ``backend.jobs()``, ``job_ids()`` and ``provider.backend.jobs()``."""

from __future__ import annotations

import pytest

from openqx.client import exceptions as exc
from openqx.client.provider import AccountProvider
from openqx.core.status import JobStatus
from tests.unit.client.conftest import FakeServer


@pytest.fixture
def mixed(server: FakeServer) -> dict[str, str]:
    """One job of the caller (alice) and one of bob on each of two backends."""
    return {
        "mine": server.add_job(JobStatus.DONE),
        "bobs": server.add_job(JobStatus.DONE, owner="bob"),
        "mine_sim": server.add_job(JobStatus.DONE, backend="simulator_statevector"),
        "bobs_sim": server.add_job(JobStatus.QUEUED, owner="bob", backend="simulator_statevector"),
    }


def test_own_jobs_stay_the_default(
    provider: AccountProvider, server: FakeServer, mixed: dict[str, str]
) -> None:
    assert [j.job_id() for j in provider.backend.jobs()] == [mixed["mine_sim"], mixed["mine"]]
    assert provider.backend.job_ids() == [mixed["mine_sim"], mixed["mine"]]
    assert [j.job_id() for j in provider.get_backend("ibmq_manila").jobs()] == [mixed["mine"]]
    # The seed's request: no scope parameter at all.
    assert server.scopes == [None, None, None]


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("own", ["mine_sim", "mine"]),
        ("shared", ["bobs_sim", "bobs"]),
        ("all", ["bobs_sim", "mine_sim", "bobs", "mine"]),
    ],
)
def test_scope_reaches_the_server(
    provider: AccountProvider,
    server: FakeServer,
    mixed: dict[str, str],
    scope: str,
    expected: list[str],
) -> None:
    wanted = [mixed[key] for key in expected]
    assert [j.job_id() for j in provider.backend.jobs(scope=scope)] == wanted
    assert provider.backend.job_ids(scope=scope) == wanted
    on_manila = [j.job_id() for j in provider.get_backend("ibmq_manila").jobs(scope=scope)]
    assert on_manila == [job for job in wanted if job in (mixed["mine"], mixed["bobs"])]
    sent = None if scope == "own" else scope
    assert server.scopes == [sent, sent, sent]


def test_scope_is_kept_on_every_page(provider: AccountProvider, server: FakeServer) -> None:
    server.page_size = 2
    shared = [server.add_job(JobStatus.DONE, owner="bob") for _ in range(5)]
    server.add_job(JobStatus.DONE)
    jobs = provider.backend.jobs(limit=None, scope="shared")
    assert [j.job_id() for j in jobs] == list(reversed(shared))
    assert server.scopes == ["shared", "shared", "shared"]
    assert [q["cursor"] for q in server.queries] == [None, "2", "4"]


def test_shared_job_keeps_its_owner(
    provider: AccountProvider, server: FakeServer, mixed: dict[str, str]
) -> None:
    (job,) = provider.get_backend("ibmq_manila").jobs(scope="shared")
    assert job.job_id() == mixed["bobs"] and job.info.owner == "bob"


@pytest.mark.parametrize("scope", ["mine", "OWN", "", None, 3])
def test_unknown_scope_is_refused_before_any_request(
    provider: AccountProvider, server: FakeServer, scope: object
) -> None:
    with pytest.raises(exc.OpenQXBackendValueError, match="not a valid scope value"):
        provider.backend.jobs(scope=scope)  # type: ignore[arg-type]
    with pytest.raises(exc.OpenQXBackendValueError, match='"own", "shared", "all"'):
        provider.backend.job_ids(scope=scope)  # type: ignore[arg-type]
    with pytest.raises(exc.OpenQXBackendValueError, match="scope"):
        provider.get_backend("ibmq_manila").jobs(scope=scope)  # type: ignore[arg-type]
    assert server.queries == []
