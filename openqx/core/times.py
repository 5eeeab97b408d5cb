"""Timestamps, and the two meanings of a datetime without a time zone.

Every moment the service stores, compares or sends is an aware UTC datetime. A *naive*
datetime means one of two things, and each meaning has its own function:

- ``utc_from_stored``: a value the service produced (a database row, since SQLite drops the
  zone; a keyset cursor; a timestamp on the wire; a calibration file): naive means UTC.
- ``utc_from_user``: a value a user passes to the client (``jobs(start_datetime=...)``,
  ``backend.properties(datetime=...)``): naive means the user's local time, as in the seed
  provider.

``local_from_stored`` turns a stored value into the user's local time for display.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["local_from_stored", "utc_from_stored", "utc_from_user"]


def utc_from_stored(value: datetime) -> datetime:
    """Return a stored or received ``value`` as an aware UTC datetime (naive means UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_from_user(value: datetime) -> datetime:
    """Return a user's ``value`` as an aware UTC datetime (naive means local time)."""
    if value.tzinfo is None:
        value = value.astimezone()  # a naive datetime's astimezone() reads it as local time
    return value.astimezone(UTC)


def local_from_stored(value: datetime) -> datetime:
    """Return a stored ``value`` as an aware datetime in local time (naive means UTC)."""
    return utc_from_stored(value).astimezone()
