"""Bounds on what a request may carry: lengths, integer ranges, nesting, and clean text.

The one home of the input limits that the wire schemas (``core.wire``), the run-option checks
(``core.run_options``) and the store's filter translation (``store.db_filter``) share. Each
check raises ``ValueError`` with a message for the user that names the field; every layer
wraps it in its own error family.

Why these limits: database integer columns are 32-bit (``INTEGER`` on PostgreSQL) or 64-bit
(``OFFSET``, ``LIMIT``); text columns refuse NUL (PostgreSQL) and cannot encode unpaired
surrogates (both databases, and UTF-8 JSON answers); deep JSON exhausts the stack of
recursive encoders (pickle, json) in the dispatcher; non-finite floats cannot travel in JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from openqx.core.times import utc_from_stored

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "MAX_BACKEND_NAME_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_JOB_NAME_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_LIST_ITEMS",
    "MAX_REGEXP_LENGTH",
    "MAX_SEED",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "MAX_TEXT_LENGTH",
    "MIN_TOKEN_LENGTH",
    "check_datetime",
    "check_json",
    "check_text",
]

INT32_MAX = 2**31 - 1
"""Largest value of a 32-bit database integer column (``shots``, ``maximum_jobs``)."""
INT64_MAX = 2**63 - 1
"""Largest value of a 64-bit database integer (``LIMIT``, ``OFFSET``)."""
MAX_SEED = 2**63 - 1
"""Largest ``seed_simulator`` / ``seed_transpiler`` (Aer and numpy take a signed 64-bit int)."""
MAX_TAGS = 100
"""Most tags one job may carry."""
MAX_TAG_LENGTH = 256
"""Longest tag, in characters."""
MAX_JOB_NAME_LENGTH = 256
"""Longest job name, in characters."""
MAX_BACKEND_NAME_LENGTH = 256
"""Longest backend name, in characters."""
MAX_ID_LENGTH = 256
"""Longest id (job, experiment, program, instance, cursor), in characters."""
MIN_TOKEN_LENGTH = 8
"""Shortest API token an administrator may choose (generated ones have 64 hex digits)."""
MAX_TEXT_LENGTH = 4096
"""Longest free text in a filter value or other short string."""
MAX_REGEXP_LENGTH = 1024
"""Longest regular expression a filter may carry."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of objects and lists in free-form JSON (``header``, ``options``, ``params``,
``db_filter``)."""
MAX_LIST_ITEMS = 1000
"""Most items in a list of filter values (``inq``, ``nin``, ``status``)."""


def check_text(value: str, field: str) -> str:
    """Refuse text that no database column or UTF-8 answer can hold.

    Args:
        value: the text.
        field: its name, for the message.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: it holds a NUL character or an unpaired UTF-16 surrogate.
    """
    if "\x00" in value:
        raise ValueError(f"{field} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{field} contains an unpaired surrogate (\\ud800-\\udfff); send valid Unicode."
        ) from None
    return value


def check_datetime(value: datetime, field: str) -> datetime:
    """Refuse a date that cannot be converted to UTC (it would overflow ``datetime``).

    The service reads a naive date as UTC (``core.times.utc_from_stored``).

    Raises:
        ValueError: the conversion leaves the range of years 1-9999.
    """
    try:
        utc_from_stored(value)
    except (OverflowError, ValueError):
        raise ValueError(
            f"{field} {value.isoformat()} is out of range when converted to UTC."
        ) from None
    return value


def check_json(value: object, field: str, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """Check free-form JSON: nesting depth, finite numbers, clean text in keys and strings.

    Args:
        value: a JSON value (dicts, lists, strings, numbers, booleans, ``None``).
        field: its name, for the message.
        max_depth: the deepest nesting allowed (a scalar is depth 0).

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: nested deeper than ``max_depth``, a NaN or infinite number, or text with
            NUL or an unpaired surrogate; the message names the path.
    """
    # Iterative, so that depth is checked before any recursion could run out of stack.
    pending: list[tuple[object, str, int]] = [(value, field, 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth >= max_depth:
                raise ValueError(f"{field} is nested deeper than {max_depth} levels (at {path}).")
            if isinstance(item, Mapping):
                for key, child in item.items():
                    name = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]"
                    if isinstance(key, str):
                        check_text(key, f"a key of {path}")
                    pending.append((child, name, depth + 1))
            else:
                pending.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            check_text(item, path)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{path} must be a finite number, not {item}.")
    return value
