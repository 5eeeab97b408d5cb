"""End-to-end submit→result latency through openqx vs direct in-process Aer, same run.

GHZ-5 with ``measure_all``, 1024 shots, on an ideal simulator and on ``fake_manila``.
openqx runs a real embedded server (uvicorn on loopback, SQLite, the default local executor
with one worker process); Aer runs in this process with its simulators prebuilt.

    python benchmarks/latency.py [--repeats 30] [--executor local|inline]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from qiskit import QuantumCircuit, transpile

from openqx.client.backend import OpenQXBackend

if TYPE_CHECKING:
    from qiskit_aer import AerSimulator


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def timed(fn: Callable[[], object], repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {1000 * statistics.median(samples):8.1f} ms   p95 {1000 * p95:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--executor", default="local", choices=["local", "inline"])
    args = parser.parse_args()

    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from openqx.client import OpenQX
    from openqx.embedded import EmbeddedServer

    circuit = ghz(5)
    ideal_aer = AerSimulator()
    noisy_aer = AerSimulator.from_backend(FakeManilaV2())
    ideal_isa = transpile(circuit, ideal_aer)
    noisy_isa = transpile(circuit, noisy_aer, seed_transpiler=1)

    server = EmbeddedServer(executor=args.executor, workers=1).start()
    provider = OpenQX.enable_account(server.token, url=server.url)
    rows = []
    for label, backend_name, aer, isa in (
        ("ideal", "ibmq_qasm_simulator", ideal_aer, ideal_isa),
        ("fake_manila", "fake_manila", noisy_aer, noisy_isa),
    ):
        backend = provider.get_backend(backend_name)
        openqx_isa = transpile(circuit, backend, seed_transpiler=1)

        def run_direct(aer: AerSimulator = aer, isa: QuantumCircuit = isa) -> object:
            return aer.run(isa, shots=1024).result()

        def run_openqx(b: OpenQXBackend = backend, c: QuantumCircuit = openqx_isa) -> object:
            return b.run(c, shots=1024).result(timeout=120)

        direct = timed(run_direct, args.repeats)
        service = timed(run_openqx, args.repeats)
        ratio = statistics.median(service) / statistics.median(direct)
        rows.append((label, direct, service, ratio))

    print(f"GHZ-5, 1024 shots, {args.repeats} repeats, openqx executor={args.executor}")
    for label, direct, service, ratio in rows:
        print(f"{label:12s} direct Aer : {describe(direct)}")
        print(f"{label:12s} openqx     : {describe(service)}   ratio {ratio:5.2f}x")
    server.stop()


if __name__ == "__main__":
    main()
