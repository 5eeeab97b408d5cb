"""What recording a micro-batch's ends costs the store: ``--batch`` claimed jobs ended one
``finish_job`` transaction each, and (where the store has it) all in one ``finish_jobs``
transaction, on a SQLite file, the two interleaved over ``--rounds`` rounds. Prints the
median milliseconds per job of each.

    python benchmarks/record_batch.py [--batch 64] [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from openqx.core.instances import DEFAULT_INSTANCE
from openqx.core.status import JobStatus
from openqx.store.database import Database
from openqx.store.records import NewJob
from openqx.store.sql_store import SqlJobStore

BACKEND = "fake_manila"


def claimed(store: SqlJobStore, owner: int, count: int, tag: str) -> list[str]:
    """``count`` new jobs, claimed (RUNNING)."""
    for i in range(count):
        store.create_job(
            NewJob(
                id=f"{tag}-{i:04d}",
                kind="circuits",
                backend=BACKEND,
                owner_id=owner,
                instance=DEFAULT_INSTANCE,
                num_circuits=1,
                shots=100,
            )
        )
    ids = []
    for _ in range(count):
        job = store.claim_next(BACKEND, "w", 600)
        assert job is not None
        ids.append(job.id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    one_by_one: list[float] = []
    together: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'openqx.db'}").open()
        database.upgrade()
        store = SqlJobStore(database)
        owner = store.create_user("bench", "bench-token").id
        batched = hasattr(store, "finish_jobs")
        for r in range(args.rounds):
            ids = claimed(store, owner, args.batch, f"a{r}")
            start = time.perf_counter()
            for job_id in ids:
                store.finish_job(job_id, JobStatus.DONE, result_key="r", usage_seconds=0.01)
            one_by_one.append((time.perf_counter() - start) / args.batch)
            if batched:
                from openqx.store.port import JobEnd

                ids = claimed(store, owner, args.batch, f"b{r}")
                ends = [JobEnd(j, JobStatus.DONE, result_key="r", usage_seconds=0.01) for j in ids]
                start = time.perf_counter()
                store.finish_jobs(ends)
                together.append((time.perf_counter() - start) / args.batch)
        database.close()
    print(f"finish_job, one transaction per job: {statistics.median(one_by_one) * 1e3:.3f} ms/job")
    if together:
        print(
            f"finish_jobs, one per batch of {args.batch}: "
            f"{statistics.median(together) * 1e3:.3f} ms/job"
        )


if __name__ == "__main__":
    main()
