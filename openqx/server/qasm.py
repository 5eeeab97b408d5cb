"""OpenQASM 2 and 3 source → circuits, for clients without Qiskit (``POST /v1/jobs``).

OpenQASM 3 goes through ``qiskit.qasm3.loads`` (which needs the ``qiskit_qasm3_import``
package, a dependency of openqx), OpenQASM 2 through ``qiskit.qasm2.loads``. Any error is an
``InvalidInputError`` naming the circuit's index and, when the parser reports one, the line
and column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qiskit import QuantumCircuit

from openqx.core import errors

__all__ = ["circuits_from_qasm"]

_POSITION = re.compile(r"^(?:<input>:)?(?:L)?(\d+)[,:](?:C)?(\d+):\s*(.*)$", re.DOTALL)


def circuits_from_qasm(sources: Sequence[str], version: int) -> list[QuantumCircuit]:
    """Parse one program per circuit; circuits are named ``circuit-<index>`` unless named.

    Raises:
        InvalidInputError: a program does not parse ("OpenQASM 3 circuit 1, line 4, column 0:
            ...").
    """
    circuits = []
    for index, source in enumerate(sources):
        if not source.strip():
            raise errors.InvalidInputError(f"OpenQASM {version} circuit {index} is empty.")
        try:
            circuit = _load(source, version)
        except Exception as exc:  # each parser raises its own classes
            raise errors.InvalidInputError(
                f"OpenQASM {version} circuit {index}{_located(exc)}"
            ) from exc
        if circuit.name.startswith("circuit-"):
            circuit.name = f"circuit-{index}"
        circuits.append(circuit)
    return circuits


def _load(source: str, version: int) -> QuantumCircuit:
    if version == 2:
        from qiskit import qasm2

        return qasm2.loads(source, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    from qiskit import qasm3

    return qasm3.loads(source)


def _located(exc: BaseException) -> str:
    """``", line L, column C: message"`` from the parser's error, or ``": message"``."""
    message = str(exc).strip().strip('"')
    match = _POSITION.match(message)
    if match:
        return f", line {match[1]}, column {match[2]}: {match[3]}"
    # openqasm3's parser bails with an empty message; the ANTLR exception holds the token.
    cause: BaseException | None = exc
    while cause is not None:
        for candidate in (cause, *getattr(cause, "args", ())):
            token = getattr(candidate, "offendingToken", None)
            if token is not None:
                text = getattr(token, "text", "")
                return f", line {token.line}, column {token.column}: syntax error at {text!r}"
        cause = cause.__cause__ or cause.__context__
    return f": {message or type(exc).__name__}"
