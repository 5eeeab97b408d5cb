"""Replicas add their throughput: `openqx serve` replicas on one PostgreSQL and one
``distributed.LocalCluster`` (2 worker processes, one thread each).

Each replica runs with ``--workers 1`` (it gives the cluster at most one job at a time, see
docs/scaling.md), so one replica keeps one cluster worker busy and two replicas keep both busy.
A batch of simulation-bound statevector jobs is submitted through the client, split evenly over
the running replicas, and the wall time from the first submission to the last result is taken;
rounds alternate one and two replicas and the median is reported with the machine's load
average: of the wall time to the last result the clients got, and of the servers' span from
the first job's start to the last job's end. The second replica is stopped for the
one-replica rounds and started again for the two-replica ones: a replica that runs, even one
no client talks to, dispatches from the shared queue (at once, since replicas hear of each
other's submissions through PostgreSQL ``NOTIFY``).

    .venv/bin/python benchmarks/replicas.py --jobs 8 --qubits 16 --layers 40 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scaleout import _circuit, _fmt  # noqa: E402
from openqx.client import OpenQX  # noqa: E402
from openqx.execution.dask import WORKER_CONFIG  # noqa: E402
from tests import pg  # noqa: E402
from tests.e2e.serve_process import ServeProcess, free_port  # noqa: E402

TOKEN = "replicas-benchmark-admin-token"
WAIT_S = 600.0


def _batch(backends: list[Any], circuit: Any, jobs: int) -> tuple[float, float]:
    """Submit ``jobs`` jobs spread over ``backends`` at once; wait for every result. Returns
    the wall time to the last result the clients got, and the servers' span from the first
    job's start to the last job's end (their ``time_per_step``)."""
    start = time.perf_counter()

    def run(i: int) -> Any:
        job = backends[i % len(backends)].run(circuit, shots=100, seed_simulator=i)
        assert sum(job.result(timeout=WAIT_S).get_counts().values()) == 100
        return job

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(run, range(jobs)))
    wall = time.perf_counter() - start
    steps = [job.info.time_per_step for job in done]
    span = max(s["DONE"] for s in steps) - min(s["RUNNING"] for s in steps)
    return wall, span.total_seconds()


def main() -> None:
    import dask
    import distributed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--qubits", type=int, default=16)
    parser.add_argument("--layers", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    circuit = _circuit(args.qubits, args.layers)
    postgres = pg.start_postgres()
    workdir = Path(tempfile.mkdtemp(prefix="openqx-replicas-"))
    local_cluster: Any = distributed.LocalCluster  # untyped in distributed
    # A one-thread worker takes one job at a time (docs/scaling.md): with Dask's default
    # saturation (1.1) the scheduler may queue both replicas' jobs on one worker.
    dask.config.set({"distributed.scheduler.worker-saturation": 1.0})
    dask.config.set(WORKER_CONFIG)  # the workers openqx's docs ask for (their profiler off)
    servers: list[ServeProcess] = []
    try:
        postgres.execute("CREATE DATABASE bench")
        url = postgres.url("bench")
        with local_cluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"OMP_NUM_THREADS": "1"},
        ) as cluster:
            serve_args = [
                "--executor", "dask", "--dask-address", cluster.scheduler_address,
                "--workers", "1", "--blobs", str(workdir / "blobs"),
            ]  # fmt: skip
            ports = [free_port(), free_port()]

            def start(i: int) -> Any:
                """Start replica ``i`` (one at a time: the first migrates the database)."""
                server = ServeProcess(
                    workdir / f"replica-{i}", ports[i], TOKEN, db_url=url, args=serve_args
                )
                servers.append(server)
                server.wait_answering()
                return OpenQX.enable_account(TOKEN, url=server.url).get_backend(
                    "simulator_statevector"
                )

            backends = [start(0), start(1)]
            _batch(backends, _circuit(2, 1), 4)  # warm both replicas and both workers
            times: dict[int, list[float]] = {1: [], 2: []}
            spans: dict[int, list[float]] = {1: [], 2: []}
            loads: list[float] = []
            for _ in range(args.rounds):
                for n in (1, 2):
                    if n == 1:
                        servers.pop().stop()  # the second replica must not dispatch
                    else:
                        backends[1] = start(1)
                        _batch(backends[1:], _circuit(2, 1), 2)  # warm its worker cache
                    loads.append(os.getloadavg()[0])
                    wall, span = _batch(backends[:n], circuit, args.jobs)
                    times[n].append(wall)
                    spans[n].append(span)
        print(
            f"{args.jobs} jobs x ({args.qubits} qubits, {args.layers} layers, 100 shots), "
            f"statevector, PostgreSQL, LocalCluster 2 workers, replicas with --workers 1, "
            f"{args.rounds} rounds, cpu_count {os.cpu_count()}"
        )
        for what, measured in (("to the last result", times), ("first start to last end", spans)):
            print(what)
            for label, n in (("1 replica ", 1), ("2 replicas", 2)):
                median = statistics.median(measured[n])
                rate, each = args.jobs / median, _fmt(measured[n])
                print(f"  {label} : median {median:7.2f} s   {rate:5.2f} jobs/s   {each}")
            one, two = statistics.median(measured[1]), statistics.median(measured[2])
            print(f"  throughput : {one / two:.2f}x with the second replica")
        print(f"load average (1 min) at each batch start: {_fmt(loads)}")
    finally:
        for server in servers:
            server.stop()
        postgres.stop()


if __name__ == "__main__":
    main()
