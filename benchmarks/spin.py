"""How long Aer's idle OpenMP threads spin (``GOMP_SPINCOUNT`` in the workers), alone and under
load: one ``openqx serve --workers 2`` per spin count, side by side, each case run on each
server in turn, round after round (the order turned each round), so that the machine's drift
weighs on all alike.

Cases (the ideal simulator, transpiled once):
- ``lone``: a 20-qubit statevector job (the latency benchmark's heavy job), one at a time;
  also Aer's own time in the worker (the result's ``time_taken``);
- ``reader``: the same job while another client reads the server in a loop
  (``backend.jobs(limit=5)`` and a job's ``status()``), as a dashboard or a script would;
- ``burst``: ``--burst`` 16-qubit jobs submitted at once, waited for together (two workers,
  so two simulations share the two cores).

Prints the median of each case per spin count and its ratio to the first count's.

    python benchmarks/spin.py [--counts 3000 300000] [--rounds 3] [--jobs 8] [--burst 30]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qiskit import transpile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.servers import TOKEN, bench_data_dir, start_server  # noqa: E402
from tests.e2e.circuits import statevector_circuit  # noqa: E402

HEAVY_SHOTS = 1000
BURST_SHOTS = 100


@contextlib.contextmanager
def reading(provider: Any, job: Any) -> Iterator[None]:
    """Another client reading the server in a loop while the block runs."""
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            provider.backend.jobs(limit=5)
            job.status()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        stop.set()
        reader.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[3000, 300000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=8, help="heavy jobs per case and round")
    parser.add_argument("--burst", type=int, default=30, help="16-qubit jobs in a burst")
    args = parser.parse_args()

    from openqx.client import OpenQX

    warnings.filterwarnings("ignore")
    with contextlib.ExitStack() as stack:
        servers = []
        for count in args.counts:
            folder = stack.enter_context(bench_data_dir())
            server = start_server(
                folder, env={"GOMP_SPINCOUNT": str(count)}, args=["--workers", "2"]
            )
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_answering()
        providers = [OpenQX.enable_account(TOKEN, url=s.url) for s in servers]
        # A second client per server, as another user would be (its own connection).
        readers = [OpenQX.enable_account(TOKEN, url=s.url) for s in servers]
        backends = [p.get_backend("ibmq_qasm_simulator") for p in providers]
        heavy = transpile(statevector_circuit(20), backends[0], seed_transpiler=1)
        small = transpile(statevector_circuit(16, layers=6), backends[0], seed_transpiler=1)
        for backend in backends:  # workers started, simulators built
            backend.run(heavy, shots=HEAVY_SHOTS).result(timeout=600)
            backend.run(small, shots=BURST_SHOTS).result(timeout=600)

        times: dict[str, list[list[float]]] = {
            case: [[] for _ in servers] for case in ("lone", "aer", "reader", "burst")
        }

        def heavy_jobs(k: int) -> list[tuple[float, float]]:
            """``--jobs`` heavy jobs on server ``k``, one at a time: each one's latency and
            Aer's own time, in seconds."""
            samples = []
            for _ in range(args.jobs):
                start = time.perf_counter()
                result = backends[k].run(heavy, shots=HEAVY_SHOTS).result(timeout=600)
                samples.append((time.perf_counter() - start, result.time_taken))
            return samples

        for round_ in range(args.rounds):
            order = list(range(len(servers)))
            if round_ % 2:
                order.reverse()
            for k in order:
                for seconds, simulated in heavy_jobs(k):
                    times["lone"][k].append(seconds)
                    times["aer"][k].append(simulated)
                watched = backends[k].run(small, shots=BURST_SHOTS)
                watched.result(timeout=600)
                with reading(readers[k], readers[k].backend.retrieve_job(watched.job_id())):
                    times["reader"][k] += [seconds for seconds, _ in heavy_jobs(k)]
                start = time.perf_counter()
                jobs = [backends[k].run(small, shots=BURST_SHOTS) for _ in range(args.burst)]
                for job in jobs:
                    job.result(timeout=600)
                times["burst"][k].append(time.perf_counter() - start)
            print(f"round {round_ + 1} of {args.rounds} done", file=sys.stderr)

    labels = {
        "lone": "20-qubit job alone",
        "aer": "  Aer's own time in it",
        "reader": "20-qubit job, a client reading",
        "burst": f"{args.burst} 16-qubit jobs at once",
    }
    header = "".join(f"{f'GOMP_SPINCOUNT={c}':>24}" for c in args.counts)
    print(f"{'case':34}{header}")
    for case, label in labels.items():
        medians = [1000 * statistics.median(samples) for samples in times[case]]
        cells = "".join(
            f"{m:>14.1f} ms{m / medians[0]:>6.2f}x" if i else f"{m:>14.1f} ms{'':7}"
            for i, m in enumerate(medians)
        )
        print(f"{label:34}{cells}")


if __name__ == "__main__":
    main()
