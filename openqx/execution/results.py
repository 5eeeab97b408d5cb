"""Shape an Aer ``Result`` into the JSON a job answers (qiskit ``Result.to_dict()`` schema)."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from openqx.execution.port import ExecutionError, ExecutionRequest

if TYPE_CHECKING:
    from qiskit.result import Result

__all__ = ["jsonable", "result_json"]


_PLAIN = frozenset({type(None), bool, str, int})
"""Types ``jsonable`` returns as they are (exact types: a result is mostly made of them)."""


def jsonable(value: Any) -> Any:
    """Return ``value`` with numpy scalars/arrays, complex numbers and datetimes made JSON-safe."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if kind is dict:
        return _mapping(value)
    if kind is list:
        return _collection(value)
    if isinstance(value, bool | str | int):  # subclasses (exact types are handled above)
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        return _collection(value)
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return jsonable(tolist())
    return str(value)


def _mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    if all(type(k) is str and type(v) is int for k, v in value.items()):
        return dict(value)  # counts: no per-entry walk
    return {str(k): v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}


def _collection(value: Iterable[Any]) -> list[Any]:
    items = list(value)
    if all(type(v) is str for v in items):
        return items  # per-shot memory: no per-shot walk
    return [v if type(v) in _PLAIN else jsonable(v) for v in items]


def result_json(result: Result, request: ExecutionRequest) -> dict[str, Any]:
    """Return the job's result JSON: ids set, the user's header merged, JSON-safe.

    The user's ``header`` is copied into the result header and into each experiment's header
    under the circuit's own fields (``name``, ``creg_sizes``, ...), which win on conflict.

    Raises:
        ExecutionError: every experiment failed (the message carries Aer's status texts).
    """
    data = result.to_dict()
    experiments = data.get("results", [])
    if experiments and not any(exp.get("success") for exp in experiments):
        statuses = "; ".join(
            dict.fromkeys(str(exp.get("status", "")) for exp in experiments if exp.get("status"))
        )
        raise ExecutionError(
            f"simulation failed for every circuit: {statuses or data.get('status') or 'unknown'}",
            "simulation_failed",
        )
    data["job_id"] = request.job_id
    data["backend_name"] = request.backend
    data["header"] = {**(data.get("header") or {}), **request.header}
    for exp in experiments:
        exp["header"] = {**request.header, **(exp.get("header") or {})}
        exp["success"] = bool(exp.get("success"))
    out: dict[str, Any] = jsonable(data)
    return out
