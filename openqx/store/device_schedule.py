"""Reservations and maintenance windows of devices: the ``TenancyStore``-style mixin that
writes them and the reads the claim makes inside its transaction.

A reservation gives one instance (``hub/group/project``) a device alone from ``start_at`` to
``end_at``; windows on one device never overlap. A maintenance window takes a device offline
from ``start_at`` until ``end_at`` (open-ended until ended). Claims on a device under
maintenance find nothing; claims during a reservation see only its instance's jobs
(``reservation_admits``). Jobs already running when a window starts finish. A maintenance
window that has not started may be cancelled (``cancel_maintenance``); the current one is
ended (``end_maintenance``). ``start_holds`` lists the windows that keep a device from
starting a project's jobs (for queue estimates).
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from openqx.core.clock import Clock
from openqx.core.errors import InvalidInputError, InvalidStateError, NotFoundError
from openqx.core.instances import split_instance
from openqx.store.models import DeviceMaintenance, DeviceReservation, Project

__all__ = [
    "PAST_TOLERANCE",
    "DeviceScheduleStore",
    "MaintenanceRecord",
    "ReservationRecord",
    "StartHolds",
    "active_maintenance",
    "active_reservation",
    "maintenance_at",
    "reservation_admits",
    "reservation_at",
]

reservations = cast(sa.Table, DeviceReservation.__table__)
maintenance = cast(sa.Table, DeviceMaintenance.__table__)
projects = cast(sa.Table, Project.__table__)

PAST_TOLERANCE = timedelta(minutes=1)
"""A window may start this much before now (a request in flight); earlier is refused."""


@dataclass(frozen=True, slots=True)
class ReservationRecord:
    """A device reserved for an instance over ``[start_at, end_at)``."""

    id: str
    backend: str
    instance: str
    start_at: datetime
    end_at: datetime
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MaintenanceRecord:
    """A device offline over ``[start_at, end_at)`` (``end_at`` None: until ended)."""

    id: str
    backend: str
    start_at: datetime
    end_at: datetime | None
    message: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StartHolds:
    """The windows not yet over in which a device starts no job of one instance, by start:
    ``(start, end)``, ``end`` None for maintenance until ended."""

    maintenance: list[tuple[datetime, datetime | None]]
    reservations: list[tuple[datetime, datetime]]
    """Reservations of other instances."""


def _reservation(row: Any) -> ReservationRecord:
    return ReservationRecord(
        row.id, row.backend, row.instance, row.start_at, row.end_at, row.created_by, row.created_at
    )


def _maintenance(row: Any) -> MaintenanceRecord:
    return MaintenanceRecord(
        row.id, row.backend, row.start_at, row.end_at, row.message, row.created_by, row.created_at
    )


def reservation_at(backend: Any, now: Any) -> sa.Select[Any]:
    """The instance ``backend`` is reserved for at ``now`` (values or bound parameters)."""
    return (
        sa.select(reservations.c.instance)
        .where(
            reservations.c.backend == backend,
            reservations.c.start_at <= now,
            reservations.c.end_at > now,
        )
        .order_by(reservations.c.start_at)
        .limit(1)
    )


def reservation_admits(reserved: str | None, instance: str) -> bool:
    """Whether a device reserved for ``reserved`` (None: not reserved) may start a job of
    ``instance``: during a reservation only the reserved instance's jobs start."""
    return reserved is None or reserved == instance


def active_reservation(conn: sa.Connection, backend: str, now: datetime) -> str | None:
    """The instance ``backend`` is reserved for at ``now``, or None."""
    return conn.execute(reservation_at(backend, now)).scalar_one_or_none()


def maintenance_at(backend: Any, now: Any) -> sa.Select[Any]:
    """The maintenance window ``backend`` is in at ``now`` (values or bound parameters)."""
    return (
        sa.select(maintenance)
        .where(
            maintenance.c.backend == backend,
            maintenance.c.start_at <= now,
            sa.or_(maintenance.c.end_at.is_(None), maintenance.c.end_at > now),
        )
        .order_by(maintenance.c.start_at)
        .limit(1)
    )


def active_maintenance(
    conn: sa.Connection, backend: str, now: datetime
) -> MaintenanceRecord | None:
    """The maintenance window ``backend`` is in at ``now``, or None."""
    row = conn.execute(maintenance_at(backend, now)).first()
    return None if row is None else _maintenance(row)


def _check_window(start: datetime, end: datetime | None, now: datetime, what: str) -> None:
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise InvalidInputError(f"The {what} times must carry a time zone.")
    if end is not None and end <= start:
        raise InvalidInputError(
            f"The {what} must end after it starts (start {start.isoformat()}, "
            f"end {end.isoformat()})."
        )
    if end is not None and end <= now:
        raise InvalidInputError(f"The {what} window ends in the past ({end.isoformat()}).")
    if start < now - PAST_TOLERANCE:
        raise InvalidInputError(f"The {what} window starts in the past ({start.isoformat()}).")


class DeviceScheduleStore:
    """Reservations and maintenance (mixin: the store provides ``_transaction`` and ``clock``).

    The caller checks that the device exists; the store checks the instance and the windows.
    """

    clock: Clock

    def _transaction(
        self, *, write: bool = False, integrity_message: str | None = None
    ) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def create_reservation(
        self, backend: str, instance: str, start: datetime, end: datetime, *, created_by: str
    ) -> ReservationRecord:
        """Reserve ``backend`` for ``instance`` over ``[start, end)``.

        Raises:
            InvalidInputError: end not after start, a window in the past, a malformed
                instance, or an overlap with another reservation of the device.
            NotFoundError: no such project.
        """
        now = self.clock.now()
        _check_window(start, end, now, "reservation")
        try:
            split_instance(instance)
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="instance") from None
        with self._transaction(write=True) as conn:
            known = conn.execute(
                sa.select(projects.c.instance).where(projects.c.instance == instance)
            ).first()
            if known is None:
                raise NotFoundError(f"There is no project {instance!r}.")
            clash = conn.execute(
                sa.select(reservations).where(
                    reservations.c.backend == backend,
                    reservations.c.start_at < end,
                    reservations.c.end_at > start,
                )
            ).first()
            if clash is not None:
                raise InvalidInputError(
                    f"Device {backend} is already reserved from {clash.start_at.isoformat()} "
                    f"to {clash.end_at.isoformat()}; reservations may not overlap."
                )
            values: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "backend": backend,
                "instance": instance,
                "start_at": start,
                "end_at": end,
                "created_by": created_by,
                "created_at": now,
            }
            conn.execute(sa.insert(reservations).values(values))
            return ReservationRecord(**values)

    def list_reservations(
        self,
        *,
        backend: str | None = None,
        instance: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[ReservationRecord]:
        """Reservations overlapping ``[start, end)`` (either open), by start."""
        conditions = []
        if backend is not None:
            conditions.append(reservations.c.backend == backend)
        if instance is not None:
            conditions.append(reservations.c.instance == instance)
        if end is not None:
            conditions.append(reservations.c.start_at < end)
        if start is not None:
            conditions.append(reservations.c.end_at > start)
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(reservations).where(*conditions).order_by(reservations.c.start_at)
            ).all()
        return [_reservation(r) for r in rows]

    def get_reservation(self, reservation_id: str) -> ReservationRecord:
        """One reservation; NotFoundError when absent."""
        with self._transaction() as conn:
            row = conn.execute(
                sa.select(reservations).where(reservations.c.id == reservation_id)
            ).first()
        if row is None:
            raise NotFoundError(f"There is no reservation {reservation_id!r}.")
        return _reservation(row)

    def delete_reservation(self, reservation_id: str) -> None:
        """Cancel a reservation; NotFoundError when absent."""
        with self._transaction(write=True) as conn:
            deleted = conn.execute(
                sa.delete(reservations).where(reservations.c.id == reservation_id)
            )
            if deleted.rowcount == 0:
                raise NotFoundError(f"There is no reservation {reservation_id!r}.")

    def start_maintenance(
        self,
        backend: str,
        *,
        message: str,
        created_by: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> MaintenanceRecord:
        """Take ``backend`` offline from ``start`` (default now) until ``end`` (default: until
        ``end_maintenance``).

        Raises:
            InvalidInputError: end not after start, a window in the past, an overlap with
                another maintenance window of the device.
        """
        now = self.clock.now()
        begin = start or now
        _check_window(begin, end, now, "maintenance")
        with self._transaction(write=True) as conn:
            overlap = [maintenance.c.backend == backend]
            overlap.append(sa.or_(maintenance.c.end_at.is_(None), maintenance.c.end_at > begin))
            if end is not None:
                overlap.append(maintenance.c.start_at < end)
            clash = conn.execute(sa.select(maintenance).where(*overlap)).first()
            if clash is not None:
                raise InvalidInputError(
                    f"Device {backend} already has a maintenance window from "
                    f"{clash.start_at.isoformat()}"
                    + (f" to {clash.end_at.isoformat()}" if clash.end_at else " (open-ended)")
                    + "; maintenance windows may not overlap."
                )
            values: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "backend": backend,
                "start_at": begin,
                "end_at": end,
                "message": message,
                "created_by": created_by,
                "created_at": now,
            }
            conn.execute(sa.insert(maintenance).values(values))
            return MaintenanceRecord(**values)

    def end_maintenance(self, backend: str) -> MaintenanceRecord:
        """End the maintenance ``backend`` is in now (its ``end_at`` becomes now).

        Raises:
            NotFoundError: the device is not under maintenance.
        """
        now = self.clock.now()
        with self._transaction(write=True) as conn:
            current = active_maintenance(conn, backend, now)
            if current is None:
                raise NotFoundError(f"Device {backend} is not under maintenance.")
            conn.execute(
                sa.update(maintenance).where(maintenance.c.id == current.id).values(end_at=now)
            )
        return MaintenanceRecord(
            current.id,
            backend,
            current.start_at,
            now,
            current.message,
            current.created_by,
            current.created_at,
        )

    def cancel_maintenance(self, window_id: str) -> MaintenanceRecord:
        """Remove a maintenance window that has not started yet.

        Raises:
            NotFoundError: no window has this id.
            InvalidStateError: the window has started (end the current one with
                ``end_maintenance``) or is over.
        """
        now = self.clock.now()
        with self._transaction(write=True) as conn:
            row = conn.execute(sa.select(maintenance).where(maintenance.c.id == window_id)).first()
            if row is None:
                raise NotFoundError(f"There is no maintenance window {window_id!r}.")
            window = _maintenance(row)
            if window.end_at is not None and window.end_at <= now:
                raise InvalidStateError(
                    f"The maintenance window {window_id} of {window.backend} is already over "
                    f"(it ended {window.end_at.isoformat()})."
                )
            if window.start_at <= now:
                raise InvalidStateError(
                    f"The maintenance window {window_id} of {window.backend} has already "
                    f"started ({window.start_at.isoformat()}); end it with "
                    f"'openqx admin maintenance-end {window.backend}' "
                    f"(DELETE /admin/maintenance/{window.backend})."
                )
            conn.execute(sa.delete(maintenance).where(maintenance.c.id == window_id))
        return window

    def device_maintenance(self, backend: str) -> MaintenanceRecord | None:
        """The maintenance window ``backend`` is in now, or None."""
        with self._transaction() as conn:
            return active_maintenance(conn, backend, self.clock.now())

    def list_maintenance(self, backend: str | None = None) -> list[MaintenanceRecord]:
        """Maintenance windows not yet over (current and future), by start."""
        now = self.clock.now()
        conditions: list[Any] = [sa.or_(maintenance.c.end_at.is_(None), maintenance.c.end_at > now)]
        if backend is not None:
            conditions.append(maintenance.c.backend == backend)
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(maintenance).where(*conditions).order_by(maintenance.c.start_at)
            ).all()
        return [_maintenance(r) for r in rows]

    def start_holds(self, backend: str, instance: str) -> StartHolds:
        """The windows not yet over in which ``backend`` starts no job of ``instance``: its
        maintenance windows and the reservations that do not admit ``instance``
        (``reservation_admits``), each by start."""
        now = self.clock.now()
        return StartHolds(
            maintenance=[(w.start_at, w.end_at) for w in self.list_maintenance(backend)],
            reservations=[
                (r.start_at, r.end_at)
                for r in self.list_reservations(backend=backend, start=now)
                if not reservation_admits(r.instance, instance)
            ],
        )
