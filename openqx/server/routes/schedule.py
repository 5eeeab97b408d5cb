"""Device reservations and maintenance: ``/admin/reservations``, ``/admin/maintenance``,
``GET /backends/{name}/reservations`` and ``GET /reservations`` (the caller's).

Server administrators reserve any device for any project; a hub administrator reserves for
the projects of their hub. Maintenance is server-wide: server
administrators only (a window that has not started is cancelled by its id, the current one is
ended by device). Every change is audited. Bad windows are 400s naming the problem, an
unknown device or project a 404 (``DeviceScheduleStore``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from openqx.core import errors
from openqx.core.schedule_wire import (
    MaintenanceCreate,
    MaintenanceInfo,
    ReservationCreate,
    ReservationInfo,
)
from openqx.core.times import utc_from_stored
from openqx.core.wire import UtcDatetime
from openqx.server import permissions
from openqx.server.deps import CurrentUser, ServiceDep
from openqx.store.device_schedule import MaintenanceRecord, ReservationRecord
from openqx.store.records import UserRecord

__all__ = ["DEDICATED_MODE", "router"]

router = APIRouter(tags=["reservations"])

DEDICATED_MODE = "dedicated"


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc_from_stored(value)


def _owns(user: UserRecord, reservation: ReservationRecord) -> bool:
    return reservation.instance in user.instances or user.viewer.administers(reservation.instance)


def reservation_info(reservation: ReservationRecord, *, owner: bool) -> ReservationInfo:
    """The API view of a reservation (owner-only fields for the owner)."""
    hub, group, project = reservation.instance.split("/", 2)
    info = ReservationInfo(
        backend=reservation.backend,
        start=reservation.start_at,
        end=reservation.end_at,
        hub=hub,
        group=group,
        project=project,
    )
    if owner:
        info.id = reservation.id
        info.mode = DEDICATED_MODE
        info.created_at = reservation.created_at
    return info


def _maintenance(window: MaintenanceRecord) -> MaintenanceInfo:
    return MaintenanceInfo(
        id=window.id,
        backend=window.backend,
        start=window.start_at,
        end=window.end_at,
        message=window.message,
    )


@router.post("/admin/reservations", response_model=ReservationInfo, status_code=201)
def create_reservation(
    body: ReservationCreate, service: ServiceDep, user: CurrentUser
) -> ReservationInfo:
    """Reserve a device for a project over a window (no overlap, not in the past)."""
    permissions.require_admin_over(user, body.instance.split("/", 1)[0])
    service.catalog.get(body.backend)
    start, end = _utc(body.start), _utc(body.end)
    assert start is not None and end is not None
    made = service.store.create_reservation(
        body.backend, body.instance, start, end, created_by=user.name
    )
    permissions.audit(
        service,
        user,
        "create_reservation",
        f"{made.backend}:{made.id}",
        made.instance,
        start=made.start_at.isoformat(),
        end=made.end_at.isoformat(),
    )
    service.dispatcher.wake()
    return reservation_info(made, owner=True)


@router.delete("/admin/reservations/{reservation_id}", status_code=204)
def delete_reservation(reservation_id: str, service: ServiceDep, user: CurrentUser) -> Response:
    """Cancel a reservation (server administrators and its hub's administrators)."""
    found = service.store.get_reservation(reservation_id)
    permissions.require_admin_over(user, found.instance.split("/", 1)[0])
    service.store.delete_reservation(reservation_id)
    permissions.audit(
        service, user, "delete_reservation", f"{found.backend}:{found.id}", found.instance
    )
    service.dispatcher.wake()
    return Response(status_code=204)


@router.get("/backends/{name}/reservations", response_model=list[ReservationInfo])
def backend_reservations(
    name: str,
    service: ServiceDep,
    user: CurrentUser,
    start: UtcDatetime | None = None,
    end: UtcDatetime | None = None,
) -> list[ReservationInfo]:
    """Reservations of a device overlapping ``[start, end)`` (either open)."""
    service.catalog.get(name)
    first, last = _utc(start), _utc(end)
    if first is not None and last is not None and first > last:
        raise errors.InvalidInputError("start is after end.", field="start")
    found = service.store.list_reservations(backend=name, start=first, end=last)
    return [reservation_info(r, owner=_owns(user, r)) for r in found]


@router.get("/reservations", response_model=list[ReservationInfo])
def my_reservations(service: ServiceDep, user: CurrentUser) -> list[ReservationInfo]:
    """The reservations of the caller's projects that have not ended."""
    now = service.clock.now()
    mine: list[ReservationRecord] = []
    for instance in user.instances:
        mine += service.store.list_reservations(instance=instance, start=now)
    mine.sort(key=lambda r: (r.start_at, r.backend))
    return [reservation_info(r, owner=True) for r in mine]


@router.post("/admin/maintenance", response_model=MaintenanceInfo, status_code=201)
def start_maintenance(
    body: MaintenanceCreate, service: ServiceDep, user: CurrentUser
) -> MaintenanceInfo:
    """Take a device offline now or for a window (server administrators)."""
    permissions.require_server_admin(user)
    service.catalog.get(body.backend)
    window = service.store.start_maintenance(
        body.backend,
        message=body.message or "",
        created_by=user.name,
        start=_utc(body.start),
        end=_utc(body.end),
    )
    permissions.audit(service, user, "start_maintenance", body.backend, "", message=window.message)
    return _maintenance(window)


@router.get("/admin/maintenance", response_model=list[MaintenanceInfo])
def list_maintenance(
    service: ServiceDep, user: CurrentUser, backend: str | None = None
) -> list[MaintenanceInfo]:
    """Maintenance windows not yet over."""
    permissions.require_server_admin(user)
    return [_maintenance(w) for w in service.store.list_maintenance(backend)]


@router.delete("/admin/maintenance/{backend}", response_model=MaintenanceInfo)
def end_maintenance(backend: str, service: ServiceDep, user: CurrentUser) -> MaintenanceInfo:
    """End a device's current maintenance; its queue resumes."""
    permissions.require_server_admin(user)
    service.catalog.get(backend)
    window = service.store.end_maintenance(backend)
    permissions.audit(service, user, "end_maintenance", backend, "")
    service.dispatcher.wake()
    return _maintenance(window)


@router.delete("/admin/maintenance/windows/{window_id}", response_model=MaintenanceInfo)
def cancel_maintenance(window_id: str, service: ServiceDep, user: CurrentUser) -> MaintenanceInfo:
    """Cancel a maintenance window that has not started (404 for an unknown id, 409 for one
    that has started: end it with ``DELETE /admin/maintenance/{backend}``)."""
    permissions.require_server_admin(user)
    window = service.store.cancel_maintenance(window_id)
    permissions.audit(
        service,
        user,
        "cancel_maintenance",
        f"{window.backend}:{window.id}",
        "",
        start=window.start_at.isoformat(),
        end=window.end_at.isoformat() if window.end_at else None,
    )
    return _maintenance(window)
