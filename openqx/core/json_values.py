"""What Qiskit users pass beyond JSON's types, as JSON values: numpy arrays as lists, numpy
scalars as Python numbers and booleans, complex numbers as ``[real, imag]`` (the way the
seed's ``IBMQJsonEncoder`` sent them). One home for the rule: circuit metadata
(``circuit_payload.MetadataEncoder``) and the client's run options and headers use it."""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_CONVERTED", "as_json_value", "plain"]

NOT_CONVERTED: Any = object()
"""What ``as_json_value`` answers for a value it has no JSON form for."""


def as_json_value(value: Any) -> Any:
    """``value`` as a JSON value when it is a numpy array or scalar or a complex number; else
    ``NOT_CONVERTED``. Only the value itself is converted (a list's items are not)."""
    if isinstance(value, complex):
        return [value.real, value.imag]
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist) and type(value).__module__ == "numpy":
        return tolist()
    return NOT_CONVERTED


_PLAIN = (str, int, float, bool, type(None))


def plain(value: Any) -> Any:
    """``value`` with every numpy array or scalar and complex number inside dicts, lists and
    tuples converted (``as_json_value``); anything else is left as it is."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    converted = as_json_value(value)
    return value if converted is NOT_CONVERTED else converted
