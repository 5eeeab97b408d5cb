"""Column types shared by the models and the migrations.

``UTCDateTime`` makes timestamps behave the same on both databases: aware datetimes go in
(naive ones are taken as UTC), aware UTC datetimes always come out. SQLite keeps them as naive
UTC text in SQLAlchemy's fixed-width format, so text order is time order; PostgreSQL keeps them
as ``timestamptz``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from openqx.core.times import utc_from_stored

__all__ = ["JSONType", "UTCDateTime"]

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Normalise to UTC; SQLite gets a naive UTC value (it has no time zones)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        utc = utc_from_stored(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach (SQLite) or convert to (PostgreSQL) UTC."""
        if value is None:
            return None
        return utc_from_stored(value)
