"""The reservations and maintenance half of the ``JobStore`` port (``device_schedule.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from openqx.store.device_schedule import MaintenanceRecord, ReservationRecord, StartHolds

__all__ = ["DeviceSchedulePort"]


class DeviceSchedulePort(Protocol):
    """Reservations and maintenance windows of devices."""

    def create_reservation(
        self, backend: str, instance: str, start: datetime, end: datetime, *, created_by: str
    ) -> ReservationRecord:
        """Reserve ``backend`` for ``instance`` over ``[start, end)``; InvalidInputError for
        a bad, past or overlapping window, NotFoundError for an unknown project."""

    def list_reservations(
        self,
        *,
        backend: str | None = None,
        instance: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[ReservationRecord]:
        """Reservations overlapping ``[start, end)`` (either open), by start."""

    def get_reservation(self, reservation_id: str) -> ReservationRecord:
        """One reservation; NotFoundError when absent."""

    def delete_reservation(self, reservation_id: str) -> None:
        """Cancel a reservation; NotFoundError when absent."""

    def start_maintenance(
        self,
        backend: str,
        *,
        message: str,
        created_by: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> MaintenanceRecord:
        """Take ``backend`` offline from ``start`` (now) until ``end`` (until ended);
        InvalidInputError for a bad, past or overlapping window."""

    def end_maintenance(self, backend: str) -> MaintenanceRecord:
        """End the current maintenance of ``backend``; NotFoundError when there is none."""

    def cancel_maintenance(self, window_id: str) -> MaintenanceRecord:
        """Remove a maintenance window that has not started; NotFoundError for an unknown
        id, InvalidStateError for a window that has started or is over."""

    def device_maintenance(self, backend: str) -> MaintenanceRecord | None:
        """The maintenance window ``backend`` is in now, or None."""

    def list_maintenance(self, backend: str | None = None) -> list[MaintenanceRecord]:
        """Maintenance windows not yet over, by start."""

    def start_holds(self, backend: str, instance: str) -> StartHolds:
        """The windows not yet over in which ``backend`` starts no job of ``instance``
        (maintenance, other instances' reservations)."""
