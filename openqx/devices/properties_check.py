"""Check a ``BackendProperties`` JSON dict before it enters a calibration history.

Errors name the field by its path (``qubits[3][0].value``) so an administrator importing a
snapshot sees what to fix; nothing is stored when a check fails.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime
from typing import Any

from openqx.core import errors
from openqx.devices.snapshots import parse_datetime

__all__ = ["InvalidPropertiesError", "check_properties"]

_POSITIVE = frozenset({"T1", "T2", "frequency", "readout_length"})
_PROBABILITY = frozenset({"readout_error", "prob_meas0_prep1", "prob_meas1_prep0"})


class InvalidPropertiesError(errors.InvalidInputError, ValueError):
    """A calibration snapshot (BackendProperties JSON) is malformed.

    Attributes:
        field: path of the offending field, e.g. ``qubits[3][0].value``.
    """

    code = "invalid_input"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"Invalid calibration snapshot: {field}: {problem}", field=field)
        self.field = field


def _fail(field: str, problem: str) -> InvalidPropertiesError:
    return InvalidPropertiesError(field, problem)


def _date(value: object, field: str) -> None:
    if not isinstance(value, str | datetime):
        raise _fail(field, f"expected an ISO 8601 date string, got {type(value).__name__}")
    try:
        parse_datetime(value)
    except ValueError as exc:
        shown = value if isinstance(value, datetime) else value[:80]
        raise _fail(field, f"not an ISO 8601 date in years 1-9999 UTC: {shown!r} ({exc})") from None


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, f"expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise _fail(field, f"expected a finite number, got {value!r}")
    return float(value)


def _nduv(item: object, field: str) -> None:
    """One ``{date, name, unit, value}`` entry."""
    if not isinstance(item, dict):
        raise _fail(field, f"expected an object with date, name, unit, value, got {item!r}")
    for key in ("date", "name", "unit", "value"):
        if key not in item:
            raise _fail(f"{field}.{key}", "missing")
    name = item["name"]
    if not isinstance(name, str) or not name:
        raise _fail(f"{field}.name", f"expected a non-empty string, got {name!r}")
    if not isinstance(item["unit"], str):
        raise _fail(f"{field}.unit", f"expected a string, got {item['unit']!r}")
    _date(item["date"], f"{field}.date")
    value = _number(item["value"], f"{field}.value")
    if name in _POSITIVE and value <= 0:
        raise _fail(f"{field}.value", f"{name} must be positive, got {value}")
    if name in _PROBABILITY and not 0 <= value <= 1:
        raise _fail(f"{field}.value", f"{name} must lie in [0, 1], got {value}")
    if name == "gate_error" and not 0 <= value <= 1:
        raise _fail(f"{field}.value", f"gate_error must lie in [0, 1], got {value}")
    if name == "gate_length" and value < 0:
        raise _fail(f"{field}.value", f"gate_length must not be negative, got {value}")


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(field, f"expected a list, got {type(value).__name__}")
    return value


def check_properties(properties: object, num_qubits: int | None = None) -> dict[str, Any]:
    """Return a validated deep copy of a ``BackendProperties`` JSON dict.

    Args:
        properties: the dict (as ``BackendProperties.to_dict()`` writes it).
        num_qubits: when given, ``qubits`` must have this many entries and gates must act on
            qubits below it.

    Raises:
        InvalidPropertiesError: the first malformed field, named by its path.
    """
    if not isinstance(properties, dict):
        raise _fail("<snapshot>", f"expected a JSON object, got {type(properties).__name__}")
    data: dict[str, Any] = copy.deepcopy(properties)
    for key in ("backend_version", "last_update_date", "qubits", "gates"):
        if key not in data:
            raise _fail(key, "missing")
    if not isinstance(data["backend_version"], str):
        raise _fail("backend_version", f"expected a string, got {data['backend_version']!r}")
    _date(data["last_update_date"], "last_update_date")
    if isinstance(data["last_update_date"], datetime):
        data["last_update_date"] = data["last_update_date"].isoformat()
    qubits = _list(data["qubits"], "qubits")
    if num_qubits is not None and len(qubits) != num_qubits:
        raise _fail("qubits", f"the device has {num_qubits} qubits, the snapshot {len(qubits)}")
    for q, params in enumerate(qubits):
        for i, item in enumerate(_list(params, f"qubits[{q}]")):
            _nduv(item, f"qubits[{q}][{i}]")
    for g, gate in enumerate(_list(data["gates"], "gates")):
        field = f"gates[{g}]"
        if not isinstance(gate, dict):
            raise _fail(field, f"expected an object, got {gate!r}")
        if not isinstance(gate.get("gate"), str) or not gate["gate"]:
            raise _fail(f"{field}.gate", f"expected a gate name, got {gate.get('gate')!r}")
        gate_qubits = _list(gate.get("qubits"), f"{field}.qubits")
        if not gate_qubits:
            raise _fail(f"{field}.qubits", "empty")
        for j, qubit in enumerate(gate_qubits):
            if isinstance(qubit, bool) or not isinstance(qubit, int) or qubit < 0:
                raise _fail(f"{field}.qubits[{j}]", f"expected a qubit index, got {qubit!r}")
            if num_qubits is not None and qubit >= num_qubits:
                raise _fail(
                    f"{field}.qubits[{j}]", f"qubit {qubit} is outside the device's {num_qubits}"
                )
        for i, item in enumerate(_list(gate.get("parameters"), f"{field}.parameters")):
            _nduv(item, f"{field}.parameters[{i}]")
    general = data.setdefault("general", [])
    for i, item in enumerate(_list(general, "general")):
        _nduv(item, f"general[{i}]")
    return data
