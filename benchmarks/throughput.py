"""Many small noisy jobs submitted at once through openqx vs a loop of direct Aer calls.

The throughput row of issue 14: ``--jobs`` small circuits (GHZ on 2 to 5 qubits, 100 shots) on
``fake_manila``. openqx runs a real embedded server (uvicorn on loopback, SQLite, the local
executor with its default workers); ``--clients`` threads submit every job, then every result
is fetched; the time is from the first submission to the last result. The direct alternative
is a loop of one ``AerSimulator.from_backend(FakeManilaV2())`` call per circuit (simulator
prebuilt), in this process.

    python benchmarks/throughput.py [--jobs 200] [--clients 4] [--workers N]
"""

from __future__ import annotations

import argparse
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from qiskit import QuantumCircuit, transpile


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--executor", default="local", choices=["local", "inline"])
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from openqx.client import OpenQX
    from openqx.embedded import EmbeddedServer

    warnings.filterwarnings("ignore")
    manila = FakeManilaV2()
    aer = AerSimulator.from_backend(manila)
    circuits = [ghz(2 + i % 4) for i in range(args.jobs)]
    direct_isa = [transpile(c, manila, seed_transpiler=1) for c in circuits[:4]]

    aer.run(direct_isa[0], shots=args.shots).result()
    start = time.perf_counter()
    for i in range(args.jobs):
        aer.run(direct_isa[i % 4], shots=args.shots).result()
    direct_s = time.perf_counter() - start

    # The default per-user limit of active jobs on a device (5) would refuse the burst.
    server = EmbeddedServer(
        executor=args.executor, workers=args.workers, job_limits={"fake_manila": args.jobs + 1}
    ).start()
    try:
        provider = OpenQX.enable_account(server.token, url=server.url)
        backend = provider.get_backend("fake_manila")
        isa = [transpile(c, backend, seed_transpiler=1) for c in circuits[:4]]
        backend.run(isa[0], shots=args.shots).result(timeout=600)

        def submit(i: int) -> Any:
            return backend.run(isa[i % 4], shots=args.shots)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            jobs = list(pool.map(submit, range(args.jobs)))
        submitted_s = time.perf_counter() - start
        for job in jobs:
            job.result(timeout=3600)
        openqx_s = time.perf_counter() - start
    finally:
        server.stop()

    print(
        f"{args.jobs} small noisy jobs (GHZ 2-5 q, {args.shots} shots) on fake_manila, "
        f"openqx executor={args.executor} workers={args.workers or 'default'}, "
        f"{args.clients} submitting threads"
    )
    print(f"{'case':<44}{'direct loop':>14}{'openqx':>12}{'speed-up':>10}  goal")
    print(
        f"{f'{args.jobs} jobs submitted at once vs direct loop':<44}{direct_s:>12.2f} s"
        f"{openqx_s:>10.2f} s{direct_s / openqx_s:>9.2f}x  >= 20x (1,000 jobs)"
    )
    print(f"(all {args.jobs} submissions took {submitted_s:.2f} s)")


if __name__ == "__main__":
    main()
