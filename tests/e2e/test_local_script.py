"""`OpenQX.local()` in a plain script: called at top level, without
``if __name__ == "__main__":``, it runs the job on worker processes and exits cleanly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    from qiskit import QuantumCircuit, transpile

    from openqx import OpenQX

    print("script started", flush=True)
    provider = OpenQX.local(workers=2)
    backend = provider.get_backend("fake_manila")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    jobs = [
        backend.run(transpile(circuit, backend, seed_transpiler=1), shots=300)
        for _ in range(2)
    ]
    for job in jobs:
        counts = job.result(timeout=120).get_counts()
        print("counts", sum(counts.values()), sorted(counts), flush=True)

    # A payload above the server's in-process decoding threshold (64 KiB of QPY).
    from openqx.core.circuit_payload import dump_circuits

    simulator = provider.get_backend("ibmq_qasm_simulator")
    wide = QuantumCircuit(5)
    for layer in range(12):
        for qubit in range(5):
            wide.rx(0.1 * (layer + qubit + 1), qubit)
        for qubit in range(4):
            wide.cx(qubit, qubit + 1)
    wide.measure_all()
    batch = [wide.copy(name=f"c{index}") for index in range(200)]
    print("payload bytes", len(dump_circuits(batch)), flush=True)
    result = simulator.run(batch, shots=10).result(timeout=240)
    print("batch", len(result.results), flush=True)
    """
)


def test_a_script_without_a_main_guard_runs_its_jobs_and_exits_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "experiment.py"
    script.write_text(SCRIPT)

    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "worker_died" not in done.stdout + done.stderr
    assert done.stdout.count("script started") == 1  # the workers did not run it again
    lines = [line for line in done.stdout.splitlines() if line.startswith("counts")]
    assert len(lines) == 2
    for line in lines:
        assert line.startswith("counts 300 ["), line  # 300 shots, mostly '00' and '11'
        assert "'00'" in line and "'11'" in line
    size = next(line for line in done.stdout.splitlines() if line.startswith("payload bytes"))
    assert int(size.split()[-1]) > 64 * 1024, size  # decoded without a decoder process
    assert "batch 200" in done.stdout
