"""SIGKILL of `openqx serve` in the middle of 300 small jobs, then a restart on the same data
folder and database (SQLite and PostgreSQL).

What must hold: every job ends DONE exactly once; jobs DONE before the kill are untouched
(same end time, same result bytes, one attempt); the jobs the dead server was running are
back in the queue within 5 s of the restarted server answering (not after a lease), because
the restarted server takes leases under the same name (kept in the data folder) and requeues
what that name still held; those jobs are run again, counted as a second attempt."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from qiskit import transpile

from tests.e2e.circuits import ghz, slow_circuit
from tests.e2e.crash_helpers import assert_untouched, job_rows, poll_rows, served_blobs
from tests.e2e.serve_process import ServeProcess, free_port

TOKEN = "crash-test-token"
JOBS = 300
KILL_AFTER_DONE = 100
REQUEUE_BOUND_S = 5.0


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """``None`` for SQLite in the data folder, or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_database_url")
    else:
        yield None


def test_sigkill_during_300_jobs_loses_none_runs_none_twice_and_recovers_at_once(
    tmp_path: Path, db_url: str | None
) -> None:
    from openqx import OpenQX

    url = db_url or f"sqlite:///{tmp_path / 'openqx.sqlite3'}"
    engine = sa.create_engine(url)
    blobs = served_blobs(url, str(tmp_path / "blobs"))
    port = free_port()
    env = {"OPENQX_WORKERS": "2"}
    first = ServeProcess(tmp_path, port, TOKEN, db_url=db_url, env=env)
    try:
        first.wait_answering()
        provider = OpenQX.enable_account(TOKEN, url=first.url)
        backend = provider.get_backend("simulator_stabilizer")
        circuit = transpile(ghz(2), backend)
        with ThreadPoolExecutor(8) as pool:
            small = list(
                pool.map(lambda i: backend.run(circuit, shots=20, job_name=f"c{i}").job_id(),
                         range(JOBS))
            )  # fmt: skip
        poll_rows(
            engine,
            lambda rows: sum(r.status == "DONE" for r in rows.values()) >= KILL_AFTER_DONE,
            f"{KILL_AFTER_DONE} jobs DONE",
        )
        # A job that is surely running at the kill (another backend: claimed at the next slot).
        slow = (
            provider.get_backend("simulator_statevector")
            .run(slow_circuit(num_qubits=20, layers=30), shots=10)
            .job_id()
        )
        poll_rows(engine, lambda rows: rows[slow].status == "RUNNING", "the slow job to run")
    finally:
        first.kill()

    at_kill = job_rows(engine)
    running = {job_id for job_id, row in at_kill.items() if row.status == "RUNNING"}
    done_before = {job_id: row for job_id, row in at_kill.items() if row.status == "DONE"}
    assert slow in running and len(done_before) >= KILL_AFTER_DONE
    results_before = {job_id: blobs.get(row.result_key) for job_id, row in done_before.items()}

    second = ServeProcess(tmp_path, port, TOKEN, db_url=db_url, env=env)
    try:
        answering = second.wait_answering()
        poll_rows(
            engine,
            lambda rows: all(rows[j].status != "RUNNING" or rows[j].attempts >= 2 for j in running),
            "the dead server's jobs to be requeued",
        )
        requeued_after = time.monotonic() - answering
        final = poll_rows(
            engine,
            lambda rows: all(r.status in ("DONE", "ERROR", "CANCELLED") for r in rows.values()),
            "every job to end",
        )
    finally:
        second.stop()

    assert requeued_after < REQUEUE_BOUND_S, requeued_after
    assert set(final) == {*small, slow}
    assert {row.status for row in final.values()} == {"DONE"}
    assert_untouched(final, done_before, results_before, blobs)  # by the crash and the restart
    assert {final[j].attempts for j in running} == {2}  # run again once, as a second attempt
    assert {final[j].attempts for j in set(final) - running} == {1}
    assert "Traceback" not in second.output, second.output
    assert "could not record job end" not in second.output, second.output
    blobs.database.close()
