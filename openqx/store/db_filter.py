"""Translate the LoopBack ``where`` subset of ``jobs(db_filter=...)`` to SQLAlchemy.

Only whitelisted job fields are reachable, each mapped to one column (or to the ``job_tags`` /
``users`` tables); values always travel as bound parameters. Supported::

    {"field": value}                         equality (None: IS NULL)
    {"field": {"neq" | "gt" | "gte" | "lt" | "lte": value}}
    {"field": {"inq" | "nin": [values]}}
    {"field": {"between": [low, high]}}      inclusive
    {"field": {"regexp": "pattern" | "/pattern/i"}}   partial match
    {"and": [where, ...]}, {"or": [where, ...]}       nested freely

Several keys in one object, or several operators on one field, are AND-ed. Anything else
raises ``InvalidFilterError`` naming the field or operator.

Filters are bounded: ``and``/``or`` nest at most ``MAX_FILTER_DEPTH`` deep, a filter holds at
most ``MAX_FILTER_CONDITIONS`` conditions and a value list at most ``MAX_LIST_ITEMS`` values;
integers stay within their column's range, dates within what converts to UTC, text is free of
NUL and unpaired surrogates, and regular expressions are RE2 patterns (``store.regexps``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from openqx.core import bounds
from openqx.core.errors import InvalidFilterError
from openqx.core.status import JobStatus
from openqx.core.times import utc_from_stored
from openqx.store import regexps
from openqx.store.models import Job, JobTag, User
from openqx.store.tag_filters import TagJobs, tagged_jobs

__all__ = [
    "FIELD_NAMES",
    "MAX_FILTER_CONDITIONS",
    "MAX_FILTER_DEPTH",
    "OPERATORS",
    "compile_regexp",
    "normalize_status",
    "parse_datetime",
    "translate_where",
]

MAX_FILTER_DEPTH = 8
"""Deepest nesting of ``and``/``or`` in one ``db_filter``."""
MAX_FILTER_CONDITIONS = 200
"""Most conditions (field operators and ``and``/``or`` members) in one ``db_filter``."""

OPERATORS = frozenset({"neq", "gt", "gte", "lt", "lte", "inq", "nin", "between", "regexp"})
_EQUALITY_OPS = frozenset({"eq", "neq", "inq", "nin", "regexp"})
_ORDERED_OPS = frozenset(OPERATORS - {"regexp"} | {"eq"})

# IBM Quantum API status names (and ours) → our JobStatus.
_API_STATUS = {
    "CREATING": JobStatus.INITIALIZING,
    "CREATED": JobStatus.INITIALIZING,
    "TRANSPILING": JobStatus.INITIALIZING,
    "TRANSPILED": JobStatus.INITIALIZING,
    "VALIDATED": JobStatus.VALIDATING,
    "PENDING_IN_QUEUE": JobStatus.QUEUED,
    "COMPLETED": JobStatus.DONE,
}


def normalize_status(value: object) -> str:
    """Map a status name (ours or the IBM API's, any case; ``ERROR_*`` → ERROR) to ours.

    Raises:
        InvalidFilterError: the value names no status.
    """
    if isinstance(value, JobStatus):
        return value.value
    if isinstance(value, str):
        name = value.strip().upper()
        if name in JobStatus.__members__:
            return name
        if name in _API_STATUS:
            return _API_STATUS[name].value
        if name.startswith("ERROR"):
            return JobStatus.ERROR.value
    raise InvalidFilterError(f"Invalid status value {value!r} in db_filter.", field="status")


def parse_datetime(value: object, field: str = "creationDate") -> datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 string (naive: UTC).

    Raises:
        InvalidFilterError: the value is no date.
    """
    try:
        if isinstance(value, datetime):
            return utc_from_stored(value)
        if isinstance(value, str) and len(value) <= bounds.MAX_TEXT_LENGTH:
            return utc_from_stored(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except OverflowError:
        raise InvalidFilterError(
            f"Date {value!r} for {field!r} is out of range when converted to UTC.",
            field=field,
        ) from None
    except ValueError:
        pass
    raise InvalidFilterError(f"Invalid date {value!r} for {field!r} in db_filter.", field=field)


def compile_regexp(pattern: object, field: str) -> str:
    """Check a ``regexp`` value and return the pattern to send (``/p/i`` → ``(?i)p``).

    Raises:
        InvalidFilterError: not a string, unknown flags, or not a pattern RE2 runs
            (``store.regexps.check_pattern``).
    """
    if not isinstance(pattern, str):
        raise InvalidFilterError(f"regexp for {field!r} must be a string.", field=field)
    literal = re.fullmatch(r"/(.*)/([a-z]*)", pattern, flags=re.DOTALL)
    if literal:
        pattern, flags = literal.group(1), literal.group(2)
        if set(flags) - {"i"}:
            raise InvalidFilterError(
                f"Unsupported regexp flags {flags!r} for {field!r} (only 'i').", field=field
            )
        if "i" in flags:
            pattern = "(?i)" + pattern
    return regexps.check_pattern(pattern, field)


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidFilterError(f"Value {value!r} for {field!r} must be a string.", field=field)
    if len(value) > bounds.MAX_TEXT_LENGTH:
        raise InvalidFilterError(
            f"Value for {field!r} is longer than {bounds.MAX_TEXT_LENGTH} characters.",
            field=field,
        )
    try:
        return bounds.check_text(value, f"Value for {field!r}")
    except ValueError as error:
        raise InvalidFilterError(str(error), field=field) from None


def _integer(value: object, field: str) -> int:
    """An integer within a 32-bit column's range (``shots``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidFilterError(f"Value {value!r} for {field!r} must be an integer.", field=field)
    if not -bounds.INT32_MAX - 1 <= value <= bounds.INT32_MAX:
        raise InvalidFilterError(
            f"Value {value} for {field!r} is out of range "
            f"({-bounds.INT32_MAX - 1}..{bounds.INT32_MAX}).",
            field=field,
        )
    return value


def _status(value: object, field: str) -> str:
    return normalize_status(value)


Converter = Callable[[object, str], Any]


@dataclass(frozen=True, slots=True)
class _Field:
    """How one whitelisted name is reached: a jobs column, the tags table or the owner."""

    target: str  # "column" | "tags" | "owner"
    column: Any = None
    convert: Converter = _string
    operators: frozenset[str] = frozenset(OPERATORS | {"eq"})
    closed_values: tuple[str, ...] | None = None  # every value the column can hold


_COLUMN_FIELDS: dict[str, _Field] = {
    "id": _Field("column", Job.id),
    "status": _Field(
        "column", Job.status, _status, _EQUALITY_OPS, tuple(s.value for s in JobStatus)
    ),
    "name": _Field("column", Job.name),
    "creationDate": _Field("column", Job.created_at, parse_datetime, _ORDERED_OPS),
    "created_at": _Field("column", Job.created_at, parse_datetime, _ORDERED_OPS),
    "experimentTag": _Field("column", Job.experiment_id),
    "experiment_id": _Field("column", Job.experiment_id),
    "backend.name": _Field("column", Job.backend),
    "backend": _Field("column", Job.backend),
    "shots": _Field("column", Job.shots, _integer, _ORDERED_OPS),
    "kind": _Field("column", Job.kind),
    "share_level": _Field("column", Job.share_level),
    "shareLevel": _Field("column", Job.share_level),
    "hubInfo.hub.name": _Field("column", Job.hub),
    "hubInfo.group.name": _Field("column", Job.hub_group),
    "hubInfo.project.name": _Field("column", Job.project),
    "tags": _Field("tags", JobTag.tag, operators=_EQUALITY_OPS),
    "owner": _Field("owner", User.name, operators=_EQUALITY_OPS),
}

FIELD_NAMES = frozenset(_COLUMN_FIELDS)
"""Every field name ``db_filter`` accepts."""


def _compare(field: _Field, name: str, column: Any, op: str, value: object) -> ColumnElement[bool]:
    """``column <op> value`` with converted, bound values."""
    if op == "regexp":
        pattern = compile_regexp(value, name)
        if field.closed_values is not None:
            return _closed_regexp(column, pattern, field.closed_values)
        return column.regexp_match(pattern)  # type: ignore[no-any-return]
    if op in ("inq", "nin"):
        if not isinstance(value, list | tuple):
            raise InvalidFilterError(f"{op!r} for {name!r} needs a list.", field=name)
        if len(value) > bounds.MAX_LIST_ITEMS:
            raise InvalidFilterError(
                f"{op!r} for {name!r} holds {len(value)} values; at most "
                f"{bounds.MAX_LIST_ITEMS} are allowed.",
                field=name,
            )
        values = list(dict.fromkeys(field.convert(v, name) for v in value))
        return column.in_(values) if op == "inq" else column.not_in(values)  # type: ignore[no-any-return]
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise InvalidFilterError(f"'between' for {name!r} needs [low, high].", field=name)
        low, high = (field.convert(v, name) for v in value)
        return column.between(low, high)  # type: ignore[no-any-return]
    if value is None and op in ("eq", "neq"):
        return column.is_(None) if op == "eq" else column.is_not(None)  # type: ignore[no-any-return]
    bound = field.convert(value, name)
    operations: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
        "eq": lambda c, v: c == v,
        "neq": lambda c, v: c != v,
        "gt": lambda c, v: c > v,
        "gte": lambda c, v: c >= v,
        "lt": lambda c, v: c < v,
        "lte": lambda c, v: c <= v,
    }
    return operations[op](column, bound)


def _closed_regexp(column: Any, pattern: str, values: tuple[str, ...]) -> ColumnElement[bool]:
    """``regexp`` on a column with a small closed set of values, as ``IN`` over the values
    the pattern matches (RE2 ``search``, as SQLite's ``REGEXP``): exact, and an index can
    serve it where PostgreSQL's ``~`` forces a scan of every candidate row.
    """
    matched = regexps.matching(pattern, values)
    if not matched:
        return sa.false()
    return column == matched[0] if len(matched) == 1 else column.in_(matched)  # type: ignore[no-any-return]


def _field_condition(
    name: str, op: str, value: object, tag_jobs: TagJobs | None
) -> ColumnElement[bool]:
    """One operator on one whitelisted field."""
    field = _COLUMN_FIELDS[name]
    if op not in field.operators:
        raise InvalidFilterError(
            f"Operator {op!r} is not supported for field {name!r}.", field=name, operator=op
        )
    if field.target == "column":
        return _compare(field, name, field.column, op, value)
    negated = op in ("neq", "nin")
    positive = {"neq": "eq", "nin": "inq"}.get(op, op)
    inner = _compare(field, name, field.column, positive, value)
    if field.target == "tags":
        job_ids: list[str] | None = None
        if not negated and positive in ("eq", "inq"):
            given = [value] if positive == "eq" else list(cast(list[object], value))
            wanted = [_string(v, name) for v in given if v is not None]
            if not wanted:
                job_ids = []
            elif tag_jobs is not None:
                job_ids = tag_jobs(wanted)
        tagged = tagged_jobs(inner, job_ids=job_ids)
        return ~tagged if negated else tagged
    owners = sa.select(User.id).where(inner)
    return Job.owner_id.not_in(owners) if negated else Job.owner_id.in_(owners)


@dataclass(slots=True)
class _Walk:
    """One translation: the tag lookup and how many conditions it has met so far."""

    tag_jobs: TagJobs | None
    conditions: int = 0

    def count(self) -> None:
        self.conditions += 1
        if self.conditions > MAX_FILTER_CONDITIONS:
            raise InvalidFilterError(
                f"db_filter holds more than {MAX_FILTER_CONDITIONS} conditions; simplify it."
            )


def _logical(key: str, value: object, walk: _Walk, depth: int) -> ColumnElement[bool]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, Mapping) for v in value):
        raise InvalidFilterError(f"{key!r} needs a list of filter objects.", operator=key)
    if depth >= MAX_FILTER_DEPTH:
        raise InvalidFilterError(
            f"db_filter nests 'and'/'or' deeper than {MAX_FILTER_DEPTH} levels.", operator=key
        )
    parts = []
    for member in value:
        walk.count()
        parts.append(_translate(member, walk, depth + 1))
    if key == "and":
        return sa.and_(sa.true(), *parts)
    return sa.or_(sa.false(), *parts)


def translate_where(
    where: Mapping[str, Any], tag_jobs: TagJobs | None = None
) -> ColumnElement[bool]:
    """Translate a LoopBack ``where`` object into a boolean expression over ``jobs``.

    Args:
        where: the filter, e.g. ``{"backend.name": "x", "tags": {"inq": ["a"]}}``.
        tag_jobs: reads the job ids of ``tags`` values so that rare ones drive the query
            (see ``tag_filters``); without it every tag is probed per job.

    Returns:
        An expression to put in ``WHERE`` (values are bound parameters).

    Raises:
        InvalidFilterError: unknown field or operator, a value of the wrong type or out of
            range, or a filter deeper or larger than the limits.
    """
    return _translate(where, _Walk(tag_jobs), 0)


def _translate(where: object, walk: _Walk, depth: int) -> ColumnElement[bool]:
    if not isinstance(where, Mapping):
        raise InvalidFilterError("db_filter must be an object.")
    parts: list[ColumnElement[bool]] = []
    for key, value in where.items():
        walk.count()
        if key in ("and", "or"):
            parts.append(_logical(key, value, walk, depth))
            continue
        if key not in _COLUMN_FIELDS:
            raise InvalidFilterError(
                f"Unknown field {key!r} in db_filter; known fields: "
                f"{', '.join(sorted(FIELD_NAMES))}.",
                field=key,
            )
        if isinstance(value, Mapping):
            if not value:
                raise InvalidFilterError(f"Empty operator object for {key!r}.", field=key)
            for op, operand in value.items():
                if op not in OPERATORS:
                    raise InvalidFilterError(
                        f"Unknown operator {op!r} for field {key!r} in db_filter.",
                        field=key,
                        operator=op,
                    )
                walk.count()
                parts.append(_field_condition(key, op, operand, walk.tag_jobs))
        else:
            parts.append(_field_condition(key, "eq", value, walk.tag_jobs))
    return sa.and_(sa.true(), *parts)
