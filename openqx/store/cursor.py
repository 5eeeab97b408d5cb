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
        InvalidFilterError: the string is not a cursor.
    """
    try:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = Cursor(
            created_at=utc_from_stored(datetime.fromisoformat(data["t"])),
            id=str(data["i"]),
            descending=bool(data["d"]),
        )
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise InvalidFilterError(f"Invalid cursor {value!r}.", field="cursor") from error
    return cursor
