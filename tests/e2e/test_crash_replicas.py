"""Two `openqx serve` replicas on one PostgreSQL (each its own data folder, dispatcher name
and port; one shared blob folder) run 300 small jobs submitted through the client to both;
one replica is SIGKILLed mid-run and restarted.

What must hold: every job ends DONE exactly once, with a correct result (its counts sum to
its shots, only the GHZ outcomes); nothing stays RUNNING or leased; jobs DONE before the kill
are untouched (same end time, same result bytes, one attempt); only the jobs the killed
replica was running are run again, each as a second attempt, and no other job is claimed
twice (``attempts`` counts claims: two replicas picking the same job would show 2); both
replicas claimed jobs from the shared queue: the killed one was running jobs when it died,
and the other finished jobs while it was dead."""

from __future__ import annotations

import json
import signal
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from qiskit import transpile

from openqx.scheduler.identity import ID_FILE
from tests.e2e.circuits import ghz
from tests.e2e.crash_helpers import Rows, assert_untouched, job_rows, poll_rows, served_blobs
from tests.e2e.serve_process import ServeProcess, free_port

TOKEN = "replicas-crash-token"
BACKEND = "simulator_stabilizer"
JOBS = 300
SHOTS = 20
KILL_AFTER_DONE = 100


def _maintenance(url: str, method: str, path: str, **kwargs: Any) -> None:
    """Start or end the device's maintenance through the admin API of the replica at ``url``."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = httpx.request(method, f"{url}/v1{path}", headers=headers, timeout=30, **kwargs)
    assert answer.is_success, answer.text


def _done(rows: Rows) -> int:
    return sum(row.status == "DONE" for row in rows.values())


def _time_to_kill(rows: Rows, replica: str) -> bool:
    """``KILL_AFTER_DONE`` jobs DONE, ``replica`` running some, and jobs left that it does not
    hold (the other replica's to finish while it is dead); fails once none are left."""
    running = any(r.status == "RUNNING" and r.lease_owner == replica for r in rows.values())
    others = sum(
        r.status == "QUEUED" or (r.status == "RUNNING" and r.lease_owner != replica)
        for r in rows.values()
    )
    if _done(rows) >= KILL_AFTER_DONE and running and others:
        return True
    assert others, (
        f"no job left for the other replica before {replica} could be killed: "
        f"{Counter((r.status, r.lease_owner) for r in rows.values())}"
    )
    return False


def _stop_holding(replica: ServeProcess, engine: sa.Engine, name: str) -> Rows:
    """Stop ``replica`` (SIGSTOP) at a moment it holds running jobs (``_time_to_kill``) and
    return the jobs table then. A stopped server records no job end, so what it holds stays
    RUNNING under its lease until it is killed; a job it ended between the poll and the stop
    sends it on (SIGCONT) to the next such moment."""
    while True:
        poll_rows(engine, lambda rows: _time_to_kill(rows, name), "the moment to kill A")
        replica.process.send_signal(signal.SIGSTOP)
        rows = job_rows(engine)
        if _time_to_kill(rows, name):
            return rows
        replica.process.send_signal(signal.SIGCONT)


def test_two_replicas_one_killed_lose_nothing_and_run_nothing_twice(
    tmp_path: Path, postgres_database_url: str
) -> None:
    from openqx import OpenQX

    db_url = postgres_database_url
    engine = sa.create_engine(db_url)
    blobs = served_blobs(db_url, str(tmp_path / "blobs"))
    env = {"OPENQX_WORKERS": "1", "OPENQX_BLOBS": str(tmp_path / "blobs")}
    folders = [tmp_path / "a", tmp_path / "b"]
    ports = [free_port(), free_port()]

    def start(index: int) -> ServeProcess:
        return ServeProcess(folders[index], ports[index], TOKEN, db_url=db_url, env=env)

    # Both at once on a fresh database: one creates the admin user, the other finds it.
    a, b = start(0), start(1)
    try:
        a.wait_answering()
        b.wait_answering()
        names = [(folder / ID_FILE).read_text(encoding="utf-8").strip() for folder in folders]
        assert names[0] != names[1]
        # The device is under maintenance while the jobs are submitted, so that the replicas
        # start on a full queue (submitting takes longer than running these jobs); each job has
        # its own seed, so it runs alone, not in a micro-batch of 64 that would leave no moment
        # with a job running on A and jobs left for B.
        _maintenance(b.url, "POST", "/admin/maintenance", json={"backend": BACKEND})
        circuit = transpile(ghz(2), OpenQX.enable_account(TOKEN, url=a.url).get_backend(
            BACKEND))  # fmt: skip
        backends = [
            OpenQX.enable_account(TOKEN, url=replica.url).get_backend(BACKEND) for replica in (a, b)
        ]
        with ThreadPoolExecutor(8) as pool:
            submitted = list(
                pool.map(lambda i: backends[i % 2].run(circuit, shots=SHOTS, seed_simulator=i,
                                                       job_name=f"r{i}").job_id(),
                         range(JOBS))
            )  # fmt: skip
        held = job_rows(engine)
        assert held.keys() == set(submitted) and {r.status for r in held.values()} == {"QUEUED"}
        _maintenance(a.url, "DELETE", f"/admin/maintenance/{BACKEND}")
        # Kill A while it holds jobs, once a third of the work is done.
        at_kill = _stop_holding(a, engine, names[0])
        a.kill()
        running_on_a = {
            job_id
            for job_id, row in at_kill.items()
            if row.status == "RUNNING" and row.lease_owner == names[0]
        }
        done_before = {job_id: row for job_id, row in at_kill.items() if row.status == "DONE"}
        assert running_on_a and len(done_before) >= KILL_AFTER_DONE
        results_before = {job_id: blobs.get(row.result_key) for job_id, row in done_before.items()}
        # B goes on alone: jobs end while A is dead (B claims from the shared queue).
        poll_rows(engine, lambda rows: _done(rows) > len(done_before), "replica B to finish a job")
        a = start(0)  # same folder, same name: it requeues what it held at once
        a.wait_answering()
        final = poll_rows(
            engine,
            lambda rows: all(r.status in ("DONE", "ERROR", "CANCELLED") for r in rows.values()),
            "every job to end",
        )
    finally:
        a.stop()
        b.stop()
        engine.dispose()

    assert sorted(final) == sorted(submitted)
    assert {row.status for row in final.values()} == {"DONE"}  # none lost, none stuck
    assert {row.lease_owner for row in final.values()} == {None}
    assert_untouched(final, done_before, results_before, blobs)  # by the crash and the restart
    assert {final[j].attempts for j in running_on_a} == {2}  # run again once
    assert {final[j].attempts for j in set(final) - running_on_a} == {1}  # claimed once
    for job_id, row in final.items():
        (experiment,) = json.loads(blobs.get(row.result_key))["results"]
        counts = experiment["data"]["counts"]
        assert sum(counts.values()) == SHOTS and set(counts) <= {"0x0", "0x3"}, (job_id, counts)
    # The survivors only: a worker of the killed replica may report its parent's death.
    for name, replica in (("restarted A", a), ("B", b)):
        assert "Traceback" not in replica.output, f"{name}:\n{replica.output}"
        assert "could not record job end" not in replica.output, f"{name}:\n{replica.output}"
    blobs.database.close()
