"""Opaque keyset cursors: base64 of (created_at, id, direction).

A cursor names the last row of a page; the next page continues strictly after it in the same
direction.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from openqx.core import bounds
from openqx.core.errors import InvalidFilterError
from openqx.core.times import utc_from_stored

__all__ = ["Cursor", "decode_cursor", "encode_cursor"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after which a page continues."""

    created_at: datetime
    id: str
    descending: bool


def encode_cursor(cursor: Cursor) -> str:
    """Return the opaque URL-safe string for ``cursor``."""
    raw = json.dumps(
        {
            "t": utc_from_stored(cursor.created_at).isoformat(),
            "i": cursor.id,
            "d": cursor.descending,
        },
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> Cursor:
    """Parse a string made by ``encode_cursor``.

    Raises:
        InvalidFilterError: the string is not a cursor: not base64 of a JSON object with
            exactly ``t`` (an ISO date that converts to UTC), ``i`` (a clean id of at most
            ``MAX_ID_LENGTH`` characters) and ``d`` (a boolean).
    """
    try:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        created_at, job_id, descending = data["t"], data["i"], data["d"]
        if not (
            isinstance(created_at, str)
            and isinstance(job_id, str)
            and isinstance(descending, bool)
            and set(data) == {"t", "i", "d"}
        ):
            raise TypeError("cursor fields of the wrong type")
        if len(job_id) > bounds.MAX_ID_LENGTH:
            raise ValueError("cursor id too long")
        bounds.check_text(job_id, "cursor")  # NUL or a lone surrogate: no database holds it
        cursor = Cursor(
            created_at=utc_from_stored(datetime.fromisoformat(created_at)),
            id=job_id,
            descending=descending,
        )
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError) as error:
        raise InvalidFilterError(f"Invalid cursor {_shown(value)}.", field="cursor") from error
    return cursor


def _shown(value: str) -> str:
    """The bad cursor for a message, cut short."""
    return repr(value) if len(value) <= 80 else f"{value[:77]!r}..."
