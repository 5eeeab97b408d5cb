"""Many small noisy jobs submitted at once through openqx vs a loop of direct Aer calls.

The throughput row of issue 14: ``--jobs`` (default 1,000) small circuits (GHZ on 2 to 5
qubits, 100 shots) on ``fake_manila``, submitted at once by ``--users`` users (each its own
token and project), one job per circuit, in two ways (``--submit``, default both):

- ``run``: one ``backend.run`` per job from ``--clients`` threads, then every ``result()``;
- ``manager``: each user submits its share as one ``JobManager`` set
  (``max_experiments_per_job=1``: ``POST /jobs/batch`` requests of 100 jobs, then
  ``POST /jobs/wait``), the users at once, then every set's ``results()``.

openqx runs a real server (SQLite, the local executor with its default workers,
micro-batching on; its data folder beside ``openqx serve``'s default, see
``benchmarks/servers.py``): ``--server process`` runs ``openqx serve`` in its own process (as
the issue measured; the clients then do not share the server's interpreter), ``embedded`` (the
default) an embedded server in this one. The time is from the first submission to the last
result. The direct alternative is a loop of one ``AerSimulator.from_backend(FakeManilaV2())``
call per circuit (simulator prebuilt, the same ISA circuits), in this process, run in two
halves, before and after openqx, so that a machine whose load changes weighs on both alike.

    python benchmarks/throughput.py [--jobs 1000] [--users 4] [--clients 8] [--workers N]
                                    [--server embedded|process] [--submit run|manager|both]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from qiskit import transpile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.servers import bench_data_dir, serve_process  # noqa: E402
from tests.e2e.circuits import ghz  # noqa: E402
from tests.e2e.units import make_project  # noqa: E402


class BatchCounter(logging.Handler):
    """Counts the dispatcher's micro-batches (its ``start_batch`` log lines)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.sizes: list[int] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", None) == "start_batch" and hasattr(record, "batch_id"):
            with self._lock2:
                self.sizes.append(len(getattr(record, "job_ids", [])))


@contextlib.contextmanager
def serve_embedded(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """An embedded server in this process; yields its URL and admin token."""
    from openqx.embedded import EmbeddedServer

    # The default per-user limit of active jobs on a device (5) would refuse the burst.
    with bench_data_dir() as folder:
        server = EmbeddedServer(
            executor=args.executor,
            workers=args.workers,
            job_limits={"fake_manila": args.jobs + 1},
            data_dir=folder,
        ).start()
        try:
            yield server.url, server.token
        finally:
            server.stop()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--executor", default="local", choices=["local", "inline"])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--server", default="embedded", choices=["embedded", "process"])
    parser.add_argument(
        "--submit",
        default="both",
        choices=["run", "manager", "both"],
        help="run: one backend.run per job from the threads; manager: each user submits its "
        "share as one JobManager set (one job per circuit: POST /jobs/batch, POST /jobs/wait)",
    )
    args = parser.parse_args()

    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from openqx.client import JobManager, OpenQX
    from openqx.client.http import ApiClient
    from openqx.core import wire

    warnings.filterwarnings("ignore")
    counter = BatchCounter()
    dispatcher_log = logging.getLogger("openqx.scheduler.dispatcher")
    dispatcher_log.addHandler(counter)
    dispatcher_log.setLevel(logging.INFO)
    dispatcher_log.propagate = False  # count, do not print, every claim

    manila = FakeManilaV2()
    aer = AerSimulator.from_backend(manila)
    circuits = [ghz(2 + i % 4) for i in range(4)]
    load_before = load()

    serving = (
        serve_process(
            workers=args.workers, env={"OPENQX_JOB_LIMITS": f"fake_manila={args.jobs + 1}"}
        )
        if args.server == "process"
        else serve_embedded(args)
    )
    with serving as (url, admin_token):
        admin = ApiClient(url, admin_token)
        tokens = [
            admin.create_user(
                wire.UserCreate(
                    name=f"bench{u}", instances=[make_project(admin, f"hub/group/bench{u}")]
                )
            ).token
            for u in range(args.users)
        ]
        backends = [
            OpenQX.enable_account(token, url=url).get_backend("fake_manila") for token in tokens
        ]
        isa = [transpile(c, backends[0], seed_transpiler=1) for c in circuits]
        for backend in backends:  # warm: each user's session, the workers' simulators
            backend.run(isa, shots=args.shots).result(timeout=600)
        aer.run(isa[0], shots=args.shots).result()

        def direct(indices: range) -> float:
            start = time.perf_counter()
            for i in indices:
                aer.run(isa[i % 4], shots=args.shots).result()
            return time.perf_counter() - start

        half = args.jobs // 2
        direct_s = direct(range(half))

        def submit(i: int) -> Any:
            return backends[i % args.users].run(isa[i % 4], shots=args.shots)

        def by_run() -> tuple[float, float, list[Any]]:
            """Every job its own backend.run from the threads; then every result."""
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                jobs = list(pool.map(submit, range(args.jobs)))
                submitted_s = time.perf_counter() - start
                results = list(pool.map(lambda job: job.result(timeout=3600), jobs))
            assert all(sum(r.get_counts().values()) == args.shots for r in results)
            return time.perf_counter() - start, submitted_s, jobs

        def by_manager() -> tuple[float, float, list[Any]]:
            """Each user's share of the circuits as one JobManager set, one job per circuit,
            the users at once (a thread each); then every set's results."""

            def one_user(user: int) -> tuple[float, list[Any]]:
                circuits = [isa[i % 4] for i in range(user, args.jobs, args.users)]
                with JobManager(progress=False) as manager:
                    job_set = manager.run(
                        circuits, backends[user], max_experiments_per_job=1, shots=args.shots
                    )
                    job_set.jobs()  # submitted
                    submitted = time.perf_counter() - start
                    results = job_set.results(timeout=3600)
                    assert results.success
                    for i in range(len(circuits)):
                        assert sum(results.get_counts(i).values()) == args.shots
                    return submitted, [job for job in job_set.jobs() if job is not None]

            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.users) as pool:
                answers = list(pool.map(one_user, range(args.users)))
            jobs = [job for _, user_jobs in answers for job in user_jobs]
            assert len(jobs) == args.jobs
            return time.perf_counter() - start, max(s for s, _ in answers), jobs

        rows = []
        modes = {"run": by_run, "manager": by_manager}
        for mode in ["run", "manager"] if args.submit == "both" else [args.submit]:
            counter.sizes.clear()
            openqx_s, submitted_s, jobs = modes[mode]()
            # Jobs claimed together share their RUNNING time stamp: the claims, batches included.
            claims = len({(job.time_per_step() or {}).get("RUNNING") for job in jobs})
            rows.append((mode, openqx_s, submitted_s, claims, list(counter.sizes)))

        direct_s += direct(range(half, args.jobs))
    load_after = load()

    print(
        f"{args.jobs} small noisy jobs (GHZ 2-5 q, {args.shots} shots) on fake_manila, "
        f"openqx ({args.server} server) executor={args.executor} "
        f"workers={args.workers or 'default'}, "
        f"{args.users} users, {args.clients} submitting threads"
    )
    print(f"{'case':<48}{'direct loop':>14}{'openqx':>12}{'speed-up':>10}  goal")
    for mode, openqx_s, submitted_s, claims, sizes in rows:
        label = (
            f"{args.jobs} jobs, one backend.run each"
            if mode == "run"
            else f"{args.jobs} jobs, a JobManager set per user"
        )
        print(
            f"{label:<48}{direct_s:>12.2f} s"
            f"{openqx_s:>10.2f} s{direct_s / openqx_s:>9.2f}x  >= 20x (1,000 jobs)"
        )
        batched = sum(sizes)
        print(f"  (submissions took {submitted_s:.2f} s; the jobs started in {claims} claims)")
        if args.server == "embedded":
            print(
                f"  ({len(sizes)} micro-batches held {batched} jobs"
                f"{f', mean {batched / len(sizes):.1f}, max {max(sizes)}' if sizes else ''}; "
                f"{args.jobs - batched} jobs ran alone)"
            )
    print(f"load average before {load_before}, after {load_after} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
