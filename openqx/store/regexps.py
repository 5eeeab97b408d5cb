"""Users' regular expressions, checked and run in linear time with RE2.

A ``job_name`` filter or a ``db_filter`` ``regexp`` comes from any user. Python's ``re`` (and
any backtracking engine) can take exponential time on a pattern such as ``(a+)+$``, holding a
database connection and the GIL meanwhile. Every user pattern is therefore compiled by RE2
first (``check_pattern``): patterns RE2 cannot run in linear time (backreferences, lookahead,
lookbehind) are refused with an ``InvalidFilterError`` naming the field. SQLite evaluates
``REGEXP`` with RE2 (``search``, registered by ``store.database``); PostgreSQL keeps its own
``~`` operator, reached only with a checked pattern and under the statement time budget.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import re2

from openqx.core import bounds
from openqx.core.errors import InvalidFilterError

__all__ = ["MAX_PROGRAM_BYTES", "check_pattern", "matching", "search"]

MAX_PROGRAM_BYTES = 8 * 1024 * 1024
"""Memory RE2 may use for one compiled pattern; a larger program is refused."""


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_PROGRAM_BYTES
    options.log_errors = False  # refusals are answered to the user, not logged by RE2
    return options


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re2._Regexp[str]:
    """The compiled pattern (raises ``re2.error``); cached, as SQLite calls once per row."""
    return re2.compile(pattern, _options())


def check_pattern(pattern: object, field: str) -> str:
    """Check a user's regular expression and return it.

    Args:
        pattern: the pattern (RE2 syntax; ``(?i)`` for case-insensitive).
        field: the field it filters, for the message.

    Returns:
        ``pattern``.

    Raises:
        InvalidFilterError: not a string, too long, NUL or unpaired surrogates, or a pattern
            RE2 cannot compile (bad syntax, backreferences, lookaround, too large).
    """
    if not isinstance(pattern, str):
        raise InvalidFilterError(f"regexp for {field!r} must be a string.", field=field)
    if len(pattern) > bounds.MAX_REGEXP_LENGTH:
        raise InvalidFilterError(
            f"The regular expression for {field!r} is longer than "
            f"{bounds.MAX_REGEXP_LENGTH} characters.",
            field=field,
        )
    try:
        bounds.check_text(pattern, f"The regular expression for {field!r}")
        _compiled(pattern)
    except ValueError as error:
        raise InvalidFilterError(str(error), field=field) from None
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InvalidFilterError(
            f"Invalid regular expression {pattern!r} for {field!r}: {reason}. Patterns use "
            "RE2 syntax, which runs in linear time: backreferences and lookaround are not "
            "supported.",
            field=field,
        ) from None
    return pattern


def search(pattern: str | None, value: str | None) -> bool | None:
    """SQLite ``value REGEXP pattern``: a partial match with RE2 (NULL in, NULL out)."""
    if pattern is None or value is None:
        return None
    return _compiled(pattern).search(value) is not None


def matching(pattern: str, values: Iterable[str]) -> list[str]:
    """Those of ``values`` in which ``pattern`` finds a match (RE2 ``search``)."""
    compiled = _compiled(pattern)
    return [value for value in values if compiled.search(value) is not None]
