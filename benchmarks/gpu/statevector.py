"""Statevector jobs on the GPU: openqx's worker path (``runner.run_request``, the code a Dask
GPU worker runs for a job with ``device="GPU"``) against Aer's GPU simulator called directly
in the same process, and Aer on the CPU, for brick circuits of growing width
(``tests.e2e.circuits.statevector_circuit``, 1,000 shots), medians of ``--repeats`` runs after
one untimed run of each.

    python benchmarks/gpu/statevector.py [--qubits 20 24 28] [--cpu-up-to 24] [--repeats 3]

Run it on a GPU machine through ``benchmarks/gpu/check.sh``; without a GPU it says so and stops.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from qiskit import QuantumCircuit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.primitives import median_seconds  # noqa: E402
from openqx.execution import runner  # noqa: E402
from openqx.execution.aer_device import available_aer_devices, gpu_problem  # noqa: E402
from tests.e2e.circuits import statevector_circuit  # noqa: E402
from tests.unit.execution.helpers import request  # noqa: E402

SHOTS = 1000


def _direct(simulator: Any, circuit: QuantumCircuit) -> object:
    return simulator.run(circuit, shots=SHOTS).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[20, 24, 28])
    parser.add_argument("--cpu-up-to", type=int, default=24, help="widest circuit run on the CPU")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if "GPU" not in available_aer_devices():
        print(f"no GPU for Aer here: {gpu_problem()}")
        return
    from qiskit_aer import AerSimulator

    gpu = AerSimulator(method="statevector", device="GPU")
    cpu = AerSimulator(method="statevector", device="CPU")
    options = {"device": "GPU", "method": "statevector"}
    print(
        f"{'qubits':>6} {'openqx GPU':>12} {'direct GPU':>12} {'ratio':>7} "
        f"{'direct CPU':>12} {'GPU speed-up':>13}"
    )
    for n in args.qubits:
        circuit = statevector_circuit(n)
        job = request("simulator_statevector", [circuit], shots=SHOTS, options=options)
        ours = 1000 * median_seconds(functools.partial(runner.run_request, job), args.repeats)
        direct = 1000 * median_seconds(functools.partial(_direct, gpu, circuit), args.repeats)
        line = f"{n:>6} {ours:>10.1f}ms {direct:>10.1f}ms {ours / direct:>6.3f}x"
        if n <= args.cpu_up_to:
            on_cpu = 1000 * median_seconds(functools.partial(_direct, cpu, circuit), args.repeats)
            line += f" {on_cpu:>10.1f}ms {on_cpu / direct:>12.1f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
