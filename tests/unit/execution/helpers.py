from __future__ import annotations

import io

from qiskit import QuantumCircuit, qpy

from openqx.execution.port import ExecutionRequest

__all__ = ["ghz", "qpy_bytes", "request"]


def ghz(n: int, name: str = "ghz") -> QuantumCircuit:
    qc = QuantumCircuit(n, name=name)
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure_all()
    return qc


def qpy_bytes(circuits: list[QuantumCircuit]) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(circuits, buffer)
    return buffer.getvalue()


def request(
    backend: str,
    circuits: list[QuantumCircuit],
    shots: int = 1000,
    job_id: str = "job1",
    **kw: object,
) -> ExecutionRequest:
    return ExecutionRequest(
        job_id=job_id,
        kind="circuits",
        backend=backend,
        snapshot_id=None,
        payload=qpy_bytes(circuits),
        shots=shots,
        **kw,  # type: ignore[arg-type]
    )
