"""Circuit helpers for the runner: QPY decoding, parameter binds, active qubits."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from openqx.core import circuit_payload
from openqx.core.parameter_binds import check_parameter_binds
from openqx.execution.port import ExecutionError

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

__all__ = ["active_qubits", "bind_parameters", "load_qpy"]


def load_qpy(payload: bytes) -> list[QuantumCircuit]:
    """Decode a QPY payload into circuits.

    Raises:
        ExecutionError: the payload is not valid QPY or holds no circuits.
    """
    try:
        return circuit_payload.load_circuits(payload, source="the job's QPY payload")
    except ValueError as exc:
        raise ExecutionError(str(exc), "bad_payload") from exc


def bind_parameters(
    circuits: Sequence[QuantumCircuit], binds: Sequence[Mapping[str, Any]] | None
) -> list[QuantumCircuit]:
    """Return the experiments to run: each circuit bound with each bind, circuit-major.

    With ``n`` binds, ``m`` circuits give ``m × n`` experiments, the ``j``-th bind of circuit
    ``c`` named ``"<c.name>-bind<j>"``. Without binds the circuits are returned unchanged.

    Raises:
        ExecutionError: the binds do not fit the circuits (``check_parameter_binds``), e.g. a
            circuit keeps unbound parameters.
    """
    try:
        check_parameter_binds(circuits, list(binds) if binds else None)
    except ValueError as exc:
        raise ExecutionError(str(exc), "unbound_parameters") from exc
    if not binds:
        return list(circuits)
    experiments = []
    for circuit in circuits:
        for j, bind in enumerate(binds):
            values = {p: float(bind[p.name]) for p in circuit.parameters}
            bound = circuit.assign_parameters(values, inplace=False) if values else circuit.copy()
            bound.name = f"{circuit.name}-bind{j}"
            experiments.append(bound)
    return experiments


def active_qubits(
    circuits: Iterable[QuantumCircuit], *, beyond: int | None = None
) -> frozenset[int]:
    """Return the indices of qubits touched by any non-barrier instruction (control flow too).

    ``beyond``: for a caller that only asks whether more than ``beyond`` qubits are active
    (``aer_cache.threads_for_circuits``): the walk stops as soon as they are, and the set returned
    then holds the first ``beyond + 1`` found (a 300-gate, 20-qubit circuit: 0.33 ms walked
    whole, a few microseconds stopped early).
    """
    active: set[int] = set()
    most = math.inf if beyond is None else beyond
    for circuit in circuits:
        if _collect(circuit, list(range(circuit.num_qubits)), active, most):
            break
    return frozenset(active)


def _collect(block: QuantumCircuit, physical: Sequence[int], active: set[int], most: float) -> bool:
    """Add the qubits ``block`` touches to ``active``; True once ``active`` holds more than
    ``most`` (the walk stops there)."""
    index = {bit: physical[i] for i, bit in enumerate(block.qubits)}
    for instruction in block.data:
        if instruction.name == "barrier":
            continue
        qargs = [index[q] for q in instruction.qubits]
        if instruction.is_control_flow():
            for inner in instruction.operation.blocks:
                if _collect(inner, qargs, active, most):
                    return True
        else:
            active.update(qargs)
            if len(active) > most:
                return True
    return False
