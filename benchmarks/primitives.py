"""openqx's server-side SamplerV2/EstimatorV2 vs qiskit-ibm-runtime's local mode, same run.

The same PUBs on ``FakeManilaV2`` (5 qubits) and on a 127-qubit device (``FakeSherbrooke``):

- sampler: a GHZ-5 ISA circuit with ``measure_all``, 2,000 shots;
- estimator: GHZ-5 without measurements, observables ZZ on each neighbouring pair and XXXXX,
  precision 0.02 (2,500 shots per Pauli string); openqx at resilience level 0 (what local
  mode does) and 1 (readout mitigation, reported beside it).

openqx runs a real embedded server (uvicorn on loopback, SQLite, the local executor with one
worker process): each sample is submit → result over HTTP. qiskit-ibm-runtime's
``SamplerV2(mode=fake_backend)`` / ``EstimatorV2(mode=fake_backend)`` run Aer in this
process. Times are medians of ``--repeats`` after one warm-up run each.

    python benchmarks/primitives.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import SparsePauliOp


def ghz(n: int, measured: bool) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    if measured:
        circuit.measure_all()
    return circuit


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def observables(n: int) -> list[SparsePauliOp]:
    pairs = ["I" * (n - q - 2) + "ZZ" + "I" * q for q in range(n - 1)]
    return [SparsePauliOp(p) for p in pairs] + [SparsePauliOp("X" * n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # qiskit-ibm-runtime 0.50 deprecates its V2 primitive classes (still what users call)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"benchmarks|__main__")

    from qiskit_ibm_runtime import EstimatorV2 as RuntimeEstimator
    from qiskit_ibm_runtime import SamplerV2 as RuntimeSampler
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeSherbrooke

    from openqx.client import EstimatorV2, OpenQX, SamplerV2
    from openqx.embedded import EmbeddedServer

    server = EmbeddedServer(executor="local", workers=1).start()
    try:
        provider = OpenQX.enable_account(server.token, url=server.url)
        print(f"GHZ-5 PUBs, median of {args.repeats} after 1 warm-up")
        print(f"{'device':<16}{'primitive':<22}{'runtime local':>14}{'openqx':>10}{'ratio':>8}")
        for fake, name in ((FakeManilaV2(), "fake_manila"), (FakeSherbrooke(), "fake_sherbrooke")):
            backend = provider.get_backend(name)
            sampled = transpile(ghz(5, True), backend=fake, seed_transpiler=1)
            estimated = transpile(ghz(5, False), backend=fake, seed_transpiler=1)
            mapped = [o.apply_layout(estimated.layout) for o in observables(5)]
            sampler_pub: Any = (sampled,)
            estimator_pub: Any = (estimated, mapped)

            def local_sampler(f: Any = fake, pub: Any = sampler_pub) -> object:
                return RuntimeSampler(mode=f).run([pub], shots=2000).result()

            def our_sampler(b: Any = backend, pub: Any = sampler_pub) -> object:
                return SamplerV2(mode=b).run([pub], shots=2000).result()

            def local_estimator(f: Any = fake, pub: Any = estimator_pub) -> object:
                return RuntimeEstimator(mode=f).run([pub], precision=0.02).result()

            def our_estimator(level: int, b: Any = backend, pub: Any = estimator_pub) -> object:
                estimator = EstimatorV2(mode=b, options={"resilience_level": level})
                return estimator.run([pub], precision=0.02).result()

            cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
                ("sampler 2000 shots", local_sampler, our_sampler),
                ("estimator level 0", local_estimator, functools.partial(our_estimator, 0)),
                ("estimator level 1", local_estimator, functools.partial(our_estimator, 1)),
            ]
            for label, local, ours in cases:
                local_s = median_seconds(local, args.repeats)
                ours_s = median_seconds(ours, args.repeats)
                print(
                    f"{name:<16}{label:<22}{local_s:>12.3f} s{ours_s:>8.3f} s"
                    f"{ours_s / local_s:>7.2f}x"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
