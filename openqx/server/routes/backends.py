"""``/backends``: the device catalog, calibrations, status and job limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from openqx.core import errors
from openqx.core.times import utc_from_stored
from openqx.core.wire import (
    BackendStatusInfo,
    BackendSummary,
    CalibrationSnapshotInfo,
    JobLimitInfo,
    UtcDatetime,
)
from openqx.devices.catalog import Device
from openqx.server import permissions
from openqx.server.deps import AdminUser, CurrentUser, RequestInstance, ServiceDep
from openqx.server.service import Service

__all__ = ["MAX_SNAPSHOTS", "maintenance_status", "router"]

router = APIRouter(prefix="/backends")

STATUS_ACTIVE = "active"
INPUT_ALLOWED = ("job", "runtime")
"""What every backend accepts: circuit jobs and the ``circuit-runner`` runtime program (the
configuration's ``input_allowed``, which the seed's ``backends(input_allowed=...)`` filters on)."""
MAX_SNAPSHOTS = 1000
"""Most snapshots one ``GET /backends/{name}/snapshots`` lists."""
DEFAULT_SNAPSHOT_DAYS = 30
"""The window ``GET /backends/{name}/snapshots`` lists when ``start`` is not given (days)."""


def maintenance_status(message: str) -> str:
    """``status_msg`` of a device under maintenance: ``maintenance``, or
    ``maintenance: <message>`` when the administrator gave one."""
    return f"maintenance: {message}" if message else "maintenance"


def _summary(service: Service, device: Device) -> BackendSummary:
    configuration = device.configuration
    snapshot_id = device.current_snapshot_id()
    offline = service.store.device_maintenance(device.name)
    return BackendSummary(
        name=device.name,
        simulator=device.simulator,
        num_qubits=device.num_qubits,
        operational=offline is None,
        status_msg=STATUS_ACTIVE if offline is None else maintenance_status(offline.message),
        pending_jobs=service.store.count_queued(device.name),
        backend_version=str(configuration.get("backend_version", "0.0.0")),
        description=str(configuration.get("description") or ""),
        basis_gates=list(configuration.get("basis_gates", [])),
        max_shots=device.max_shots,
        max_experiments=device.max_experiments,
        simulation_method=device.simulation_method,
        processor_type=configuration.get("processor_type"),
        snapshot_id=snapshot_id,
    )


@router.get("", response_model=list[BackendSummary])
def list_backends(
    service: ServiceDep, user: CurrentUser, instance: RequestInstance
) -> list[BackendSummary]:
    """The backends enabled for the request's instance (every backend in the catalog for a
    project without device grants)."""
    enabled = permissions.enabled_backends(service, instance)
    return [
        _summary(service, device)
        for device in service.catalog.devices()
        if enabled is None or device.name in enabled
    ]


@router.get("/{name}", response_model=BackendSummary)
def get_backend(name: str, service: ServiceDep, user: CurrentUser) -> BackendSummary:
    """One backend."""
    return _summary(service, service.catalog.get(name))


@router.get("/{name}/configuration")
def configuration(name: str, service: ServiceDep, user: CurrentUser) -> dict[str, Any]:
    """The backend configuration (IBM ``BackendConfiguration`` JSON); ``input_allowed`` lists
    what this service accepts for it, whatever the device's snapshot said."""
    configuration = service.catalog.get(name).configuration
    stated = configuration.get("input_allowed")
    known = list(stated) if isinstance(stated, list) else []
    allowed = known + [kind for kind in INPUT_ALLOWED if kind not in known]
    if allowed == stated:
        return configuration
    return {**configuration, "input_allowed": allowed}


@router.get("/{name}/properties")
def properties(
    name: str, service: ServiceDep, user: CurrentUser, datetime: UtcDatetime | None = None
) -> dict[str, Any] | None:
    """Calibration properties: the snapshot in force now, or with ``datetime`` the newest one
    strictly older than it (the seed's rule; a naive ``datetime`` is UTC, and ``null`` before
    the first snapshot); ``null`` for ideal simulators."""
    device = service.catalog.get(name)
    if datetime is None:
        current = device.current_snapshot()
        return current.properties if current else None
    snapshot = device.snapshot_before(datetime)
    return snapshot.properties if snapshot else None


@router.post("/{name}/properties", response_model=CalibrationSnapshotInfo, status_code=201)
def import_properties(
    name: str,
    service: ServiceDep,
    user: AdminUser,
    properties: Annotated[dict[str, Any], Body()],
) -> CalibrationSnapshotInfo:
    """Import a real ``BackendProperties`` JSON snapshot into the device's history (admin).

    A malformed field is a 400 naming it (``details.field``) and nothing is stored; a
    different snapshot with the same date is a 400 too; importing the same one again answers
    the stored snapshot.
    """
    snapshot = service.import_properties(name, properties)
    return CalibrationSnapshotInfo(
        snapshot_id=snapshot.id, last_update_date=snapshot.last_update_date, imported=True
    )


@router.get("/{name}/snapshots", response_model=list[CalibrationSnapshotInfo])
def snapshots(
    name: str,
    service: ServiceDep,
    user: CurrentUser,
    start: UtcDatetime | None = None,
    end: UtcDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SNAPSHOTS)] = 100,
) -> list[CalibrationSnapshotInfo]:
    """The snapshots dated in ``[start, end]`` (default: the last ``DEFAULT_SNAPSHOT_DAYS``
    days up to now; naive times are UTC), oldest first, at most ``limit``; empty for ideal
    simulators."""
    device = service.catalog.get(name)
    last = utc_from_stored(end) if end is not None else service.clock.now()
    if start is None:
        first = _days_before(last, DEFAULT_SNAPSHOT_DAYS)
    else:
        first = utc_from_stored(start)
    if first > last:
        raise errors.InvalidInputError("start is after end.", field="start")
    if device.simulator:
        return []
    history = device.history
    return [
        CalibrationSnapshotInfo(
            snapshot_id=snapshot_id,
            last_update_date=date,
            imported=history.is_imported(snapshot_id),
        )
        for snapshot_id, date in history.ids_between(first, last, limit=limit)
    ]


@router.get("/{name}/defaults")
def defaults(name: str, service: ServiceDep, user: CurrentUser) -> dict[str, Any] | None:
    """Pulse defaults derived from the snapshot in force (the seed's ``PulseDefaults`` JSON);
    ``null`` for simulators and devices without frequency calibration."""
    found = service.catalog.get(name).defaults()
    return found.to_dict() if found is not None else None


def _days_before(moment: datetime, days: int) -> datetime:
    """``moment`` less ``days`` days, or the earliest date when that is before year 1."""
    try:
        return moment - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


@router.get("/{name}/status", response_model=BackendStatusInfo)
def status(name: str, service: ServiceDep, user: CurrentUser) -> BackendStatusInfo:
    """Operational flag and queue length."""
    summary = _summary(service, service.catalog.get(name))
    return BackendStatusInfo(
        backend_name=summary.name,
        backend_version=summary.backend_version,
        operational=summary.operational,
        pending_jobs=summary.pending_jobs,
        status_msg=summary.status_msg,
    )


@router.get("/{name}/job_limit", response_model=JobLimitInfo)
def job_limit(
    name: str, service: ServiceDep, user: CurrentUser, instance: RequestInstance
) -> JobLimitInfo:
    """The caller's limit and active jobs on this backend through the request's instance."""
    service.catalog.get(name)
    return JobLimitInfo(
        maximum_jobs=permissions.job_limit_for(service, instance, name),
        active_jobs=service.store.count_active_in(user.id, name, instance),
    )
