"""One job through openqx vs the direct alternative, every latency row of issue 14 in one run.

openqx runs a real server (uvicorn on loopback, SQLite, the local executor with its default
workers): embedded in this process (``--server embedded``, the default), or ``openqx serve`` in
a process of its own (``--server process``, as the issue measured: the client then does not
share the server's interpreter). Each sample is ``backend.run(...).result()`` over HTTP. The direct
alternative runs in this process with its simulator prebuilt. Rows:

- ideal simulator, GHZ-5, 1,024 shots, vs ``AerSimulator()``;
- ``fake_manila``, GHZ-5, 1,024 shots, vs ``AerSimulator.from_backend(FakeManilaV2())``;
- ``fake_manila`` vs qiskit-ibm-runtime local mode (``SamplerV2(mode=FakeManilaV2())``);
- ``fake_sherbrooke`` (127 q), GHZ-5, 1,024 shots, vs ``AerSimulator.from_backend``;
- ideal simulator, a 20-qubit statevector circuit, 1,000 shots, vs ``AerSimulator()``.

Both sides run the same ISA circuit (transpiled for the openqx backend), and their samples
alternate, so that a loaded machine weighs on both alike. Times are medians (and p95) of
``--repeats`` after two warm-up runs each; the slow rows use ``--heavy-repeats``. ``ratio`` is
the ratio of the two medians; ``paired`` the median of each sample's ratio to the direct
sample taken just before it, which the machine's speed drifting within a run moves less (the
heavy row's goal, +3 %, is smaller than that drift), and ``adds`` the median of those
differences in milliseconds.

    python benchmarks/latency.py [--repeats 20] [--executor local|inline] [--workers N]
                                 [--server embedded|process]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qiskit import QuantumCircuit, transpile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.servers import bench_data_dir, serve_process  # noqa: E402
from tests.e2e.circuits import ghz, statevector_circuit  # noqa: E402


def timed_pair(
    first: Callable[[], object], second: Callable[[], object], repeats: int, warmup: int = 2
) -> tuple[list[float], list[float]]:
    """Samples of both, interleaved, so that a loaded machine weighs on both alike, each
    timed right after an untimed call of its own kind.

    What ran just before a call moves its time more than the gap being measured. After each
    in-process Aer call on more than one thread, Aer's idle OpenMP threads spin for about 7 ms
    of CPU (libgomp's default ``GOMP_SPINCOUNT``), so an openqx job timed right after the
    direct call shares the two cores with them. A direct GHZ-5 call takes 1.7 ms in a loop of
    its own, but 5.4 ms after 11 ms of other work and 8.9 ms after a 20 ms pause and that work
    (medians of 60). Following its own untimed call, each side is timed as in a loop of its
    own, the conditions it is fastest in."""
    for _ in range(warmup):
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, into in ((first, samples[0]), (second, samples[1])):
            fn()  # untimed: the timed call follows one of its own kind
            start = time.perf_counter()
            fn()
            into.append(time.perf_counter() - start)
    return samples


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{1000 * statistics.median(samples):9.1f} ms (p95 {1000 * p95:8.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--heavy-repeats", type=int, default=9)
    parser.add_argument("--executor", default="local", choices=["local", "inline"])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--server", default="embedded", choices=["embedded", "process"])
    args = parser.parse_args()

    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime import SamplerV2 as RuntimeSampler
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeSherbrooke

    from openqx.client import OpenQX
    from openqx.embedded import EmbeddedServer

    warnings.filterwarnings("ignore")
    ghz5 = ghz(5)
    heavy = statevector_circuit(20)
    manila, sherbrooke = FakeManilaV2(), FakeSherbrooke()
    ideal_aer = AerSimulator()
    manila_aer = AerSimulator.from_backend(manila)
    sherbrooke_aer = AerSimulator.from_backend(sherbrooke)

    serving = contextlib.ExitStack()
    if args.server == "process":
        url, token = serving.enter_context(serve_process(workers=args.workers))
    else:
        folder = serving.enter_context(bench_data_dir())
        embedded = EmbeddedServer(executor=args.executor, workers=args.workers, data_dir=folder)
        url, token = serving.enter_context(_embedded(embedded))
    provider = OpenQX.enable_account(token, url=url)

    isa_circuits: dict[tuple[str, int], QuantumCircuit] = {}

    def isa_for(name: str, circuit: QuantumCircuit) -> QuantumCircuit:
        """One ISA circuit per (backend, circuit), sent to openqx and to Aer alike."""
        key = (name, id(circuit))
        if key not in isa_circuits:
            backend = provider.get_backend(name)
            isa_circuits[key] = transpile(circuit, backend, seed_transpiler=1)
        return isa_circuits[key]

    def aer_case(aer: Any, name: str, circuit: QuantumCircuit, shots: int) -> Callable[[], object]:
        isa = isa_for(name, circuit)
        return lambda: aer.run(isa, shots=shots).result()

    def openqx_case(name: str, circuit: QuantumCircuit, shots: int) -> Callable[[], object]:
        backend = provider.get_backend(name)
        isa = isa_for(name, circuit)
        return lambda: backend.run(isa, shots=shots).result(timeout=600)

    def local_mode() -> object:
        circuit = isa_for("fake_manila", ghz5)
        return RuntimeSampler(mode=manila).run([circuit], shots=1024).result()

    cases: list[tuple[str, str, Callable[[], object], Callable[[], object], int, str]] = [
        (
            "ideal simulator, one job",
            "direct Aer",
            aer_case(ideal_aer, "ibmq_qasm_simulator", ghz5, 1024),
            openqx_case("ibmq_qasm_simulator", ghz5, 1024),
            args.repeats,
            "<= 5x",
        ),
        (
            "fake_manila, one job",
            "direct Aer",
            aer_case(manila_aer, "fake_manila", ghz5, 1024),
            openqx_case("fake_manila", ghz5, 1024),
            args.repeats,
            "<= 0.5x",
        ),
        (
            "fake_manila vs runtime local",
            "local mode",
            local_mode,
            openqx_case("fake_manila", ghz5, 1024),
            args.heavy_repeats,
            "<= 0.15x",
        ),
        (
            "fake_sherbrooke (127 q), one job",
            "direct Aer",
            aer_case(sherbrooke_aer, "fake_sherbrooke", ghz5, 1024),
            openqx_case("fake_sherbrooke", ghz5, 1024),
            args.heavy_repeats,
            "<= 0.02x",
        ),
        (
            "20-qubit statevector, 1,000 shots",
            "direct Aer",
            aer_case(ideal_aer, "ibmq_qasm_simulator", heavy, 1000),
            openqx_case("ibmq_qasm_simulator", heavy, 1000),
            args.heavy_repeats,
            "<= 1.03x",
        ),
    ]
    print(
        f"openqx server={args.server} executor={args.executor} "
        f"workers={args.workers or 'default'}; "
        f"GHZ-5 at 1,024 shots unless named; load average {_load()} at the start"
    )
    print(
        f"{'case':<36}{'alternative':<12}{'alternative':>26}{'openqx':>26}{'ratio':>9}"
        f"{'paired':>9}{'adds':>11}  goal"
    )
    try:
        for label, alt_name, direct_fn, openqx_fn, repeats, goal in cases:
            direct, service = timed_pair(direct_fn, openqx_fn, repeats)
            ratio = statistics.median(service) / statistics.median(direct)
            paired = statistics.median(s / d for d, s in zip(direct, service, strict=True))
            adds = statistics.median(s - d for d, s in zip(direct, service, strict=True))
            print(
                f"{label:<36}{alt_name:<12}{describe(direct):>26}{describe(service):>26}"
                f"{ratio:>8.3f}x{paired:>8.3f}x{1000 * adds:>8.1f} ms  {goal}",
                flush=True,
            )
    finally:
        serving.close()
    print(f"load average {_load()} at the end")


@contextlib.contextmanager
def _embedded(server: Any) -> Iterator[tuple[str, str]]:
    """Start an ``EmbeddedServer``; yield its URL and admin token; stop it."""
    server.start()
    try:
        yield server.url, server.token
    finally:
        server.stop()


def _load() -> str:
    """The 1, 5 and 15 minute load averages: how much else ran beside the benchmark."""
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
