"""OpenQASM 2 and 3 source → circuits, for clients without Qiskit (``POST /v1/jobs``).

OpenQASM 3 goes through ``openqasm3.parse`` and ``qiskit_qasm3_import.convert`` (what
``qiskit.qasm3.loads`` does; ``qiskit_qasm3_import`` is a dependency of openqx), OpenQASM 2
through ``qiskit.qasm2.loads``. Any error is an ``InvalidInputError`` naming the circuit's
index and, when the parser reports one, the line and column.

A program is a user's text, so before Qiskit builds anything from it:

- it may include only the standard gate library (``qelib1.inc``, ``stdgates.inc``): Qiskit's
  OpenQASM 2 parser would otherwise read any file of the server named in an ``include``;
- its declared qubits and classical bits are counted (OpenQASM 3 sizes may be constant
  arithmetic, evaluated here) against the limits QPY payloads have (``core.qpy_header``):
  Qiskit allocates an object per declared bit, so ``qreg q[1000000000];``, 30 bytes, would
  take the server's memory;
- no identifier is longer than ``MAX_IDENTIFIER_CHARACTERS`` (QPY stores names with a 16-bit
  length: a longer one would be stored, then fail to load when the job runs).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from typing import Any

from qiskit import QuantumCircuit

from openqx.core import errors
from openqx.core.qpy_header import MAX_QPY_CLBITS, MAX_QPY_QUBITS

__all__ = ["MAX_IDENTIFIER_CHARACTERS", "check_source", "circuits_from_qasm"]

MAX_IDENTIFIER_CHARACTERS = 1024
"""Longest identifier (register, gate, parameter name) of a program."""

STANDARD_INCLUDES = {2: "qelib1.inc", 3: "stdgates.inc"}
"""The one file each version may include: the standard gate library, built into the parser."""

_INCLUDE = re.compile(r"\binclude\b")
_STANDARD_INCLUDE = {
    version: re.compile(rf'\s*"{re.escape(name)}"\s*;')
    for version, name in STANDARD_INCLUDES.items()
}
_LONG_IDENTIFIER = re.compile(rf"(?<!\w)[^\W\d]\w{{{MAX_IDENTIFIER_CHARACTERS},}}")
_LINE_COMMENT = re.compile(r"//[^\n]*")
_COMMENT_START = re.compile(r"//|/\*")
_QASM2_REGISTER = re.compile(r"\b([qc])reg\b\s*(?:[A-Za-z_]\w*\s*\[\s*(\d+)\s*\])?")

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
        check_source(source, version, index)
        try:
            circuit = _load(source, version, index)
        except errors.InvalidInputError:
            raise
        except BaseException as exc:  # each parser raises its own classes; Rust panics too
            if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            raise errors.InvalidInputError(
                f"OpenQASM {version} circuit {index}{_located(exc)}"
            ) from exc
        if circuit.name.startswith("circuit-"):
            circuit.name = f"circuit-{index}"
        circuits.append(circuit)
    return circuits


def check_source(source: str, version: int, index: int = 0) -> None:
    """Refuse what the parsers must not be given (the module's docstring): includes other
    than the standard library, and over-long identifiers. OpenQASM 2's register sizes are
    checked here too (its grammar allows only decimal literals); OpenQASM 3's are checked on
    the syntax tree, before Qiskit builds the circuit (``_load``).

    Raises:
        InvalidInputError: the message names the circuit and what is refused.
    """
    where = f"OpenQASM {version} circuit {index}"
    text = _without_comments(source, version)
    for include in _INCLUDE.finditer(text):
        if not _STANDARD_INCLUDE[version].match(text, include.end()):
            raise errors.InvalidInputError(
                f"{where}: only the standard library may be included (include "
                f'"{STANDARD_INCLUDES[version]}";); other files are not read.'
            )
    if _LONG_IDENTIFIER.search(source):
        raise errors.InvalidInputError(
            f"{where}: an identifier is longer than {MAX_IDENTIFIER_CHARACTERS} characters."
        )
    if version == 2:
        counts = {"q": 0, "c": 0}
        for declaration in _QASM2_REGISTER.finditer(text):
            if declaration[2] is None:
                raise errors.InvalidInputError(
                    f"{where}: a register declaration needs a name and a decimal size (qreg q[2];)."
                )
            counts[declaration[1]] += int(declaration[2])
        _check_counts(where, counts["q"], counts["c"])


def _without_comments(source: str, version: int) -> str:
    """``source`` without its comments (line comments; in OpenQASM 3 block comments too, which
    the OpenQASM 2 parser does not know), in one pass."""
    if version == 2:
        return _LINE_COMMENT.sub(" ", source)
    kept: list[str] = []
    position = 0
    while (start := _COMMENT_START.search(source, position)) is not None:
        kept.append(source[position : start.start()])
        if start[0] == "//":
            end = source.find("\n", start.end())
        else:
            end = source.find("*/", start.end())
            end = -1 if end < 0 else end + 2
        if end < 0:
            return " ".join(kept)
        kept.append(" ")
        position = end
    kept.append(source[position:])
    return "".join(kept)


def _check_counts(where: str, qubits: int, clbits: int, *, capped: bool = False) -> None:
    """Refuse counts over the limits; ``capped``: counted up to ``_SIZE_LIMIT`` only."""
    for count, limit, what in (
        (qubits, MAX_QPY_QUBITS, "qubits"),
        (clbits, MAX_QPY_CLBITS, "classical bits"),
    ):
        if count > limit:
            declared = f"more than {_SIZE_LIMIT - 1}" if capped and count >= _SIZE_LIMIT else count
            raise errors.InvalidInputError(
                f"{where} declares {declared} {what}, over the limit of {limit}."
            )


def _load(source: str, version: int, index: int) -> QuantumCircuit:
    if version == 2:
        from qiskit import qasm2

        return qasm2.loads(
            source, include_path=(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS
        )
    import openqasm3
    import qiskit_qasm3_import

    program = openqasm3.parse(source)
    qubits, clbits = _declared_bits(program, f"OpenQASM 3 circuit {index}")
    _check_counts(f"OpenQASM 3 circuit {index}", qubits, clbits, capped=True)
    circuit: QuantumCircuit = qiskit_qasm3_import.convert(program)
    return circuit


def _declared_bits(program: Any, where: str) -> tuple[int, int]:
    """The qubits and classical bits an OpenQASM 3 syntax tree declares (every
    ``QubitDeclaration`` and ``BitType``, wherever they are)."""
    from openqasm3 import ast

    qubits = clbits = 0
    for node in _nodes(program):
        if isinstance(node, ast.QubitDeclaration):
            qubits += 1 if node.size is None else _size(node.size, where)
        elif isinstance(node, ast.BitType):
            clbits += 1 if node.size is None else _size(node.size, where)
        if qubits > MAX_QPY_QUBITS or clbits > MAX_QPY_CLBITS:
            break
    return qubits, clbits


def _nodes(node: Any) -> Iterator[Any]:
    """Every syntax-tree node under ``node`` (the tree is made of dataclasses and lists)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            yield item
            stack.extend(getattr(item, field.name) for field in dataclasses.fields(item))


_SIZE_LIMIT = max(MAX_QPY_QUBITS, MAX_QPY_CLBITS) + 1
"""Any size over this is over both limits: arithmetic on sizes stops there."""


def _size(expression: Any, where: str) -> int:
    """The value of a declared size: an integer literal or integer arithmetic on literals
    (as the importer allows), capped at ``_SIZE_LIMIT`` so that ``2**10**9`` costs nothing."""
    from openqasm3 import ast

    if isinstance(expression, ast.IntegerLiteral):
        return min(int(expression.value), _SIZE_LIMIT)
    if isinstance(expression, ast.BinaryExpression):
        lhs, rhs = _size(expression.lhs, where), _size(expression.rhs, where)
        op = expression.op.name
        if op == "+":
            return min(lhs + rhs, _SIZE_LIMIT)
        if op == "-":
            return max(lhs - rhs, 0)
        if op == "*":
            return min(lhs * rhs, _SIZE_LIMIT)
        if op in ("/", "%") and rhs:
            return lhs // rhs if op == "/" else lhs % rhs
        if op == "**":
            return _SIZE_LIMIT if lhs > 1 and rhs > 64 else min(lhs**rhs, _SIZE_LIMIT)
        if op == "<<":
            return _SIZE_LIMIT if lhs and rhs > 64 else min(lhs << rhs, _SIZE_LIMIT)
        if op == ">>":
            return lhs >> min(rhs, 64)
    raise errors.InvalidInputError(
        f"{where}: a register size must be an integer or integer arithmetic on integers."
    )


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
