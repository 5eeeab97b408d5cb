"""``openqx demo``: the main job on the embedded default (SQLite, local executor)."""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["demo", "ghz_circuit", "histogram"]

BAR_WIDTH = 40


def ghz_circuit(num_qubits: int) -> object:
    """A GHZ state on ``num_qubits`` qubits, measured."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(num_qubits, name=f"ghz{num_qubits}")
    circuit.h(0)
    for qubit in range(num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def histogram(counts: dict[str, int], *, top: int = 8) -> str:
    """A text histogram of the ``top`` most frequent outcomes."""
    total = sum(counts.values()) or 1
    rows = sorted(counts.items(), key=lambda item: -item[1])
    lines = []
    for outcome, count in rows[:top]:
        bar = "█" * max(1, round(BAR_WIDTH * count / total))
        lines.append(f"  {outcome}  {count:6d}  {100 * count / total:5.1f}%  {bar}")
    if len(rows) > top:
        rest = sum(c for _, c in rows[top:])
        lines.append(f"  ({len(rows) - top} other outcomes: {rest} shots)")
    return "\n".join(lines)


def demo(args: argparse.Namespace) -> int:
    """Start an embedded service, run GHZ on an ideal simulator and an emulated device."""
    if args.qubits < 1:
        return _usage(f"--qubits must be 1 or more, not {args.qubits}.")
    if args.shots < 1:
        return _usage(f"--shots must be 1 or more, not {args.shots}.")
    problem = _device_problem(args.device, args.qubits)  # before the service starts (seconds)
    if problem:
        return _usage(problem)
    from qiskit import transpile

    from openqx.client.account import OpenQX
    from openqx.embedded import EmbeddedServer

    started = time.perf_counter()
    print("openqx demo: starting an embedded service (temporary SQLite, local executor)...")
    with EmbeddedServer(executor=args.executor) as server:  # stopped on any exit
        provider = OpenQX.enable_account(server.token, url=server.url)
        print(f"  service at {server.url} ({time.perf_counter() - started:.1f} s)")
        circuit = ghz_circuit(args.qubits)
        for name in ("ibmq_qasm_simulator", args.device):
            backend = provider.get_backend(name)
            job = backend.run(
                transpile(circuit, backend, seed_transpiler=7),
                shots=args.shots,
                job_name=f"demo-ghz{args.qubits}",
                job_tags=["demo"],
            )
            t0 = time.perf_counter()
            counts = job.result(timeout=300).get_counts(0)
            print(
                f"\n{name}: job {job.job_id()} {job.status().name} "
                f"({args.shots} shots, {time.perf_counter() - t0:.2f} s)"
            )
            print(histogram(counts))
        again = provider.backend.retrieve_job(job.job_id())
        print(f"\nretrieved job {again.job_id()} from the database: {again.status().name}")
    return 0


def _usage(message: str) -> int:
    """Print a bad argument as one line on stderr; return the usage exit status."""
    print(f"openqx demo: {message}", file=sys.stderr)
    return 2


def _device_problem(device: str, qubits: int) -> str | None:
    """What makes ``device`` unusable for a GHZ state on ``qubits`` qubits, or ``None``.

    The demo's embedded service serves the default catalog (no devices configuration), so
    the catalog answers without the service: only the named device is loaded.
    """
    from openqx.devices.catalog import default_catalog
    from openqx.devices.simulators import SIMULATOR_SPECS

    catalog = default_catalog()
    simulators = {spec.name for spec in SIMULATOR_SPECS}
    found = [name for name in catalog.names() if name not in simulators]
    if device not in found:
        return f"no device {device!r}; the devices are: {', '.join(found)}."
    width = catalog.get(device).num_qubits
    if qubits > width:
        return f"--qubits {qubits} does not fit {device}, which has {width} qubits."
    return None
