"""Circuit helpers for the runner: QPY decoding, parameter binds, active qubits."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from openqx.execution.port import ExecutionError

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

__all__ = ["active_qubits", "bind_parameters", "load_qpy"]


def load_qpy(payload: bytes) -> list[QuantumCircuit]:
    """Decode a QPY payload into circuits.

    Raises:
        ExecutionError: the payload is not valid QPY or holds no circuits.
    """
    from qiskit import qpy
    from qiskit.circuit import QuantumCircuit

    try:
        loaded = qpy.load(io.BytesIO(payload))
    except Exception as exc:
        raise ExecutionError(
            f"could not decode the job's QPY payload: {exc}", "bad_payload"
        ) from exc
    circuits = [c for c in loaded if isinstance(c, QuantumCircuit)]
    if not circuits:
        raise ExecutionError("the job's QPY payload holds no circuits", "bad_payload")
    return circuits


def bind_parameters(
    circuits: Sequence[QuantumCircuit], binds: Sequence[Mapping[str, Any]] | None
) -> list[QuantumCircuit]:
    """Return the experiments to run: each circuit bound with each bind, circuit-major.

    With ``n`` binds, ``m`` circuits give ``m × n`` experiments, the ``j``-th bind of circuit
    ``c`` named ``"<c.name>-bind<j>"``. Without binds the circuits are returned unchanged.

    Raises:
        ExecutionError: a bind misses a parameter of a circuit, or a circuit keeps unbound
            parameters.
    """
    if not binds:
        for circuit in circuits:
            if circuit.parameters:
                names = ", ".join(sorted(p.name for p in circuit.parameters))
                raise ExecutionError(
                    f"circuit {circuit.name!r} has unbound parameters ({names}); "
                    "pass parameter_binds",
                    "unbound_parameters",
                )
        return list(circuits)
    experiments = []
    for circuit in circuits:
        for j, bind in enumerate(binds):
            missing = [p.name for p in circuit.parameters if p.name not in bind]
            if missing:
                raise ExecutionError(
                    f"parameter_binds[{j}] has no value for parameter(s) "
                    f"{', '.join(sorted(missing))} of circuit {circuit.name!r}",
                    "unbound_parameters",
                )
            values = {p: float(bind[p.name]) for p in circuit.parameters}
            bound = circuit.assign_parameters(values, inplace=False) if values else circuit.copy()
            bound.name = f"{circuit.name}-bind{j}"
            experiments.append(bound)
    return experiments


def active_qubits(circuits: Iterable[QuantumCircuit]) -> frozenset[int]:
    """Return the indices of qubits touched by any non-barrier instruction (control flow too)."""
    active: set[int] = set()
    for circuit in circuits:
        _collect(circuit, list(range(circuit.num_qubits)), active)
    return frozenset(active)


def _collect(block: QuantumCircuit, physical: Sequence[int], active: set[int]) -> None:
    index = {bit: physical[i] for i, bit in enumerate(block.qubits)}
    for instruction in block.data:
        if instruction.name == "barrier":
            continue
        qargs = [index[q] for q in instruction.qubits]
        if instruction.is_control_flow():
            for inner in instruction.operation.blocks:
                _collect(inner, qargs, active)
        else:
            active.update(qargs)
