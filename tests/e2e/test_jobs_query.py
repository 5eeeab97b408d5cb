"""Issue 3, finding jobs: ``backend.jobs``, ``provider.backend.jobs``/``job_ids`` with every
filter, ``active_jobs``, ``retrieve_job`` and ``least_busy``, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from qiskit import transpile
from qiskit.providers import JobStatus

from openqx.client import query as job_query
from openqx.client.exceptions import (
    OpenQXBackendApiError,
    OpenQXBackendError,
    OpenQXBackendValueError,
    OpenQXError,
)
from openqx.client.job import OpenQXJob
from openqx.client.least_busy import least_busy
from openqx.client.provider import AccountProvider
from openqx.core.status import JobStatus as OpenQXStatus
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz, not_clifford
from tests.e2e.compat_helpers import wait_running

TIMEOUT = 120
N_STAB = 25


@dataclass
class Corpus:
    """Jobs made for this module: ``stab`` on simulator_stabilizer (index = submission order)."""

    prefix: str
    stab: list[OpenQXJob]
    mps: list[OpenQXJob]
    failed: OpenQXJob
    cancelled: OpenQXJob
    busy: OpenQXJob

    def everything(self) -> list[OpenQXJob]:
        return [*self.stab, *self.mps, self.failed, self.cancelled, self.busy]


def _stab_tags(prefix: str, index: int) -> list[str]:
    tags = [prefix]
    if index % 2 == 0:
        tags.append("even")
    if index % 3 == 0:
        tags.append("three")
    return tags


@pytest.fixture(scope="module")
def corpus(provider: AccountProvider) -> Corpus:
    prefix = f"q{uuid.uuid4().hex[:10]}"
    statevector = provider.get_backend("simulator_statevector")
    qasm = provider.get_backend("ibmq_qasm_simulator")
    stab = provider.get_backend("simulator_stabilizer")
    mps = provider.get_backend("simulator_mps")
    busy = statevector.run(forever(), shots=10, job_name=f"{prefix}-busy", job_tags=[prefix])
    wait_running(busy)
    cancelled = qasm.run(
        transpile(ghz(2), qasm), shots=10, job_name=f"{prefix}-cancel", job_tags=[prefix]
    )
    assert cancelled.cancel()
    assert busy.cancel()
    failed = qasm.run(
        transpile(not_clifford(), qasm),
        shots=10,
        job_name=f"{prefix}-err",
        job_tags=[prefix],
        method="stabilizer",  # Aer refuses the T gate at run time: the job fails on the worker
    )
    circuit = transpile(ghz(2), stab)
    stab_jobs = [
        stab.run(
            circuit,
            shots=index + 1,
            job_name=f"{prefix}-s{index:02d}",
            job_tags=_stab_tags(prefix, index),
            experiment_id=f"{prefix}-exp{index % 2}",
        )
        for index in range(N_STAB)
    ]
    mps_jobs = [
        mps.run(
            transpile(ghz(2), mps),
            shots=5,
            job_name=f"{prefix}-m{index}",
            job_tags=[prefix, "mps"],
        )
        for index in range(3)
    ]
    made = Corpus(prefix, stab_jobs, mps_jobs, failed, cancelled, busy)
    for job in made.everything():
        job.wait_for_final_state(timeout=TIMEOUT)
    assert failed.status() is JobStatus.ERROR
    assert cancelled.status() is JobStatus.CANCELLED
    assert busy.status() is JobStatus.CANCELLED
    return made


def _ids(jobs: list[OpenQXJob]) -> list[str]:
    return [job.job_id() for job in jobs]


def _newest_first(jobs: list[OpenQXJob]) -> list[str]:
    ordered = sorted(jobs, key=lambda job: (job.info.created_at, job.job_id()), reverse=True)
    return _ids(ordered)


class _RequestCounter:
    def __init__(self, provider: Any) -> None:
        self.paths: list[str] = []
        self._hooks = provider.api_client._http.event_hooks["request"]

    def __call__(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path)

    def __enter__(self) -> _RequestCounter:
        self._hooks.append(self)
        return self

    def __exit__(self, *args: object) -> None:
        self._hooks.remove(self)


# --- limit, skip, order, paging ------------------------------------------------------------


def test_limit_skip_and_order(provider: AccountProvider, corpus: Corpus) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    everything = _ids(backend.jobs(limit=None, job_tags=[corpus.prefix]))
    assert everything == _newest_first(corpus.stab)
    assert _ids(backend.jobs(limit=0, job_tags=[corpus.prefix])) == everything
    assert _ids(backend.jobs(job_tags=[corpus.prefix])) == everything[:10]  # default limit
    assert _ids(backend.jobs(limit=7, skip=10, job_tags=[corpus.prefix])) == everything[10:17]
    assert _ids(backend.jobs(limit=None, skip=20, job_tags=[corpus.prefix])) == everything[20:]
    oldest_first = _ids(backend.jobs(limit=None, descending=False, job_tags=[corpus.prefix]))
    assert oldest_first == everything[::-1]


@pytest.mark.parametrize("page", [1, 4, 10])
def test_paging_over_many_pages_is_complete(
    provider: AccountProvider, corpus: Corpus, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    everything = _newest_first(corpus.stab)
    monkeypatch.setattr(job_query, "SERVER_PAGE_MAX", page)
    with _RequestCounter(provider) as counter:
        found = _ids(backend.jobs(limit=None, job_tags=[corpus.prefix]))
    assert found == everything  # complete, in order, so no duplicates either
    assert counter.paths.count("/v1/jobs/search") >= N_STAB // page
    assert _ids(backend.jobs(limit=11, job_tags=[corpus.prefix])) == everything[:11]
    assert _ids(backend.jobs(limit=None, skip=3, job_tags=[corpus.prefix])) == everything[3:]
    ascending = _ids(backend.jobs(limit=None, descending=False, job_tags=[corpus.prefix]))
    assert ascending == everything[::-1]
    ids = provider.backend.job_ids(
        limit=None, backend_name="simulator_stabilizer", job_tags=[corpus.prefix]
    )
    assert ids == everything


def test_raw_keyset_pages_follow_the_cursor(server: EmbeddedServer, corpus: Corpus) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    body: dict[str, Any] = {"limit": 10, "tags": [corpus.prefix], "backend": "simulator_stabilizer"}
    seen: list[str] = []
    pages = 0
    while True:
        answer = httpx.post(f"{server.url}/v1/jobs/search", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages += 1
        seen.extend(job["id"] for job in page["jobs"])
        if page["next_cursor"] is None:
            break
        body["cursor"] = page["next_cursor"]
    assert pages == 3
    assert seen == _newest_first(corpus.stab)


# --- filters --------------------------------------------------------------------------------


def test_status_filter(provider: AccountProvider, corpus: Corpus) -> None:
    tags = [corpus.prefix]
    done = {job.job_id() for job in corpus.stab + corpus.mps}

    def found(status: Any) -> set[str]:
        return set(_ids(provider.backend.jobs(limit=None, status=status, job_tags=tags)))

    assert found(JobStatus.DONE) == done
    assert found(OpenQXStatus.DONE) == done
    assert found("done") == done
    assert found("DoNe") == done
    assert found("cancelled") == {corpus.cancelled.job_id(), corpus.busy.job_id()}
    assert found([JobStatus.ERROR, "Cancelled"]) == {
        corpus.failed.job_id(),
        corpus.cancelled.job_id(),
        corpus.busy.job_id(),
    }
    assert found([JobStatus.QUEUED, JobStatus.RUNNING]) == set()
    with pytest.raises(OpenQXBackendValueError, match="finished"):
        provider.backend.jobs(status="finished")
    with pytest.raises(OpenQXBackendValueError):
        provider.backend.jobs(status=["done", 42])


def test_job_name_is_a_partial_regular_expression(
    provider: AccountProvider, corpus: Corpus
) -> None:
    prefix = corpus.prefix

    def names(pattern: str) -> list[str | None]:
        jobs = provider.backend.jobs(limit=None, job_name=pattern, descending=False)
        return [job.name() for job in jobs]

    assert names(f"{prefix}-s0[0-4]") == [f"{prefix}-s{i:02d}" for i in range(5)]
    assert names(f"^{prefix}-m") == [f"{prefix}-m{i}" for i in range(3)]
    assert names(f"{prefix[3:]}-s1") == [f"{prefix}-s{i}" for i in range(10, 20)]  # partial
    assert names(f"{prefix}-(err|cancel)$") == [f"{prefix}-cancel", f"{prefix}-err"]
    assert names(f"^{prefix[3:]}") == []  # anchors are honoured


def test_start_and_end_datetime_aware_or_local(provider: AccountProvider, corpus: Corpus) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    oldest_first = sorted(corpus.stab, key=lambda job: (job.info.created_at, job.job_id()))
    start = oldest_first[5].creation_date()
    end = oldest_first[15].creation_date()
    assert start.tzinfo is not None
    expected = {job.job_id() for job in corpus.stab if start <= job.creation_date() <= end}
    assert 11 <= len(expected) < N_STAB

    def found(**kwargs: Any) -> set[str]:
        return set(_ids(backend.jobs(limit=None, job_tags=[corpus.prefix], **kwargs)))

    assert found(start_datetime=start, end_datetime=end) == expected
    local_naive = (start.astimezone().replace(tzinfo=None), end.astimezone().replace(tzinfo=None))
    assert found(start_datetime=local_naive[0], end_datetime=local_naive[1]) == expected
    elsewhere = timezone(timedelta(hours=5, minutes=30))
    assert (
        found(start_datetime=start.astimezone(elsewhere), end_datetime=end.astimezone(UTC))
        == expected
    )
    assert found(start_datetime=start) == {
        job.job_id() for job in corpus.stab if job.creation_date() >= start
    }
    assert found(end_datetime=end) == {
        job.job_id() for job in corpus.stab if job.creation_date() <= end
    }
    assert found(start_datetime=datetime.now(UTC) + timedelta(hours=1)) == set()


def test_job_tags_with_or_and_and(provider: AccountProvider, corpus: Corpus) -> None:
    backend = provider.get_backend("simulator_stabilizer")

    def found(tags: list[str], operator: str | None = "OR") -> set[str]:
        jobs = backend.jobs(limit=None, job_tags=tags, job_tags_operator=operator)
        return {job.job_id() for job in jobs if (job.name() or "").startswith(corpus.prefix)}

    by_index = {index: job.job_id() for index, job in enumerate(corpus.stab)}
    assert found(["even", "three"]) == {
        by_index[i] for i in range(N_STAB) if i % 2 == 0 or i % 3 == 0
    }
    assert found(["even", "three"], "AND") == {by_index[i] for i in range(N_STAB) if i % 6 == 0}
    assert found(["even", "three"], "and") == found(["even", "three"], "AND")
    assert found(["three", corpus.prefix], "AND") == {
        by_index[i] for i in range(N_STAB) if i % 3 == 0
    }
    assert found(["no-such-tag"]) == set()
    with pytest.raises(OpenQXBackendValueError, match="job_tags_operator"):
        backend.jobs(job_tags=["even"], job_tags_operator="XOR")


def test_experiment_id(provider: AccountProvider, corpus: Corpus) -> None:
    jobs = provider.backend.jobs(limit=None, experiment_id=f"{corpus.prefix}-exp1")
    assert {job.job_id() for job in jobs} == {
        job.job_id() for index, job in enumerate(corpus.stab) if index % 2 == 1
    }
    assert all(job.experiment_id == f"{corpus.prefix}-exp1" for job in jobs)


def test_backend_jobs_versus_all_backends(provider: AccountProvider, corpus: Corpus) -> None:
    tags = [corpus.prefix]
    everywhere = provider.backend.jobs(limit=None, job_tags=tags)
    assert set(_ids(everywhere)) == set(_ids(corpus.everything()))
    assert {job.backend().name for job in everywhere} == {
        "simulator_stabilizer",
        "simulator_mps",
        "ibmq_qasm_simulator",
        "simulator_statevector",
    }
    mps = provider.get_backend("simulator_mps").jobs(limit=None, job_tags=tags)
    assert set(_ids(mps)) == set(_ids(corpus.mps))
    via_service = provider.backend.jobs(limit=None, backend_name="simulator_mps", job_tags=tags)
    assert _ids(via_service) == _ids(mps)
    assert set(provider.backend.job_ids(limit=None, job_tags=tags)) == set(_ids(everywhere))
    assert len(provider.backend.job_ids(limit=4, job_tags=tags)) == 4


# --- db_filter ------------------------------------------------------------------------------


def test_db_filter_subset(provider: AccountProvider, corpus: Corpus) -> None:
    prefix = corpus.prefix
    by_name = {job.name(): job.job_id() for job in corpus.everything()}
    stab_names = [f"{prefix}-s{i:02d}" for i in range(N_STAB)]  # shots = index + 1

    def names(db_filter: dict[str, Any], **kwargs: Any) -> set[str | None]:
        kwargs.setdefault("job_tags", [prefix])
        jobs = provider.backend.jobs(limit=None, db_filter=db_filter, **kwargs)
        return {job.name() for job in jobs}

    assert names({"name": f"{prefix}-s03"}) == {f"{prefix}-s03"}
    assert names({"id": by_name[f"{prefix}-m1"]}) == {f"{prefix}-m1"}
    assert names({"name": {"inq": stab_names[:3]}}) == set(stab_names[:3])
    assert names({"name": {"nin": stab_names[3:]}}, backend_name="simulator_stabilizer") == set(
        stab_names[:3]
    )
    assert names({"name": {"regexp": f"{prefix}-s2"}}) == set(stab_names[20:])
    assert names({"name": {"regexp": f"/{prefix.upper()}-M/i"}}) == {
        f"{prefix}-m{i}" for i in range(3)
    }
    assert names({"shots": {"gt": 22}}, backend_name="simulator_stabilizer") == set(stab_names[22:])
    assert names({"shots": {"gte": 22}}, backend_name="simulator_stabilizer") == set(
        stab_names[21:]
    )
    assert names({"shots": {"lt": 3}}, backend_name="simulator_stabilizer") == set(stab_names[:2])
    assert names({"shots": {"lte": 3}}, backend_name="simulator_stabilizer") == set(stab_names[:3])
    assert names({"shots": {"between": [4, 6]}}, backend_name="simulator_stabilizer") == set(
        stab_names[3:6]
    )
    assert names({"shots": {"neq": 5}}, backend_name="simulator_mps") == set()
    assert names({"backend.name": {"neq": "simulator_stabilizer"}}) == {
        job.name() for job in [*corpus.mps, corpus.failed, corpus.cancelled, corpus.busy]
    }
    assert names({"or": [{"name": f"{prefix}-m0"}, {"name": f"{prefix}-err"}]}) == {
        f"{prefix}-m0",
        f"{prefix}-err",
    }
    assert names({"and": [{"tags": "even"}, {"or": [{"shots": 1}, {"shots": 25}]}]}) == {
        stab_names[0],
        stab_names[24],
    }
    assert names({"backend.name": "simulator_mps"}) == {f"{prefix}-m{i}" for i in range(3)}
    hub = (provider.instance or "").split("/")[0]
    assert hub
    assert names({"hubInfo.hub.name": hub}) == set(by_name)
    assert names({"hubInfo.hub.name": hub + "-other"}) == set()
    assert names({"status": "COMPLETED"}) == {job.name() for job in corpus.stab + corpus.mps}
    assert names({"status": {"regexp": "^ERROR"}}) == {f"{prefix}-err"}
    created = sorted(job.info.created_at for job in corpus.stab)
    between = [created[2].isoformat(), created[4].isoformat()]
    assert names({"creationDate": {"between": between}}, backend_name="simulator_stabilizer") == {
        job.name() for job in corpus.stab if created[2] <= job.info.created_at <= created[4]
    }
    # values are bound parameters, never SQL
    assert names({"name": "x' OR '1'='1"}) == set()
    assert names({"name": {"inq": ["x') OR 1=1 --", f"{prefix}-m2"]}}) == {f"{prefix}-m2"}


@pytest.mark.parametrize(
    ("db_filter", "needle"),
    [
        ({"password": "x"}, "Unknown field 'password'"),
        ({"owner_id; DROP TABLE jobs": 1}, "Unknown field"),
        ({"name": {"like": "%"}}, "Unknown operator 'like'"),
        ({"name": {"regexp": "("}}, "Invalid regular expression"),
        ({"shots": {"regexp": "1"}}, "not supported for field 'shots'"),
        ({"shots": {"gt": "many"}}, "must be an integer"),
        ({"creationDate": {"gte": "yesterday"}}, "Invalid date"),
        ({"name": {"inq": "abc"}}, "needs a list"),
        ({"shots": {"between": [1]}}, "between"),
        ({"or": {"name": "x"}}, "needs a list"),
        ({"status": "FINISHED"}, "Invalid status"),
        ({"name": {}}, "Empty operator"),
    ],
)
def test_db_filter_outside_the_subset_is_refused(
    provider: AccountProvider, server: EmbeddedServer, db_filter: dict[str, Any], needle: str
) -> None:
    with pytest.raises(OpenQXBackendValueError) as info:
        provider.backend.jobs(db_filter=db_filter)
    assert needle in str(info.value)
    assert getattr(info.value, "status_code", None) == 400
    answer = httpx.post(
        f"{server.url}/v1/jobs/search",
        json={"db_filter": db_filter},
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_filter"
    assert needle in answer.json()["error"]["message"]


# --- active jobs, retrieve_job, least_busy ----------------------------------------------------


def test_active_jobs_retrieve_job_and_least_busy(provider: AccountProvider, corpus: Corpus) -> None:
    statevector = provider.get_backend("simulator_statevector")
    stab = provider.get_backend("simulator_stabilizer")
    mps = provider.get_backend("simulator_mps")
    busy = statevector.run(forever(), shots=10, job_tags=["active"])
    try:
        wait_running(busy)
        waiting = [stab.run(transpile(ghz(2), stab), shots=1) for _ in range(2)]
        assert all(job.status() is JobStatus.QUEUED for job in waiting)
        assert _ids(statevector.active_jobs()) == [busy.job_id()]
        assert _ids(stab.active_jobs()) == _newest_first(waiting)
        assert _ids(stab.active_jobs(limit=1)) == _newest_first(waiting)[:1]
        assert mps.active_jobs() == []
        assert stab.status().pending_jobs >= 2
        assert least_busy([stab, mps]) is mps
        assert least_busy([stab, mps, statevector]).status().pending_jobs == 0
        with pytest.raises(OpenQXError):
            least_busy([])

        # retrieve_job: right backend, wrong backend, unknown id
        assert stab.retrieve_job(waiting[0].job_id()).job_id() == waiting[0].job_id()
        with pytest.warns(UserWarning, match="belongs to"):
            with pytest.raises(OpenQXBackendError, match="does not belong to backend"):
                mps.retrieve_job(waiting[0].job_id())
        with pytest.raises(OpenQXBackendApiError):
            provider.backend.retrieve_job("no-such-job")
    finally:
        busy.cancel()
    busy.wait_for_final_state(timeout=TIMEOUT)
    for job in waiting:
        job.wait_for_final_state(timeout=TIMEOUT)
    assert stab.active_jobs() == []
    assert busy.status() is JobStatus.CANCELLED
