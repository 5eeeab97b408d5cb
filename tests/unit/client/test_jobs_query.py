from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from qiskit.providers import JobStatus as QJobStatus

from openqx.client import exceptions as exc
from openqx.client.provider import AccountProvider
from openqx.core.status import JobStatus
from tests.unit.client.conftest import FakeServer


def test_filters_become_a_job_query(provider: AccountProvider, server: FakeServer) -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    provider.backend.jobs(
        limit=5,
        skip=2,
        backend_name="ibmq_manila",
        status=["running", QJobStatus.QUEUED, JobStatus.DONE],
        job_name="^exp-[0-9]+",
        start_datetime=naive,
        end_datetime=datetime(2024, 6, 1, tzinfo=UTC),
        job_tags=["a", "b"],
        job_tags_operator="and",
        experiment_id="E1",
        descending=False,
        db_filter={"shots": {"gt": 10}},
    )
    query = server.queries[-1]
    assert query["limit"] == 5 and query["skip"] == 2 and query["cursor"] is None
    assert query["backend"] == "ibmq_manila"
    assert query["status"] == ["RUNNING", "QUEUED", "DONE"]
    assert query["name"] == "^exp-[0-9]+"
    assert datetime.fromisoformat(query["start_datetime"]) == naive.astimezone()
    assert datetime.fromisoformat(query["start_datetime"]).utcoffset() == timedelta(0)
    assert query["tags"] == ["a", "b"] and query["tags_operator"] == "AND"
    assert query["experiment_id"] == "E1" and query["descending"] is False
    assert query["db_filter"] == {"shots": {"gt": 10}}


def test_backend_jobs_passes_backend_name(provider: AccountProvider, server: FakeServer) -> None:
    provider.get_backend("ibmq_manila").jobs(status="ERROR")
    assert server.queries[-1]["backend"] == "ibmq_manila"
    assert server.queries[-1]["status"] == ["ERROR"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"status": "bogus"}, "Valid values are INITIALIZING"),
        ({"status": ["DONE", "nope"]}, "nope"),
        ({"job_tags_operator": "XOR"}, '"XOR" is not a valid job_tags_operator value'),
        ({"job_tags": [1, 2, 3]}, "job_tags"),
        ({"job_name": "("}, "regular expression"),
        ({"start_datetime": "2024-01-01"}, "datetime"),
        ({"limit": -1}, "limit"),
    ],
)
def test_bad_filters(
    provider: AccountProvider, server: FakeServer, kwargs: Any, match: str
) -> None:
    with pytest.raises(exc.OpenQXBackendValueError, match=match):
        provider.backend.jobs(**kwargs)
    assert server.queries == []


def test_paging_follows_cursor(provider: AccountProvider, server: FakeServer) -> None:
    server.page_size = 10
    ids = [server.add_job(JobStatus.DONE) for _ in range(25)]
    jobs = provider.backend.jobs(limit=None)
    assert [j.job_id() for j in jobs] == list(reversed(ids))
    assert [q["cursor"] for q in server.queries] == [None, "10", "20"]
    server.queries.clear()
    jobs = provider.backend.jobs(limit=15, skip=1)
    assert len(jobs) == 15 and jobs[0].job_id() == ids[-2]
    assert [(q["cursor"], q["skip"], q["limit"]) for q in server.queries] == [
        (None, 1, 15),
        ("11", 0, 5),
    ]


def test_job_ids_and_active_jobs(provider: AccountProvider, server: FakeServer) -> None:
    done = server.add_job(JobStatus.DONE)
    queued = server.add_job(JobStatus.QUEUED)
    assert provider.backend.job_ids() == [queued, done]
    assert server.queries[-1]["ids_only"] is True
    active = provider.get_backend("ibmq_manila").active_jobs()
    assert [j.job_id() for j in active] == [queued]
    assert set(server.queries[-1]["status"]) == {"INITIALIZING", "VALIDATING", "QUEUED", "RUNNING"}
