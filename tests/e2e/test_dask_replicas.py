"""Two `openqx serve` replicas on one PostgreSQL, one shared blob folder and one
``distributed.LocalCluster`` (issue 14, point 5): both replicas dispatch from the one queue onto
the cluster, jobs submitted to either run once, and a job submitted to one replica is read
(status and result) through the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qiskit.providers import JobStatus

from openqx.client import OpenQX
from openqx.client.provider import AccountProvider
from openqx.store.database import Database
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import wait_running
from tests.e2e.serve_process import ServeProcess, free_port

distributed = pytest.importorskip("distributed")

TOKEN = "dask-replicas-admin-token"
WAIT_S = 180.0
JOBS_PER_REPLICA = 12
SHOTS = 64


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_database_url: str
) -> Iterator[list[ServeProcess]]:
    """A LocalCluster (2 worker processes) and two servers using it, one database and one
    blob folder; each server gives the cluster at most one job at a time (`--workers 1`)."""
    blobs: Path = tmp_path_factory.mktemp("shared-blobs")
    # Its dashboard on a free port: a cluster of another test process may hold 8787.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster:
        serve_args = [
            "--executor", "dask", "--dask-address", cluster.scheduler_address,
            "--workers", "1", "--blobs", str(blobs),
        ]  # fmt: skip
        servers = [
            ServeProcess(
                tmp_path_factory.mktemp(f"replica-{i}"),
                free_port(),
                TOKEN,
                db_url=postgres_database_url,
                args=serve_args,
            )
            for i in range(2)
        ]
        try:
            for server in servers:
                server.wait_answering()
            yield servers
        finally:
            for server in servers:
                server.stop()


def _provider(server: ServeProcess) -> AccountProvider:
    return OpenQX.enable_account(TOKEN, url=server.url)


def _column(database_url: str, column: str, job_ids: list[str]) -> dict[str, Any]:
    """Job id → one column of its row, read from the shared database."""
    import sqlalchemy as sa

    with Database(database_url) as db, db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(f"SELECT id, {column} AS value FROM jobs WHERE id = ANY(:ids)"),
            {"ids": job_ids},
        ).all()
    return {str(r.id): r.value for r in rows}


def test_each_replica_dispatches_from_the_one_queue(
    replicas: list[ServeProcess], postgres_database_url: str
) -> None:
    # Each replica runs at most one job at a time (--workers 1), so two never-ending jobs
    # running at once are one on each replica.
    backends = [_provider(s).get_backend("simulator_statevector") for s in replicas]
    jobs = [backend.run(forever(), shots=1) for backend in backends]
    for job in jobs:
        wait_running(job, timeout=WAIT_S)
    owners = _column(postgres_database_url, "lease_owner", [job.job_id() for job in jobs])
    assert len(set(owners.values())) == 2, owners
    for job in jobs:
        job.cancel()
    for job in jobs:
        job.wait_for_final_state(timeout=WAIT_S)
        assert job.status() is JobStatus.CANCELLED


def test_jobs_through_both_replicas_run_once_on_the_shared_cluster(
    replicas: list[ServeProcess], postgres_database_url: str
) -> None:
    providers = [_provider(server) for server in replicas]
    jobs: list[Any] = []
    for i in range(JOBS_PER_REPLICA):
        for provider in providers:
            backend = provider.get_backend("simulator_statevector")
            jobs.append(backend.run(ghz(3), shots=SHOTS, seed_simulator=i))
    for job in jobs:
        counts = job.result(timeout=WAIT_S).get_counts()
        assert sum(counts.values()) == SHOTS
        assert set(counts) <= {"000", "111"}
    ids = [job.job_id() for job in jobs]
    # Every job started once, and each is read through the other replica too (one database,
    # one blob store).
    assert set(_column(postgres_database_url, "attempts", ids).values()) == {1}
    for job in jobs[:2]:
        seen = providers[1].backend.retrieve_job(job.job_id())
        assert seen.status() is JobStatus.DONE
        assert seen.result().get_counts() == job.result().get_counts()
