"""The one permission module: every route asks it who may see, change and administer what.

The rules themselves are ``core.access`` (the listing condition is their SQL form in
``store.access``); this module applies them to requests:

- ``request_instance``: the instance a request acts through, from the ``X-OpenQX-Instance``
  header (``core.access.INSTANCE_HEADER``) or the user's default, checked against the user's
  memberships (never from a body field);
- ``readable_job`` / ``changeable_job``: a job the caller may not read is a 404 (ids cannot be
  probed); one they may read but not change is a 403;
- ``device_grant``: the devices of a project and their limits (a project without grants may
  use every device with the server's default limits);
- ``require_admin_over``, ``require_admin_over_parent``, ``require_role_grant``,
  ``require_manages_user``, ``require_server_admin``: administrative routes;
- ``audit``: the audit log of administrative actions and actions on others' jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openqx.core import errors
from openqx.core.access import Role
from openqx.core.instances import split_instance
from openqx.server.service import Service
from openqx.store.records import JobRecord, UserRecord
from openqx.store.tenancy_store import DeviceGrant

__all__ = [
    "admin_scopes",
    "audit",
    "changeable_job",
    "device_grant",
    "enabled_backends",
    "grant_job_limit",
    "job_limit_for",
    "parent_scope",
    "check_readable_jobs",
    "readable_job",
    "request_instance",
    "require_admin_over",
    "require_admin_over_parent",
    "require_manages_user",
    "require_role_grant",
    "require_server_admin",
]


def _instances_text(user: UserRecord) -> str:
    return ", ".join(user.projects)


def request_instance(user: UserRecord, requested: str | None) -> str:
    """The instance a request of ``user`` acts through.

    Args:
        user: the caller.
        requested: the ``X-OpenQX-Instance`` header, if sent.

    Returns:
        ``requested`` when it is one of the user's instances; without it, the user's
        default (the first), or the server's default instance for a user with none.

    Raises:
        InvalidInputError: a malformed instance name.
        PermissionDeniedError: an instance the user does not belong to (the message lists
            theirs).
    """
    if requested is None:
        return user.projects[0]
    try:
        split_instance(requested)
    except ValueError as exc:
        raise errors.InvalidInputError(str(exc), field="instance") from None
    if requested not in user.projects:
        raise errors.PermissionDeniedError(
            f"You are not a member of instance {requested!r}; your instances: "
            f"{_instances_text(user)}.",
            instance=requested,
            instances=list(user.projects),
        )
    return requested


def readable_job(service: Service, user: UserRecord, job_id: str) -> JobRecord:
    """A job the user may read; every other job looks absent.

    Raises:
        JobNotFoundError: no such job, or one the user may not read.
    """
    record = service.store.get_job(job_id)
    if not user.viewer.can_read(record.owner_id, record.instance, record.share_level):
        raise errors.JobNotFoundError(job_id)
    return record


def check_readable_jobs(service: Service, user: UserRecord, job_ids: Sequence[str]) -> None:
    """Check that the user may read every job of ``job_ids`` (one query).

    Raises:
        JobNotFoundError: the first id of no such job, or of one the user may not read.
    """
    access = service.store.job_access(job_ids)
    for job_id in job_ids:
        found = access.get(job_id)
        if found is None or not user.viewer.can_read(*found):
            raise errors.JobNotFoundError(job_id)


def changeable_job(service: Service, user: UserRecord, job_id: str) -> JobRecord:
    """A job the user may cancel, rename or retag (its owner, or an admin over it).

    Raises:
        JobNotFoundError: no such job, or one the user may not read.
        PermissionDeniedError: the user may read it but not change it.
    """
    record = readable_job(service, user, job_id)
    if not user.viewer.can_change(record.owner_id, record.instance):
        raise errors.PermissionDeniedError(
            f"Only the owner of job {job_id} and administrators of {record.instance} may change it."
        )
    return record


def require_server_admin(user: UserRecord) -> None:
    """Raises PermissionDeniedError unless the user is a server administrator."""
    if not user.is_admin:
        raise errors.PermissionDeniedError("This operation needs a server administrator.")


def require_admin_over(user: UserRecord, scope: str) -> None:
    """Raises PermissionDeniedError unless the user administers ``scope`` (a hub, group or
    project) or a unit above it."""
    if not user.viewer.administers(scope):
        raise errors.PermissionDeniedError(
            f"This operation needs an administrator of {scope!r} (or of a unit above it).",
            scope=scope,
        )


def admin_scopes(user: UserRecord) -> list[str] | None:
    """The units the user administers (None: everything, a server administrator)."""
    if user.is_admin:
        return None
    return sorted(m.scope for m in user.memberships if m.role is not Role.MEMBER)


def device_grant(service: Service, instance: str, backend: str) -> DeviceGrant | None:
    """The grant of ``backend`` to project ``instance``; None when the project has no
    grants (every device, default limits).

    Raises:
        PermissionDeniedError: the project has grants, and none for ``backend``.
    """
    grants = service.store.device_grants(instance)
    if not grants:
        return None
    for grant in grants:
        if grant.backend == backend:
            return grant
    enabled = ", ".join(g.backend for g in grants)
    raise errors.PermissionDeniedError(
        f"Device {backend!r} is not enabled for instance {instance!r}; enabled: {enabled}.",
        backend=backend,
        instance=instance,
    )


def enabled_backends(service: Service, instance: str) -> set[str] | None:
    """Devices enabled for the project (None: every device)."""
    grants = service.store.device_grants(instance)
    return {g.backend for g in grants} if grants else None


def job_limit_for(service: Service, instance: str, backend: str) -> int | None:
    """Active-job limit of one user on ``backend`` through ``instance`` (None: no limit).

    Raises:
        PermissionDeniedError: the device is not enabled for the project.
    """
    return grant_job_limit(service, device_grant(service, instance, backend), backend)


def grant_job_limit(service: Service, grant: DeviceGrant | None, backend: str) -> int | None:
    """Active-job limit of one user on ``backend`` under ``grant`` (``device_grant``'s
    answer, for a caller that has it already): the grant's, else the device's."""
    if grant is not None:
        return grant.job_limit
    return service.job_limit(backend)


def audit(
    service: Service, actor: UserRecord, action: str, target: str, scope: str, **details: Any
) -> None:
    """Record an administrative action, or an action on another user's job."""
    service.store.record_audit(actor.name, action, target, scope, details)


def parent_scope(scope: str) -> str | None:
    """The unit above ``scope`` (None above a hub: the server)."""
    return scope.rsplit("/", 1)[0] if "/" in scope else None


def require_admin_over_parent(user: UserRecord, scope: str) -> None:
    """Creating, renaming or weighing a unit, or giving an admin role over it, needs an
    administrator of the unit above it (a server administrator for hubs).

    Raises:
        PermissionDeniedError: the user lacks that role.
    """
    parent = parent_scope(scope)
    if parent is None:
        if not user.is_admin:
            raise errors.PermissionDeniedError(
                f"Only server administrators may do this to hub {scope!r}.", scope=scope
            )
        return
    require_admin_over(user, parent)


def require_role_grant(user: UserRecord, target: str, scope: str, role: Role) -> None:
    """Whether ``user`` may give or take ``target``'s ``role`` over ``scope``: members need an
    administrator of the scope, admin roles one of the unit above; nobody but a server
    administrator changes their own roles.

    Raises:
        PermissionDeniedError: not allowed.
    """
    if target == user.name and not user.is_admin:
        raise errors.PermissionDeniedError("You cannot change your own roles.")
    if role is Role.MEMBER:
        require_admin_over(user, scope)
    else:
        require_admin_over_parent(user, scope)


def require_manages_user(user: UserRecord, target: UserRecord) -> None:
    """Managing a user (tokens, disabling, reading their details) needs a server
    administrator, or an administrator of every unit the user belongs to (a hub
    administrator manages the users of their hub, not users who belong elsewhere too).

    Raises:
        PermissionDeniedError: not allowed.
    """
    if user.is_admin:
        return
    viewer = user.viewer
    if (
        target.is_admin
        or not target.memberships
        or not all(viewer.administers(m.scope) for m in target.memberships)
    ):
        raise errors.PermissionDeniedError(
            f"Managing user {target.name!r} needs an administrator of every unit they belong to.",
            user=target.name,
        )
