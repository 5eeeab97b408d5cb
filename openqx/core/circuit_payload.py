"""Circuits on the wire: QPY bytes, base64 text in JSON (``JobSubmission.qpy``, runtime
``params["circuits"]``, ``CircuitsPayload.qpy``).

The one codec for the client (encoding what it sends, decoding ``job.circuits()``), the server
(checking a submission) and the runner (loading a stored payload). Decoding raises
``ValueError`` with a message for the user; each side wraps it in its own error family.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from typing import Any

from qiskit import qpy
from qiskit.circuit import QuantumCircuit

from openqx.core import json_values, wire
from openqx.core.qpy_header import QpyLimits, check_qpy

__all__ = [
    "MetadataEncoder",
    "decode_base64",
    "decode_circuits",
    "dump_circuits",
    "encode_circuits",
    "load_circuits",
]


class MetadataEncoder(json.JSONEncoder):
    """Circuit metadata as JSON, with what Qiskit users put there beyond JSON's types
    (``json_values``: numpy arrays and scalars, complex numbers). Anything else is a
    ``TypeError`` naming its type."""

    def default(self, o: Any) -> Any:
        converted = json_values.as_json_value(o)
        return super().default(o) if converted is json_values.NOT_CONVERTED else converted


def dump_circuits(circuits: Sequence[QuantumCircuit]) -> bytes:
    """Return ``circuits`` as QPY bytes (metadata through ``MetadataEncoder``).

    Raises:
        TypeError: a circuit's metadata holds a value JSON cannot carry.
    """
    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer, metadata_serializer=MetadataEncoder)
    return buffer.getvalue()


def encode_circuits(circuits: Sequence[QuantumCircuit]) -> str:
    """Return ``circuits`` as the base64 QPY text the wire carries."""
    return wire.b64encode(dump_circuits(circuits))


def load_circuits(
    data: bytes, *, source: str = "the payload", limits: QpyLimits | None = None
) -> list[QuantumCircuit]:
    """Load the circuits of QPY bytes, after checking their headers against ``limits``
    (``core.qpy_header``: nothing is decoded from a payload over a limit or whose headers lie).

    Args:
        data: QPY bytes.
        source: what the bytes are, for messages (``"'qpy'"``, ``"the job's payload"``).
        limits: the limits (default: ``QpyLimits()``, the module's).

    Returns:
        The circuits, at least one.

    Raises:
        ValueError: not QPY, over a limit (the message names it), a program that is not a
            circuit, or no circuits at all.
    """
    check_qpy(data, limits, source=source)
    try:
        loaded = qpy.load(io.BytesIO(data))
    except Exception as error:  # qpy raises many types on corrupt input
        raise ValueError(f"{source} is not a valid QPY payload: {_reason(error)}") from error
    circuits = [item for item in loaded if isinstance(item, QuantumCircuit)]
    if len(circuits) != len(loaded):
        raise ValueError("Only quantum circuits can be run; pulse schedules are not supported.")
    if not circuits:
        raise ValueError(f"{source} holds no circuits.")
    return circuits


_ANSI_ESCAPE = re.compile(r"(?:\x1b|\\x1b)\[[0-9;]*[A-Za-z]")
_MAX_REASON = 300  # characters of a decoder's message kept for the user


def _reason(error: Exception) -> str:
    """A decoder's message for the user: one line, no terminal colour codes, no backtrace.

    Qiskit's Rust QPY reader reports e.g. a truncated payload with a coloured backtrace
    ("Backtrace", box-drawing rules, ``at crates/qpy/src/...`` lines); keep its sentences.
    """
    text = str(error).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]  # the Rust message arrives quoted, its newlines escaped
    text = _ANSI_ESCAPE.sub("", text).replace("\\n", "\n")
    kept: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"^\d+:\s*", "", raw.strip()).removeprefix("Error: ")
        if not any(ch.isalnum() for ch in line) or "Backtrace" in line or line.startswith("at "):
            continue
        line = "".join(ch for ch in line if ch.isprintable())
        if line not in kept:
            kept.append(line)
    reason = ""
    for line in kept:
        reason += line if not reason else (" " if reason.endswith(":") else "; ") + line
    reason = reason or type(error).__name__
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1] + "…"


def decode_base64(text: str, *, source: str = "the payload") -> bytes:
    """Return the bytes of a base64 JSON field.

    Raises:
        ValueError: ``text`` is not base64.
    """
    try:
        return wire.b64decode(text)
    except (ValueError, UnicodeEncodeError):
        raise ValueError(f"{source} is not valid base64.") from None


def decode_circuits(
    text: str, *, source: str = "the payload", limits: QpyLimits | None = None
) -> list[QuantumCircuit]:
    """Load the circuits of a base64 QPY text (the inverse of ``encode_circuits``).

    Raises:
        ValueError: not base64, not QPY, or no circuits.
    """
    return load_circuits(decode_base64(text, source=source), source=source, limits=limits)
