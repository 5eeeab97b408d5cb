"""``/backends``: the device catalog, calibrations, status and job limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from openqx.core.wire import BackendStatusInfo, BackendSummary, JobLimitInfo
from openqx.devices.catalog import Device
from openqx.server.deps import CurrentUser, State
from openqx.server.state import ServiceState

__all__ = ["router"]

router = APIRouter(prefix="/backends")

STATUS_ACTIVE = "active"


def _summary(state: ServiceState, device: Device) -> BackendSummary:
    configuration = device.configuration
    snapshot = device.current_snapshot()
    return BackendSummary(
        name=device.name,
        simulator=device.simulator,
        num_qubits=device.num_qubits,
        operational=True,
        status_msg=STATUS_ACTIVE,
        pending_jobs=state.store.count_queued(device.name),
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
def list_backends(state: State, user: CurrentUser) -> list[BackendSummary]:
    """Every backend in the catalog."""
    return [_summary(state, device) for device in state.catalog.devices()]


@router.get("/{name}", response_model=BackendSummary)
def get_backend(name: str, state: State, user: CurrentUser) -> BackendSummary:
    """One backend."""
    return _summary(state, state.catalog.get(name))


@router.get("/{name}/configuration")
def configuration(name: str, state: State, user: CurrentUser) -> dict[str, Any]:
    """The backend configuration (IBM ``BackendConfiguration`` JSON)."""
    return state.catalog.get(name).configuration


@router.get("/{name}/properties")
def properties(
    name: str, state: State, user: CurrentUser, datetime: datetime | None = None
) -> dict[str, Any] | None:
    """Calibration properties: the current snapshot, or with ``datetime`` the newest one
    strictly older than it; ``null`` for ideal simulators."""
    device = state.catalog.get(name)
    if datetime is None:
        current = device.current_snapshot()
        return current.properties if current else None
    snapshot = device.snapshot_before(datetime)
    return snapshot.properties if snapshot else None


@router.get("/{name}/status", response_model=BackendStatusInfo)
def status(name: str, state: State, user: CurrentUser) -> BackendStatusInfo:
    """Operational flag and queue length."""
    summary = _summary(state, state.catalog.get(name))
    return BackendStatusInfo(
        backend_name=summary.name,
        backend_version=summary.backend_version,
        operational=summary.operational,
        pending_jobs=summary.pending_jobs,
        status_msg=summary.status_msg,
    )


@router.get("/{name}/job_limit", response_model=JobLimitInfo)
def job_limit(name: str, state: State, user: CurrentUser) -> JobLimitInfo:
    """The caller's limit and active jobs on this backend."""
    state.catalog.get(name)
    return JobLimitInfo(
        maximum_jobs=state.job_limit(name), active_jobs=state.store.count_active(user.id, name)
    )
