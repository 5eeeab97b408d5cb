"""``BackendReservation``: a device reserved for a project over a window (the seed's class).

Built from ``core.schedule_wire.ReservationInfo``; ``mode``, ``reservation_id`` and
``creation_datetime`` are set only for the reservation's owner (members and administrators
of the project). Times are in local time, as the seed shows them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openqx.core.schedule_wire import ReservationInfo
from openqx.core.times import local_from_stored

__all__ = ["BackendReservation", "reservations_from_wire"]


class BackendReservation:
    """A reservation of ``backend_name`` from ``start_datetime`` to ``end_datetime``.

    ``duration`` is in minutes (whole days included, unlike the seed's quirk).
    """

    def __init__(
        self,
        backend_name: str,
        start_datetime: datetime,
        end_datetime: datetime,
        mode: str | None = None,
        reservation_id: str | None = None,
        creation_datetime: datetime | None = None,
        hub_info: dict[str, str | None] | None = None,
    ) -> None:
        self.backend_name = backend_name
        self.start_datetime = start_datetime
        self.end_datetime = end_datetime
        self.duration = int((end_datetime - start_datetime).total_seconds() // 60)
        self.mode = mode
        self.reservation_id = reservation_id
        self.creation_datetime = creation_datetime
        info = hub_info or {}
        self.hub = info.get("hub")
        self.group = info.get("group")
        self.project = info.get("project")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BackendReservation):
            return NotImplemented
        if self.backend_name != other.backend_name:
            return False
        if self.reservation_id and other.reservation_id:
            return self.reservation_id == other.reservation_id
        return (self.start_datetime, self.end_datetime) == (
            other.start_datetime,
            other.end_datetime,
        )

    def __hash__(self) -> int:
        return hash((self.backend_name, self.start_datetime, self.end_datetime))

    def __repr__(self) -> str:
        fields: list[str] = []
        for name, value in vars(self).items():
            if value is None:
                continue
            shown: Any = value.isoformat() if isinstance(value, datetime) else repr(value)
            fields.append(f"{name}={shown}" if isinstance(value, datetime) else f"{name}={shown}")
        return f"<{type(self).__name__}({', '.join(fields)})>"


def reservations_from_wire(data: Any) -> list[BackendReservation]:
    """``BackendReservation``s from a list of ``ReservationInfo`` JSON objects."""
    out: list[BackendReservation] = []
    for item in data or []:
        info = ReservationInfo.model_validate(item)
        out.append(
            BackendReservation(
                backend_name=info.backend,
                start_datetime=local_from_stored(info.start),
                end_datetime=local_from_stored(info.end),
                mode=info.mode,
                reservation_id=info.id,
                creation_datetime=(
                    local_from_stored(info.created_at) if info.created_at is not None else None
                ),
                hub_info={"hub": info.hub, "group": info.group, "project": info.project},
            )
        )
    return out
