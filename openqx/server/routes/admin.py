"""``/admin``: hubs, groups, projects, users, roles, tokens, device grants, job limits, audit.

Every route checks the caller's role with ``server.permissions`` before looking anything up
or changing anything, so that nobody learns from a 403 or a 404 which users, roles or units
exist outside the units they administer; it records what it changed in the audit log.
Units, users and grants are named in bodies or query parameters (names hold ``/``). A hub
administrator can do everything here inside their hub and nothing outside it; server-wide
settings (backend job limits, server administrators, hubs themselves) need a server
administrator.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from openqx.core import errors
from openqx.core.access import Role, scope_depth
from openqx.core.ids import new_token
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.core.tenancy_wire import (
    AuditInfo,
    DeviceGrantInfo,
    DeviceGrantUpdate,
    MembershipInfo,
    MembershipUpdate,
    ServerAdminUpdate,
    TokenInfo,
    UnitCreate,
    UnitInfo,
    UnitRename,
    UnitShare,
    UserDetail,
    UserDisable,
)
from openqx.core.wire import AccountInfo, JobLimitInfo, JobLimitUpdate, UserCreate, UserCreated
from openqx.server import permissions
from openqx.server.deps import AdminUser, CurrentUser, RequestInstance, ServiceDep
from openqx.server.service import Service
from openqx.store.records import UserRecord
from openqx.store.tenancy_store import DeviceGrant, UnitRecord

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"])

ScopeQuery = Annotated[str, Query(min_length=1, max_length=255)]
AUDIT_LIMIT_MAX = 1000


def _unit(unit: UnitRecord) -> UnitInfo:
    return UnitInfo(name=unit.name, kind=unit.kind, share=unit.share)


def _grant(grant: DeviceGrant) -> DeviceGrantInfo:
    return DeviceGrantInfo(
        instance=grant.instance,
        backend=grant.backend,
        share=grant.share,
        job_limit=grant.job_limit,
        max_shots=grant.max_shots,
        max_circuits=grant.max_circuits,
    )


def _detail(user: UserRecord) -> UserDetail:
    return UserDetail(
        user=user.name,
        is_admin=user.is_admin,
        disabled=user.disabled,
        instances=list(user.instances),
        memberships=[MembershipInfo(scope=m.scope, role=m.role) for m in user.memberships],
    )


def _user_scope(user: UserRecord) -> str:
    """The unit an action on ``user`` is audited under (their default project)."""
    return user.instances[0] if user.instances else ""


# --- units ------------------------------------------------------------------------------------
@router.get("/units", response_model=list[UnitInfo])
def list_units(service: ServiceDep, user: CurrentUser, under: str | None = None) -> list[UnitInfo]:
    """Hubs, groups and projects the caller administers (``under``: one unit's subtree)."""
    if under is not None:
        permissions.require_admin_over(user, under)
        return [_unit(u) for u in service.store.list_units(under)]
    scopes = permissions.admin_scopes(user)
    if scopes is None:
        return [_unit(u) for u in service.store.list_units()]
    if not scopes:
        raise errors.PermissionDeniedError("This operation needs an administrator role.")
    found: dict[str, UnitInfo] = {}
    for scope in scopes:
        for unit in service.store.list_units(scope):
            found[unit.name] = _unit(unit)
    return [found[name] for name in sorted(found)]


@router.post("/units", response_model=UnitInfo, status_code=201)
def create_unit(body: UnitCreate, service: ServiceDep, user: CurrentUser) -> UnitInfo:
    """Create a hub, a group (``hub/group``) or a project (``hub/group/project``)."""
    permissions.require_admin_over_parent(user, body.name)
    unit = service.store.create_unit(body.name, share=body.share)
    permissions.audit(service, user, "create_unit", unit.name, unit.name, share=unit.share)
    return _unit(unit)


@router.post("/units/rename", response_model=UnitInfo)
def rename_unit(body: UnitRename, service: ServiceDep, user: CurrentUser) -> UnitInfo:
    """Rename a unit; its jobs, members and device grants follow. The default instance and
    its hub and group keep their names: users without a project act there."""
    permissions.require_admin_over_parent(user, body.name)
    if DEFAULT_INSTANCE == body.name or DEFAULT_INSTANCE.startswith(f"{body.name}/"):
        raise errors.InvalidInputError(
            f"{body.name!r} holds the default instance {DEFAULT_INSTANCE}, where users without "
            "a project act; it keeps its name."
        )
    unit = service.store.rename_unit(body.name, body.new_name)
    permissions.audit(service, user, "rename_unit", body.name, unit.name, new_name=unit.name)
    return _unit(unit)


@router.put("/units/share", response_model=UnitInfo)
def set_unit_share(body: UnitShare, service: ServiceDep, user: CurrentUser) -> UnitInfo:
    """Set a unit's fair-share weight."""
    permissions.require_admin_over_parent(user, body.name)
    unit = service.store.set_unit_share(body.name, body.share)
    permissions.audit(service, user, "set_share", unit.name, unit.name, share=unit.share)
    return _unit(unit)


# --- users ------------------------------------------------------------------------------------
@router.post("/users", response_model=UserCreated, status_code=201)
def create_user(body: UserCreate, service: ServiceDep, user: CurrentUser) -> UserCreated:
    """Create a user as member of ``instances`` and return its token (shown once).

    Server administrators may create anyone; other administrators create members of projects
    they administer. The projects must exist (``POST /admin/units``), except the default
    instance, which is made when missing."""
    if body.is_admin or body.token is not None:
        permissions.require_server_admin(user)
    if not body.instances:
        permissions.require_server_admin(user)
    for instance in body.instances:
        permissions.require_admin_over(user, instance)
    for instance in body.instances:
        if instance != DEFAULT_INSTANCE:  # made on demand, as at the first start
            service.store.get_unit(instance)  # NotFoundError naming the missing project
    token = body.token or new_token()
    created = service.store.create_user(
        body.name, token, is_admin=body.is_admin, instances=body.instances
    )
    permissions.audit(
        service,
        user,
        "create_user",
        created.name,
        _user_scope(created),
        instances=list(created.instances),
        is_admin=created.is_admin,
    )
    return UserCreated(
        name=created.name,
        token=token,
        instances=list(created.instances),
        is_admin=created.is_admin,
    )


@router.get("/users", response_model=list[AccountInfo])
def list_users(service: ServiceDep, user: CurrentUser) -> list[AccountInfo]:
    """Every user (server administrators), or the users of the caller's units."""
    scopes = permissions.admin_scopes(user)
    if scopes is not None and not scopes:
        raise errors.PermissionDeniedError("This operation needs an administrator role.")
    return [
        AccountInfo(user=u.name, is_admin=u.is_admin, instances=list(u.instances))
        for u in service.store.list_users()
        if _sees(user, u)
    ]


def _sees(user: UserRecord, target: UserRecord) -> bool:
    """Whether ``user`` may learn that ``target`` exists: a server administrator sees every
    user, other administrators the users holding a role in a unit they administer."""
    viewer = user.viewer
    return viewer.is_server_admin or any(viewer.administers(m.scope) for m in target.memberships)


def _managed(service: Service, user: UserRecord, name: str) -> UserRecord:
    """The user ``name`` when ``user`` may manage them.

    Who may not manage users at all is refused before any lookup; an administrator gets the
    same answer for a user who does not exist as for one outside their units, so neither
    the 403 nor the 404 tells them which names exist elsewhere.

    Raises:
        PermissionDeniedError: not an administrator; a user they cannot see (or none of
            that name); a user they see but may not manage (``require_manages_user``).
        NotFoundError: no such user (server administrators only).
    """
    if user.is_admin:
        return service.store.user_by_name(name)
    if not permissions.admin_scopes(user):
        raise errors.PermissionDeniedError("This operation needs an administrator role.")
    try:
        target: UserRecord | None = service.store.user_by_name(name)
    except errors.NotFoundError:
        target = None
    if target is None or not _sees(user, target):
        raise errors.PermissionDeniedError(
            f"You administer no unit that a user named {name!r} belongs to.", user=name
        )
    permissions.require_manages_user(user, target)
    return target


@router.get("/users/{name}", response_model=UserDetail)
def get_user(name: str, service: ServiceDep, user: CurrentUser) -> UserDetail:
    """One user with every role they hold."""
    return _detail(_managed(service, user, name))


@router.post("/users/{name}/token", response_model=TokenInfo)
def rotate_token(name: str, service: ServiceDep, user: CurrentUser) -> TokenInfo:
    """Give the user a new random token (shown once); the old one stops working at once.
    Users may rotate their own token."""
    target = (
        service.store.user_by_name(name) if name == user.name else _managed(service, user, name)
    )
    token = new_token()
    service.store.set_token(target.name, token)
    permissions.audit(service, user, "rotate_token", target.name, _user_scope(target))
    return TokenInfo(user=target.name, token=token)


@router.delete("/users/{name}/token", status_code=204)
def revoke_token(name: str, service: ServiceDep, user: CurrentUser) -> Response:
    """Revoke the user's token at once (rotate to give a new one)."""
    target = _managed(service, user, name)
    service.store.set_token(target.name, None)
    permissions.audit(service, user, "revoke_token", target.name, _user_scope(target))
    return Response(status_code=204)


@router.put("/users/{name}/disabled", response_model=UserDetail)
def set_disabled(
    name: str, body: UserDisable, service: ServiceDep, user: CurrentUser
) -> UserDetail:
    """Disable (or enable again) a user: a disabled user's token is refused at once."""
    target = _managed(service, user, name)
    if target.name == user.name:
        raise errors.InvalidInputError("You cannot disable yourself.")
    service.store.set_user_flags(target.name, disabled=body.disabled)
    permissions.audit(
        service, user, "set_disabled", target.name, _user_scope(target), disabled=body.disabled
    )
    return _detail(service.store.user_by_name(target.name))


@router.put("/users/{name}/server_admin", response_model=UserDetail)
def set_server_admin(
    name: str, body: ServerAdminUpdate, service: ServiceDep, admin: AdminUser
) -> UserDetail:
    """Give or take the server administrator role (server administrators only, not their
    own)."""
    if name == admin.name:
        raise errors.InvalidInputError("You cannot change your own server administrator role.")
    service.store.set_user_flags(name, is_admin=body.is_admin)
    permissions.audit(service, admin, "set_server_admin", name, "", is_admin=body.is_admin)
    return _detail(service.store.user_by_name(name))


# --- memberships --------------------------------------------------------------------------------
@router.put("/memberships", response_model=MembershipInfo)
def set_membership(
    body: MembershipUpdate, service: ServiceDep, user: CurrentUser
) -> MembershipInfo:
    """Add a user to a project, or give them an administrator role over a unit."""
    permissions.require_role_grant(user, body.user, body.scope, body.role)
    target = service.store.user_by_name(body.user)
    for held in target.memberships:
        if held.scope == body.scope:  # replacing a role needs the right to take it too
            permissions.require_role_grant(user, body.user, held.scope, held.role)
    membership = service.store.set_membership(body.user, body.scope, body.role)
    permissions.audit(service, user, "set_role", body.user, body.scope, role=membership.role.value)
    return MembershipInfo(scope=membership.scope, role=membership.role)


@router.delete("/memberships", status_code=204)
def remove_membership(
    service: ServiceDep, user: CurrentUser, name: ScopeQuery, scope: ScopeQuery
) -> Response:
    """Remove a user's role over a unit (``?name=<user>&scope=<unit>``).

    The caller's right over ``scope`` is checked before any lookup (the least that taking any
    role there needs: an administrator of the scope; of the unit above for a hub or group);
    past it, a user who does not exist and one holding no role there get the same 404."""
    depth = scope_depth(scope)  # member over a project; hub_admin, group_admin above
    least = next((role for role in Role if role.depth == depth), Role.MEMBER)
    permissions.require_role_grant(user, name, scope, least)
    try:
        held = next((m for m in service.store.user_memberships(name) if m.scope == scope), None)
    except errors.NotFoundError:
        held = None
    if held is None:
        raise errors.NotFoundError(f"User {name!r} holds no role over {scope!r}.")
    permissions.require_role_grant(user, name, scope, held.role)
    service.store.remove_membership(name, scope)
    permissions.audit(service, user, "remove_role", name, scope, role=held.role.value)
    return Response(status_code=204)


# --- devices of projects ------------------------------------------------------------------------
@router.get("/devices", response_model=list[DeviceGrantInfo])
def list_grants(
    service: ServiceDep, user: CurrentUser, instance: ScopeQuery
) -> list[DeviceGrantInfo]:
    """The devices enabled for a project (empty: every device, default limits)."""
    if instance not in user.projects:
        permissions.require_admin_over(user, instance)
    service.store.get_unit(instance)
    return [_grant(g) for g in service.store.device_grants(instance)]


@router.put("/devices", response_model=DeviceGrantInfo)
def grant_device(
    body: DeviceGrantUpdate, service: ServiceDep, user: CurrentUser
) -> DeviceGrantInfo:
    """Enable a device for a project with its share and limits (``null``: no limit); needs
    an administrator of the project's group or above."""
    permissions.require_admin_over_parent(user, body.instance)
    service.catalog.get(body.backend)
    grant = service.store.grant_device(
        body.instance,
        body.backend,
        share=body.share,
        job_limit=body.job_limit,
        max_shots=body.max_shots,
        max_circuits=body.max_circuits,
    )
    permissions.audit(
        service, user, "grant_device", body.backend, body.instance, **body.model_dump()
    )
    return _grant(grant)


@router.delete("/devices", status_code=204)
def revoke_device(
    service: ServiceDep, user: CurrentUser, instance: ScopeQuery, backend: ScopeQuery
) -> Response:
    """Disable a device for a project (``?instance=...&backend=...``)."""
    permissions.require_admin_over_parent(user, instance)
    service.store.revoke_device(instance, backend)
    permissions.audit(service, user, "revoke_device", backend, instance)
    return Response(status_code=204)


# --- server-wide job limits ------------------------------------------------------------------
@router.put("/backends/{name}/job_limit", response_model=JobLimitInfo)
def set_job_limit(
    name: str,
    body: JobLimitUpdate,
    service: ServiceDep,
    admin: AdminUser,
    instance: RequestInstance,
) -> JobLimitInfo:
    """Set the server-wide per-user active-job limit of a backend (``null``: no limit)."""
    service.catalog.get(name)
    service.store.set_backend_job_limit(name, body.maximum_jobs)
    permissions.audit(service, admin, "set_job_limit", name, "", maximum_jobs=body.maximum_jobs)
    return JobLimitInfo(
        maximum_jobs=service.job_limit(name),
        active_jobs=service.store.count_active_in(admin.id, name, instance),
    )


@router.delete("/backends/{name}/job_limit", response_model=JobLimitInfo)
def reset_job_limit(
    name: str, service: ServiceDep, admin: AdminUser, instance: RequestInstance
) -> JobLimitInfo:
    """Forget the server-wide job limit of a backend: back to the configured or device
    default."""
    service.catalog.get(name)
    service.store.clear_job_limit(name)
    permissions.audit(service, admin, "reset_job_limit", name, "")
    return JobLimitInfo(
        maximum_jobs=service.job_limit(name),
        active_jobs=service.store.count_active_in(admin.id, name, instance),
    )


# --- audit ---------------------------------------------------------------------------------------
@router.get("/audit", response_model=list[AuditInfo])
def audit_log(
    service: ServiceDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT_MAX)] = 100,
) -> list[AuditInfo]:
    """The newest audit entries the caller may read (server administrators: all; others:
    those of the units they administer), newest first."""
    scopes = permissions.admin_scopes(user)
    if scopes is not None and not scopes:
        raise errors.PermissionDeniedError("This operation needs an administrator role.")
    return [
        AuditInfo(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            scope=e.scope,
            details=e.details,
        )
        for e in service.store.audit_entries(scopes, limit=limit)
    ]
