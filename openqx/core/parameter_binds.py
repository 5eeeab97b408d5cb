"""Parameter binds: ``[{parameter name: value}, ...]``; each circuit runs once per bind.

The rule is the seed's (qiskit ``assemble``): every bind names exactly the parameters of
every circuit, and every value is a number. The client checks it before sending, the server
on receipt and the runner before binding, all through ``check_parameter_binds``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qiskit.circuit import QuantumCircuit

__all__ = ["check_parameter_binds"]


def check_parameter_binds(circuits: Sequence[QuantumCircuit], binds: object) -> int:
    """Check parameter binds in their wire form against the circuits.

    Args:
        circuits: the circuits the binds apply to.
        binds: ``None`` (no binds: the circuits must have no parameters) or a non-empty
            list of ``{parameter name: number}``, each naming every parameter of each circuit.

    Returns:
        How many experiments each circuit gives: the number of binds, 1 without binds.

    Raises:
        ValueError: a circuit has unbound parameters, the binds are not a non-empty list of
            mappings, a value is not a finite number (NaN, infinities and integers too large
            for a float are refused, naming the parameter), or a bind's names differ from a
            circuit's parameters.
    """
    if binds is None:
        for circuit in circuits:
            if circuit.parameters:
                names = ", ".join(sorted(p.name for p in circuit.parameters))
                raise ValueError(
                    f"Circuit {circuit.name!r} has unbound parameters ({names}); "
                    "pass parameter_binds or bind them before running."
                )
        return 1
    if not isinstance(binds, list) or not binds or not all(isinstance(b, dict) for b in binds):
        raise ValueError(
            "parameter_binds must be a non-empty list of {parameter name: value} mappings."
        )
    for bind in binds:
        for name, value in bind.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(
                    f"parameter_binds value for {name!r} must be a number, not {value!r}."
                )
            if not _finite(value):
                shown = value if isinstance(value, float) else "an integer too large for a float"
                raise ValueError(
                    f"parameter_binds value for {name!r} must be a finite number, not {shown}."
                )
    for circuit in circuits:
        wanted = {p.name for p in circuit.parameters}
        for bind in binds:
            if set(bind) != wanted:
                raise ValueError(
                    "Mismatch between parameter_binds and the parameters of circuit "
                    f"{circuit.name!r}: binds name {sorted(bind)}, circuit has {sorted(wanted)}."
                )
    return len(binds)


def _finite(value: int | float) -> bool:
    """Whether ``value`` is a finite float or an int that converts to one."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
