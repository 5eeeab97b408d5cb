"""A/B of two builds of openqx: two ``openqx serve`` processes side by side, one per source tree,
jobs sent to them in turn (and to in-process Aer before each pair), so that the machine's
speed, which drifts by tens of percent within minutes on a shared 2-core machine, weighs on
both builds alike; each timed job follows an untimed one on the same server
(``latency.timed_pair`` says why). Prints each build's median latency, the median of the
paired differences (B − A), each server's CPU time per job, and Aer's own time as its worker
reports it (the result's ``time_taken``), which the server's and client's work leave out, beside
in-process Aer's own.

Make the trees with ``git worktree add /tmp/base <commit>``; both servers run this checkout's
Python environment with their own tree first on ``sys.path`` (``PYTHONPATH``, with
``PYTHONSAFEPATH`` so that the working directory, which ``python -m`` would put first, does not
shadow it; each side is checked to import ``openqx`` from its tree before any job).

    python benchmarks/ab_servers.py TREE_A TREE_B [--jobs 200] [--heavy]
                                    [--env-a NAME=VALUE ...] [--env-b NAME=VALUE ...]
                                    [--args-a "FLAGS"] [--args-b "FLAGS"]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from qiskit import transpile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.servers import TOKEN, bench_data_dir, start_server  # noqa: E402
from tests.e2e.circuits import ghz, statevector_circuit  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_environment(tree: Path) -> dict[str, str]:
    """The variables that make a Python process import ``openqx`` from ``tree``; raises
    ``SystemExit`` when a process started with them does not."""
    env = {"PYTHONPATH": str(tree.resolve()), "PYTHONSAFEPATH": "1"}
    found = subprocess.run(
        [sys.executable, "-c", "import openqx; print(openqx.__file__)"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree}: a server would import openqx from {found}")
    return env


def variables(pairs: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` arguments as a mapping."""
    return dict(pair.split("=", 1) for pair in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tree_a", type=Path)
    parser.add_argument("tree_b", type=Path)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--heavy", action="store_true", help="the 20-qubit statevector job")
    parser.add_argument("--env-a", nargs="*", default=[])
    parser.add_argument("--env-b", nargs="*", default=[])
    parser.add_argument("--args-a", default="", help="extra `openqx serve` flags, one string")
    parser.add_argument("--args-b", default="", help="extra `openqx serve` flags, one string")
    args = parser.parse_args()

    from qiskit_aer import AerSimulator

    from openqx.client import OpenQX

    warnings.filterwarnings("ignore")
    with contextlib.ExitStack() as stack:
        servers = []
        sides = ((args.tree_a, args.env_a, args.args_a), (args.tree_b, args.env_b, args.args_b))
        for tree, extra, flags in sides:
            env = {**tree_environment(tree), **variables(extra)}
            folder = stack.enter_context(bench_data_dir())
            server = start_server(folder, env=env, args=shlex.split(flags))
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_answering()
        backends = [
            OpenQX.enable_account(TOKEN, url=s.url).get_backend("ibmq_qasm_simulator")
            for s in servers
        ]
        circuit = statevector_circuit(20) if args.heavy else ghz(5)
        isa = transpile(circuit, backends[0], seed_transpiler=1)
        shots = 1000 if args.heavy else 1024
        aer = AerSimulator()
        for backend in backends:
            for _ in range(5):
                backend.run(isa, shots=shots).result()
        before = [cpu_seconds(s.process.pid) for s in servers]
        samples: tuple[list[float], list[float], list[float]] = ([], [], [])
        simulated: tuple[list[float], list[float], list[float]] = ([], [], [])  # Aer's own time
        for i in range(args.jobs):
            start = time.perf_counter()
            direct_result = aer.run(isa, shots=shots).result()
            samples[2].append(time.perf_counter() - start)
            simulated[2].append(direct_result.time_taken)
            for k in (0, 1) if i % 2 == 0 else (1, 0):
                backends[k].run(isa, shots=shots).result(timeout=600)  # see latency.timed_pair
                start = time.perf_counter()
                result = backends[k].run(isa, shots=shots).result(timeout=600)
                samples[k].append(time.perf_counter() - start)
                simulated[k].append(result.time_taken)
        after = [cpu_seconds(s.process.pid) for s in servers]
    a, b, direct = (1000 * statistics.median(s) for s in samples)
    paired = 1000 * statistics.median(y - x for x, y in zip(samples[0], samples[1], strict=True))
    aer_a, aer_b, aer_direct = (1000 * statistics.median(s) for s in simulated)
    aer_paired = 1000 * statistics.median(
        y - x for x, y in zip(simulated[0], simulated[1], strict=True)
    )
    spent = [end - begin for begin, end in zip(before, after, strict=True)]
    cpu_a, cpu_b = (1000 * seconds / (2 * args.jobs) for seconds in spent)  # with lead-ins
    print(
        f"{'heavy' if args.heavy else 'GHZ-5'}, {args.jobs} jobs each: A {a:.2f} ms, B {b:.2f} ms "
        f"(direct Aer {direct:.2f} ms); paired B - A {paired:+.2f} ms; server CPU per job "
        f"A {cpu_a:.2f} ms, B {cpu_b:.2f} ms; Aer's own time in the worker A {aer_a:.2f} ms, "
        f"B {aer_b:.2f} ms, paired B - A {aer_paired:+.2f} ms; in-process Aer's own time "
        f"{aer_direct:.2f} ms"
    )


if __name__ == "__main__":
    main()
