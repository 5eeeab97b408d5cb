"""Device time a job consumes: pure functions of its circuits, the target's instruction
durations and the repetition options.

IBM devices run a job column-wise (shot 0 of every circuit, then shot 1, ...); each circuit
takes its schedule duration and is followed by ``rep_delay`` (devices with
``dynamic_reprate_enabled``), or fills a fixed ``rep_time`` period. So a job occupies the device
for ``shots × Σ_circuits (duration + rep_delay)``, or ``shots × circuits × rep_time``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit
    from qiskit.transpiler import Target

__all__ = ["DurationOf", "circuit_duration", "job_usage", "repetition_delay", "target_durations"]

DurationOf = Callable[[str, tuple[int, ...]], float]
"""``(instruction name, physical qubits) -> seconds`` (0 when unknown)."""

_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12}


def target_durations(target: Target) -> DurationOf:
    """Return the duration lookup of a qiskit ``Target`` (seconds; 0 when it has none).

    Lookups are remembered: ``target[name]`` builds a mapping over every qubit tuple of the
    instruction, which on a 127-qubit device costs more than the rest of a small job's
    bookkeeping when repeated for every instruction of the circuit.
    """
    names = set(target.operation_names)
    known: dict[tuple[str, tuple[int, ...]], float] = {}

    def duration(name: str, qubits: tuple[int, ...]) -> float:
        key = (name, qubits)
        if key not in known:
            known[key] = _duration(target, names, name, qubits)
        return known[key]

    return duration


def _duration(target: Target, names: set[str], name: str, qubits: tuple[int, ...]) -> float:
    if name not in names:
        return 0.0
    by_qubits = target[name]
    props = by_qubits.get(qubits) if by_qubits else None
    if props is None and by_qubits and None in by_qubits:
        props = by_qubits[None]
    return float(props.duration or 0.0) if props is not None else 0.0


def delay_seconds(operation: Any, dt: float | None) -> float:
    """The length of a ``Delay`` in seconds (``dt`` units need the device's ``dt``)."""
    unit = getattr(operation, "unit", "dt")
    value = float(operation.duration)
    if unit == "dt":
        return value * (dt or 0.0)
    return value * _UNITS.get(unit, 0.0)


def circuit_duration(circuit: QuantumCircuit, duration_of: DurationOf, dt: float | None) -> float:
    """Schedule length of a circuit in seconds, instructions as soon as possible.

    Barriers align their qubits; a measurement also waits for its classical bit. Control
    flow counts as its longest block (``for`` loops: body × iterations; ``while``: once).
    """
    return _block_duration(circuit, list(range(circuit.num_qubits)), duration_of, dt)


def _block_duration(
    block: QuantumCircuit, physical: Sequence[int], duration_of: DurationOf, dt: float | None
) -> float:
    qubit_index = {bit: physical[i] for i, bit in enumerate(block.qubits)}
    clbit_index = {bit: i for i, bit in enumerate(block.clbits)}
    qubit_clock: dict[int, float] = {}
    clbit_clock: dict[int, float] = {}
    for instruction in block.data:
        qargs = tuple([qubit_index[q] for q in instruction.qubits])
        cargs = [clbit_index[c] for c in instruction.clbits]
        clocks = [qubit_clock.get(q, 0.0) for q in qargs]
        if cargs:
            clocks += [clbit_clock.get(c, 0.0) for c in cargs]
        start = max(clocks, default=0.0)
        name = instruction.name  # not ``operation.name``: that would build a Python gate
        if name == "barrier":
            length = 0.0
        elif name == "delay":
            length = delay_seconds(instruction.operation, dt)
        elif instruction.is_control_flow():
            operation = instruction.operation
            lengths = [_block_duration(b, qargs, duration_of, dt) for b in operation.blocks]
            length = max(lengths, default=0.0)
            if name == "for_loop":
                length *= len(list(operation.params[0]))
        else:
            length = duration_of(name, qargs)
        end = start + length
        for q in qargs:
            qubit_clock[q] = end
        for c in cargs:
            clbit_clock[c] = end
    return max([*qubit_clock.values(), *clbit_clock.values()], default=0.0)


def repetition_delay(options: Mapping[str, Any], configuration: Mapping[str, Any]) -> float:
    """The idle time after each circuit in seconds: ``rep_delay`` (or the device's
    ``default_rep_delay``, microseconds) where ``dynamic_reprate_enabled``, else 0."""
    if not configuration.get("dynamic_reprate_enabled", False):
        return 0.0
    given = options.get("rep_delay")
    if given is not None:
        return float(given)
    default = configuration.get("default_rep_delay")
    return float(default) * 1e-6 if default is not None else 0.0


def job_usage(
    durations: Sequence[float],
    shots: int,
    options: Mapping[str, Any],
    configuration: Mapping[str, Any],
) -> dict[str, Any]:
    """Device time of a job: ``{"quantum_seconds", "rep_delay", "rep_time", "circuit_durations"}``.

    Args:
        durations: each circuit's schedule length in seconds (``circuit_duration``).
        shots: shots per circuit.
        options: the job's run options (``rep_delay``, ``rep_time`` in seconds).
        configuration: the device configuration (``dynamic_reprate_enabled``,
            ``default_rep_delay`` and ``rep_times`` in microseconds).
    """
    rep_delay = repetition_delay(options, configuration)
    rep_time: float | None = None
    if not configuration.get("dynamic_reprate_enabled", False):
        given = options.get("rep_time")
        times = configuration.get("rep_times") or []
        if given is not None:
            rep_time = float(given)
        elif times:
            rep_time = float(times[0]) * 1e-6
    if rep_time is not None:
        per_shot = sum(max(rep_time, duration) for duration in durations)
    else:
        per_shot = sum(durations) + rep_delay * len(durations)
    return {
        "quantum_seconds": shots * per_shot,
        "rep_delay": rep_delay,
        "rep_time": rep_time,
        "circuit_durations": [float(d) for d in durations],
    }
