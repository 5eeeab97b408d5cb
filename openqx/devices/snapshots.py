"""Calibration snapshots: one dated set of IBM ``BackendProperties`` JSON for a device."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openqx.core.times import utc_from_stored

__all__ = ["CalibrationSnapshot", "parse_datetime", "snapshot_id_for"]


def snapshot_id_for(properties: dict[str, Any]) -> str:
    """Return the first 16 hex characters of the sha256 of the canonical JSON of ``properties``."""
    canonical = json.dumps(properties, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def parse_datetime(value: str | datetime) -> datetime:
    """Parse an ISO 8601 date (``Z`` accepted) into an aware UTC datetime.

    Naive values are taken to be UTC.

    Raises:
        ValueError: not an ISO 8601 date, or one outside years 1-9999 once converted to UTC.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    try:
        return utc_from_stored(value)
    except OverflowError as exc:
        raise ValueError(f"{value.isoformat()} is out of range when converted to UTC") from exc


@dataclass(frozen=True)
class CalibrationSnapshot:
    """Properties of a device as calibrated at one moment.

    Attributes:
        id: content hash of ``properties`` (16 hex characters); equal properties, equal id.
        last_update_date: aware UTC datetime of the calibration.
        properties: IBM ``BackendProperties`` JSON.
    """

    id: str
    last_update_date: datetime
    properties: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_properties(cls, properties: dict[str, Any]) -> CalibrationSnapshot:
        """Build a snapshot from a properties dict (which must carry ``last_update_date``).

        Raises:
            ValueError: the properties have no parseable ``last_update_date``.
        """
        raw = properties.get("last_update_date")
        if raw is None:
            raise ValueError("properties have no 'last_update_date'")
        return cls(
            id=snapshot_id_for(properties),
            last_update_date=parse_datetime(raw),
            properties=properties,
        )
