"""Time the fair-share scheduler on a full queue (SQLite and PostgreSQL).

Fills a database with 10,000 QUEUED jobs across 100 projects (10 hubs × 2 groups × 5
projects, shares 1–4) and 10 devices, plus 20,000 finished jobs with recorded usage inside the
fair-share window (the usage the pick sums), then times:

- ``pick``: ``claim_next`` on a device (the fair-share pick and the claim, one transaction);
- ``fair_queue``: the device's whole fair-share order (the policy played over its queue):
  what a ``queue_position`` costs when the queue changed since the last one;
- ``position``: ``queue_position`` of the job last in its device's fair-share order, cycling
  over the devices (after the first call per device, the order kept for the queue state).

Targets (issue 11): pick p95 under 10 ms, position p95 under 20 ms.

    python benchmarks/scheduler.py --db both [--queued 10000] [--runs 60]

PostgreSQL is a throwaway server started with ``tests/pg.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.databases import open_database  # noqa: E402
from openqx.core.clock import ManualClock  # noqa: E402
from openqx.store import fairshare  # noqa: E402
from openqx.store import queries as q  # noqa: E402
from openqx.store.sql_store import SqlJobStore  # noqa: E402

__all__ = ["main"]

DEVICES = [f"fake_device{i}" for i in range(10)]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
BATCH = 10_000


def projects() -> list[str]:
    """The 100 projects ``hub<h>/group<g>/project<p>``."""
    return [f"hub{h}/group{g}/project{p}" for h in range(10) for g in range(2) for p in range(5)]


def _row(job_id: str, owner: int, instance: str, backend: str, **fields: Any) -> dict[str, Any]:
    hub, group, project = instance.split("/")
    created = fields.pop("created_at")
    return {
        "id": job_id, "kind": "circuits", "backend": backend, "status": "QUEUED",
        "owner_id": owner, "instance": instance, "hub": hub, "hub_group": group,
        "project": project, "name": None, "tags": [], "share_level": "none",
        "experiment_id": None, "program_id": None, "created_at": created,
        "updated_at": created, "time_per_step": {"QUEUED": created.isoformat()},
        "num_circuits": 1, "shots": 1024, "memory": False, "header": {}, "options": {},
        "snapshot_id": None, "payload_key": f"jobs/{job_id}/p", "result_key": None,
        "error_code": None, "error_message": None, "run_mode": None,
        "live_data_enabled": None, "client_info": {}, "cancel_requested": False,
        "lease_owner": None, "lease_expires_at": None, "started_at": None,
        "finished_at": None, "priority": 0, "usage_seconds": None, **fields,
    }  # fmt: skip


def fill(store: SqlJobStore, queued: int, finished: int, seed: int = 3) -> None:
    """Users (one per project), shares, ``finished`` jobs with usage in the window and
    ``queued`` QUEUED jobs, spread at random over projects and devices."""
    rnd = random.Random(seed)
    names = projects()
    owners = [store.create_user(f"u{i}", f"tok{i}", instances=[p]).id for i, p in enumerate(names)]
    for p in names:
        store.set_unit_share(p, rnd.randint(1, 4))
    rows: list[dict[str, Any]] = []
    with store.database.engine.begin() as conn:
        conn.execution_options(statement_timeout=None)
        for i in range(finished + queued):
            k = rnd.randrange(len(names))
            done = i < finished
            created = NOW - timedelta(days=20) + timedelta(seconds=i)
            extra: dict[str, Any] = {"created_at": created}
            if done:
                extra.update(
                    status="DONE",
                    started_at=created,
                    finished_at=created + timedelta(seconds=5),
                    usage_seconds=rnd.uniform(0.5, 10.0),
                )
            job_id = f"{i:08x}" + os.urandom(8).hex()
            rows.append(_row(job_id, owners[k], names[k], rnd.choice(DEVICES), **extra))
            if len(rows) >= BATCH:
                conn.execute(sa.insert(q.jobs), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(q.jobs), rows)
        fairshare.rebuild_usage(conn)  # the jobs were written behind the store's back
    with store.database.engine.begin() as conn:
        conn.execution_options(statement_timeout=None)
        conn.exec_driver_sql("ANALYZE")


def _time(action: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(p50, p95, fastest) milliseconds; the fastest run shows the cost without the machine's
    other work (on a shared machine p50 and p95 mostly show the load)."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))], samples[0]


def bench(kind: str, queued: int, runs: int) -> list[tuple[str, float, float, float]]:
    """Fill a database of ``kind`` and time pick and position; rows (name, p50, p95, min)."""
    with tempfile.TemporaryDirectory() as tmp, open_database(kind, Path(tmp)) as db:
        clock = ManualClock(NOW)
        store = SqlJobStore(db, clock=clock)
        fill(store, queued, finished=2 * queued)
        devices = iter(DEVICES * runs)
        pick = _time(lambda: store.claim_next(next(devices), "bench", 60), runs)
        deep = []
        for device in DEVICES:
            order = store.fair_queue(device)
            deep.append(store.get_job(order[-1]))
        cold = iter(DEVICES * runs)
        walk = _time(lambda: store.fair_queue(next(cold)), runs)
        targets = iter(deep * runs)
        position = _time(lambda: store.queue_position(next(targets)), runs)
        return [
            ("pick (claim_next)", *pick),
            ("fair_queue (cold position)", *walk),
            ("queue_position, last job", *position),
        ]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--queued", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"{args.queued} queued jobs, 100 projects, {len(DEVICES)} devices, {args.runs} runs")
    print(f"{'database':<11} {'operation':<26} {'p50 ms':>8} {'p95 ms':>8} {'min ms':>8}")
    for kind in kinds:
        for name, p50, p95, fastest in bench(kind, args.queued, args.runs):
            print(f"{kind:<11} {name:<26} {p50:8.2f} {p95:8.2f} {fastest:8.2f}")


if __name__ == "__main__":
    main()
