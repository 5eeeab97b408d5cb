"""The devices list and a device's page (coupling map, calibration history).

Devices are listed through the API's own ``GET /backends`` function (the devices enabled for
the user's default instance) and read through ``GET /backends/{name}``'s; calibration comes
from the catalog's history as ``GET /backends/{name}/properties`` reads it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from openqx.server import permissions
from openqx.server.deps import ServiceDep
from openqx.server.routes import backends as backends_api
from openqx.server.routes import schedule as schedule_api
from openqx.web import calibration
from openqx.web.rendering import PageRoute, render
from openqx.web.security import PageUser

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HISTORY_DAYS = 14
"""The calibration history charts cover this many days up to now."""


@router.get("/devices")
def devices_page(request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """Every device the user may use: status, queue length, qubits and median errors."""
    user = signed_in.user
    instance = permissions.request_instance(user, None)
    rows = []
    for summary in backends_api.list_backends(service, user, instance):
        properties = None
        if not summary.simulator:
            snapshot = service.catalog.get(summary.name).current_snapshot()
            properties = snapshot.properties if snapshot else None
        rows.append({"backend": summary, "summary": calibration.summarize(properties)})
    context = {"signed_in": signed_in, "rows": rows, "instance": instance}
    return render(request, "devices.html", context)


def _history(device: Any, now: Any) -> dict[str, list[Any]]:
    """Median T1, T2, readout and gate errors of each snapshot of the last ``HISTORY_DAYS``."""
    series: dict[str, list[Any]] = {
        "dates": [],
        "t1": [],
        "t2": [],
        "readout": [],
        "gate_1q": [],
        "gate_2q": [],
    }
    for snapshot in device.snapshots_between(now - timedelta(days=HISTORY_DAYS), now):
        summary = calibration.summarize(snapshot.properties)
        series["dates"].append(snapshot.last_update_date.strftime("%Y-%m-%d %H:%M"))
        series["t1"].append(summary.t1_us)
        series["t2"].append(summary.t2_us)
        series["readout"].append(summary.readout_error)
        series["gate_1q"].append(summary.gate_error_1q)
        series["gate_2q"].append(summary.gate_error_2q)
    return series


@router.get("/devices/{name}")
def device_page(name: str, request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """One device: its summary, coupling map coloured by errors, calibration history."""
    backend = backends_api.get_backend(name, service, signed_in.user)
    device = service.catalog.get(name)
    properties = backends_api.properties(name, service, signed_in.user)
    coupling = device.configuration.get("coupling_map") or []
    svg = None
    if not device.simulator and backend.num_qubits <= 200:
        svg = Markup(  # noqa: S704 (built from numbers, labels escaped)
            calibration.coupling_map_svg(backend.num_qubits, coupling, properties)
        )
    now = service.clock.now()
    history = None if device.simulator else _history(device, now)
    reservations = schedule_api.backend_reservations(name, service, signed_in.user, start=now)
    context = {
        "signed_in": signed_in,
        "backend": backend,
        "summary": calibration.summarize(properties),
        "coupling_svg": svg,
        "history": history,
        "history_days": HISTORY_DAYS,
        "basis_gates": ", ".join(backend.basis_gates),
        "last_update": properties.get("last_update_date") if properties else None,
        "reservations": reservations,
        "maintenance": service.store.device_maintenance(name),
    }
    return render(request, "device.html", context)
