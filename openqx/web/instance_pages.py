"""Instances for administrators: the hubs, groups and projects they administer, each unit's
members and roles, and the devices enabled for a project with their limits.

Read through the administration API's own route functions (``server.routes.admin``), so a
user who administers nothing gets that API's 403, as a page. Usage against share over the
fair-share window is not shown: the scheduler does not measure it yet.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from openqx.core import errors
from openqx.core.access import Role
from openqx.core.tenancy_wire import DeviceGrantInfo, MembershipInfo
from openqx.server.deps import ServiceDep
from openqx.server.routes import admin as admin_api
from openqx.web.rendering import PageRoute, render
from openqx.web.security import PageUser

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _within(scope: str, unit: str) -> bool:
    return scope == unit or scope.startswith(unit + "/") or unit.startswith(scope + "/")


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
    }
    return render(request, "instance.html", context)
