"""A QPY payload's headers, checked against limits before Qiskit decodes a byte of it.

QPY comes from untrusted users. Qiskit's reader trusts the counts in a payload's headers and
allocates for them: a 172-byte payload claiming 100,000,000 qubits aborted the process that
decoded it, 2^32-1 qubits grew it to 24 GB. This module reads the file header and each
circuit's header with ``struct`` (the layouts of ``qiskit.qpy.formats``, QPY versions 1 to
``qiskit.qpy.QPY_VERSION``) and refuses, with a ``ValueError`` naming the limit:

- payloads over ``MAX_QPY_BYTES``, QPY versions this Qiskit cannot read, non-circuit programs;
- more circuits than ``max_circuits`` (the device's ``max_experiments`` where given);
- more qubits, clbits, instructions or registers than the limits;
- lying headers: counts that the bytes left in the payload cannot hold (every instruction,
  register and name takes at least a fixed number of bytes).

QPY files of version 16 and later carry a table of each circuit's offset, so every circuit's
header is checked; older files only have their first circuit's header checked (the others are
found only by decoding the ones before them), and are still bounded by their size.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from qiskit.qpy import QPY_VERSION

__all__ = [
    "MAX_QPY_BYTES",
    "MAX_QPY_CIRCUITS",
    "MAX_QPY_CLBITS",
    "MAX_QPY_INSTRUCTIONS",
    "MAX_QPY_QUBITS",
    "MAX_QPY_REGISTERS",
    "CircuitHeader",
    "QpyLimits",
    "check_qpy",
]

MAX_QPY_BYTES = 64 * 1024 * 1024
"""Largest QPY payload, in bytes (decoded, not base64)."""
MAX_QPY_CIRCUITS = 10_000
"""Most circuits in one payload (a device's ``max_experiments`` is usually smaller)."""
MAX_QPY_QUBITS = 10_000
"""Most qubits of one circuit (a device's ``num_qubits`` is usually smaller)."""
MAX_QPY_CLBITS = 100_000
"""Most classical bits of one circuit."""
MAX_QPY_INSTRUCTIONS = 500_000
"""Most top-level instructions of one circuit."""
MAX_QPY_REGISTERS = 10_000
"""Most quantum and classical registers of one circuit."""

_PREFACE = b"QISKIT"
_FILE_HEADER = struct.Struct("!6sBBBBQ")  # preface, qpy, major, minor, patch, num_programs
_FILE_HEADER_V10 = struct.Struct("!6sBBBBQc")  # ... symbolic_encoding
_TABLE_ENTRY = struct.Struct("!Q")  # version >= 16: each circuit's byte offset
# Circuit headers: (name_size, ..., num_qubits, num_clbits, metadata_size, num_registers,
# num_instructions[, num_vars]).
_CIRCUIT_V1 = struct.Struct("!HdIIQIQ")
_CIRCUIT_V2 = struct.Struct("!H1cHIIQIQ")
_CIRCUIT_V12 = struct.Struct("!H1cHIIQIQI")
_MIN_INSTRUCTION_BYTES = struct.calcsize("!HHHII?Hq")  # the smallest instruction record
_MIN_REGISTER_BYTES = struct.calcsize("!1c?IH")  # the smallest register record
_CIRCUIT_KEY = b"q"  # type_keys.Program.CIRCUIT


@dataclass(frozen=True)
class QpyLimits:
    """The limits a payload is checked against; ``None`` fields take the module's limits."""

    max_bytes: int = MAX_QPY_BYTES
    max_circuits: int = MAX_QPY_CIRCUITS
    max_qubits: int = MAX_QPY_QUBITS
    max_clbits: int = MAX_QPY_CLBITS
    max_instructions: int = MAX_QPY_INSTRUCTIONS
    max_registers: int = MAX_QPY_REGISTERS
    backend: str | None = None
    """The device whose ``max_experiments`` lowered ``max_circuits``, for messages."""


@dataclass(frozen=True)
class CircuitHeader:
    """The counts one circuit's QPY header claims."""

    num_qubits: int
    num_clbits: int
    num_registers: int
    num_instructions: int


def check_qpy(
    data: bytes, limits: QpyLimits | None = None, *, source: str = "the payload"
) -> list[CircuitHeader]:
    """Check a QPY payload's headers against ``limits`` without decoding it.

    Args:
        data: the QPY bytes.
        limits: the limits (default: the module's).
        source: what the bytes are, for messages (``"'qpy'"``).

    Returns:
        The headers checked: every circuit's for QPY 16 and later, else the first one's.

    Raises:
        ValueError: a limit is exceeded or a header is malformed or lies; the message names it.
    """
    limits = limits or QpyLimits()
    size = len(data)
    if size > limits.max_bytes:
        raise ValueError(
            f"{source} is {size} bytes of QPY, over the limit of {limits.max_bytes} bytes."
        )
    if size < _FILE_HEADER.size or data[:6] != _PREFACE:
        raise ValueError(
            f"{source} is not a valid QPY payload: it does not start with a QPY header."
        )
    version = data[6]
    if version < 1 or version > QPY_VERSION:
        raise ValueError(
            f"{source} is QPY version {version}; this server reads versions 1 to {QPY_VERSION}."
        )
    header = _FILE_HEADER_V10 if version >= 10 else _FILE_HEADER
    if size < header.size:
        raise ValueError(f"{source} is not a valid QPY payload: its file header is truncated.")
    num_programs = header.unpack_from(data)[5]
    position = header.size
    if num_programs > limits.max_circuits:
        where = (
            f"backend {limits.backend!r} accepts at most {limits.max_circuits} (max_experiments)"
            if limits.backend is not None
            else f"the limit is {limits.max_circuits} circuits per payload"
        )
        raise ValueError(f"{source} holds {num_programs} circuits but {where}.")
    if version >= 5:
        if size < position + 1:
            raise ValueError(f"{source} is not a valid QPY payload: it is truncated.")
        if data[position : position + 1] != _CIRCUIT_KEY:
            raise ValueError("Only quantum circuits can be run; pulse schedules are not supported.")
        position += 1
    if num_programs == 0:
        return []
    if version >= 16:
        table_end = position + num_programs * _TABLE_ENTRY.size
        if table_end > size:
            raise ValueError(
                f"{source} is not a valid QPY payload: its header claims {num_programs} circuits, "
                f"more than its {size} bytes can hold."
            )
        offsets = [
            _TABLE_ENTRY.unpack_from(data, position + i * _TABLE_ENTRY.size)[0]
            for i in range(num_programs)
        ]
    else:
        offsets = [position]
    return [
        _check_circuit(data, version, offset, index, limits, source)
        for index, offset in enumerate(offsets)
    ]


def _check_circuit(
    data: bytes, version: int, offset: int, index: int, limits: QpyLimits, source: str
) -> CircuitHeader:
    """Check the header of the circuit at ``offset`` (the ``index``-th)."""
    layout = _CIRCUIT_V12 if version >= 12 else _CIRCUIT_V2 if version >= 2 else _CIRCUIT_V1
    what = f"circuit {index} of {source}"
    if offset + layout.size > len(data):
        raise ValueError(f"{source} is not a valid QPY payload: {what} is truncated.")
    fields = layout.unpack_from(data, offset)
    name_size = fields[0]
    if layout is _CIRCUIT_V1:
        phase_size = 0
        num_qubits, num_clbits, metadata_size, num_registers, num_instructions = fields[2:7]
    else:
        phase_size = fields[2]
        num_qubits, num_clbits, metadata_size, num_registers, num_instructions = fields[3:8]
    if num_qubits > limits.max_qubits:
        raise ValueError(
            f"{what}: the circuit has {num_qubits} qubits but the limit is "
            f"{limits.max_qubits} qubits."
        )
    for count, limit, noun in (
        (num_clbits, limits.max_clbits, "classical bits"),
        (num_instructions, limits.max_instructions, "instructions"),
        (num_registers, limits.max_registers, "registers"),
    ):
        if count > limit:
            raise ValueError(f"{what} has {count} {noun}, over the limit of {limit} {noun}.")
    left = len(data) - offset - layout.size
    needed = (
        name_size
        + phase_size
        + metadata_size
        + num_registers * _MIN_REGISTER_BYTES
        + num_instructions * _MIN_INSTRUCTION_BYTES
    )
    if needed > left:
        raise ValueError(
            f"{source} is not a valid QPY payload: the header of {what} claims "
            f"{num_instructions} instructions, {num_registers} registers and "
            f"{name_size + phase_size + metadata_size} bytes of name and metadata, more than "
            f"the {left} bytes left can hold."
        )
    return CircuitHeader(num_qubits, num_clbits, num_registers, num_instructions)
