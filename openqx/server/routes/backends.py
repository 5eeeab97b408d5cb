"""``/backends``: the device catalog, calibrations, status and job limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from openqx.core.wire import BackendStatusInfo, BackendSummary, JobLimitInfo
from openqx.devices.catalog import Device
from openqx.server import permissions
from openqx.server.deps import CurrentUser, RequestInstance, ServiceDep
from openqx.server.service import Service

__all__ = ["router"]

router = APIRouter(prefix="/backends")

STATUS_ACTIVE = "active"
INPUT_ALLOWED = ("job", "runtime")
"""What every backend accepts: circuit jobs and the ``circuit-runner`` runtime program (the
configuration's ``input_allowed``, which the seed's ``backends(input_allowed=...)`` filters on)."""


def _summary(service: Service, device: Device) -> BackendSummary:
    configuration = device.configuration
    snapshot = device.current_snapshot()
    return BackendSummary(
        name=device.name,
        simulator=device.simulator,
        num_qubits=device.num_qubits,
        operational=True,
        status_msg=STATUS_ACTIVE,
        pending_jobs=service.store.count_queued(device.name),
        backend_version=str(configuration.get("backend_version", "0.0.0")),
        description=str(configuration.get("description") or ""),
        basis_gates=list(configuration.get("basis_gates", [])),
        max_shots=device.max_shots,
        max_experiments=device.max_experiments,
        simulation_method=device.simulation_method,
        processor_type=configuration.get("processor_type"),
        snapshot_id=snapshot.id if snapshot else None,
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
    name: str, service: ServiceDep, user: CurrentUser, datetime: datetime | None = None
) -> dict[str, Any] | None:
    """Calibration properties: the current snapshot, or with ``datetime`` the newest one
    strictly older than it; ``null`` for ideal simulators."""
    device = service.catalog.get(name)
    if datetime is None:
        current = device.current_snapshot()
        return current.properties if current else None
    snapshot = device.snapshot_before(datetime)
    return snapshot.properties if snapshot else None


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
