"""Instances for administrators: the hubs, groups and projects they administer, each unit's
members and roles, and the devices enabled for a project with their limits.

Read through the administration API's own route functions (``server.routes.admin``), so a
user who administers nothing gets that API's 403, as a page. Usage against share over the
fair-share window is read per device from the store's ``window_usage`` (what fair share
counts), for the unit and each unit below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

from openqx.core import errors
from openqx.core.access import Role
from openqx.core.tenancy_wire import DeviceGrantInfo, MembershipInfo, UnitInfo
from openqx.server.deps import ServiceDep
from openqx.server.routes import admin as admin_api
from openqx.server.service import Service
from openqx.store.records import UserRecord
from openqx.web.rendering import PageRoute, render
from openqx.web.security import PageUser

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _within(scope: str, unit: str) -> bool:
    return scope == unit or scope.startswith(unit + "/") or unit.startswith(scope + "/")


@dataclass(frozen=True, slots=True)
class UsageRow:
    """A unit's usage of one device in the fair-share window against its share."""

    unit: str
    backend: str
    seconds: float
    share: float

    @property
    def ratio(self) -> float | None:
        """Usage seconds per share unit (None for a zero share)."""
        return self.seconds / self.share if self.share > 0 else None


def usage_rows(service: Service, user: UserRecord, units: list[UnitInfo]) -> list[UsageRow]:
    """Usage in the window of each unit of ``units`` on each device it used, against the
    unit's share (a project's share on a device it has a grant for)."""
    grant_shares: dict[tuple[str, str], float] = {}
    for unit in units:
        if unit.kind == "project":
            for grant in admin_api.list_grants(service, user, instance=unit.name):
                grant_shares[(unit.name, grant.backend)] = float(grant.share)
    rows: list[UsageRow] = []
    for backend in service.catalog.names():
        usage = service.store.window_usage(backend)
        for unit in units:
            seconds = sum(
                used
                for project, used in usage.items()
                if project == unit.name or project.startswith(unit.name + "/")
            )
            if seconds <= 0:
                continue
            share = grant_shares.get((unit.name, backend), float(unit.share))
            rows.append(UsageRow(unit.name, backend, seconds, share))
    return rows


@router.get("/instances")
def instances_page(request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """Every unit the user administers (``GET /admin/units``)."""
    units = admin_api.list_units(service, signed_in.user)
    context = {"signed_in": signed_in, "units": units}
    return render(request, "instances.html", context)


@router.get("/instances/{scope:path}")
def instance_page(
    scope: str, request: Request, service: ServiceDep, signed_in: PageUser
) -> Response:
    """One unit: its subtree, members and roles, and (for a project) its devices."""
    user = signed_in.user
    units = admin_api.list_units(service, user, under=scope)
    unit = next((u for u in units if u.name == scope), None)
    if unit is None:
        raise errors.NotFoundError(f"There is no unit {scope!r}.")
    members: list[dict[str, Any]] = []
    for account in admin_api.list_users(service, user):
        try:
            held = admin_api.get_user(account.user, service, user).memberships
        except errors.PermissionDeniedError:  # also in units this admin does not manage
            held = [MembershipInfo(scope=i, role=Role.MEMBER) for i in account.instances]
        roles = [m for m in held if _within(m.scope, scope)]
        if roles:
            members.append({"name": account.user, "is_admin": account.is_admin, "roles": roles})
    grants: list[DeviceGrantInfo] | None = None
    if unit.kind == "project":
        grants = admin_api.list_grants(service, user, instance=scope)
    context = {
        "signed_in": signed_in,
        "unit": unit,
        "units": [u for u in units if u.name != scope],
        "members": members,
        "grants": grants,
        "usage": usage_rows(service, user, units),
        "window_days": f"{service.settings.fairshare_window_days:g}",
    }
    return render(request, "instance.html", context)
