"""Who may see and change what: roles, memberships and the share-level rules.

An instance is ``hub/group/project``. A user holds memberships: ``member`` or
``project_admin`` of a project (the projects they submit through, their providers),
``group_admin`` of a group (``hub/group``), ``hub_admin`` of a hub; a server administrator
(``UserRecord.is_admin``) administers everything. An administrator of a unit administers its
whole subtree.

A job belongs to its owner and to the instance it was submitted through. Its share level
decides who else may read it: ``none`` (owner only), ``project``, ``group``, ``hub`` (users
with a project in the same project, group or hub) or ``global`` (every user). Administrators
over the job's instance may read it whatever its share level. Only the owner and those
administrators may change (cancel, rename, retag) it.

These are the only copies of the rules: the server's permission module applies them to one
job, and the store turns ``Viewer`` into the SQL condition of listings (``store.access``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from openqx.core.instances import split_instance

__all__ = [
    "ADMIN_ROLES",
    "INSTANCE_HEADER",
    "PROJECT_ROLES",
    "SHARE_LEVELS",
    "Membership",
    "Role",
    "Viewer",
    "check_scope",
    "scope_depth",
]

INSTANCE_HEADER = "X-OpenQX-Instance"
"""The request header naming the instance (``hub/group/project``) a request acts through;
without it, the caller's default instance."""

SHARE_LEVELS = ("none", "project", "group", "hub", "global")
"""Job share levels, narrowest first."""


class Role(enum.StrEnum):
    """A role held over a hub, a group or a project."""

    MEMBER = "member"
    PROJECT_ADMIN = "project_admin"
    GROUP_ADMIN = "group_admin"
    HUB_ADMIN = "hub_admin"

    @property
    def depth(self) -> int:
        """Parts of the scope this role is held over (3: project, 2: group, 1: hub)."""
        return _ROLE_DEPTH[self]

    @property
    def is_admin(self) -> bool:
        """Whether the role administers its scope."""
        return self is not Role.MEMBER


_ROLE_DEPTH = {Role.MEMBER: 3, Role.PROJECT_ADMIN: 3, Role.GROUP_ADMIN: 2, Role.HUB_ADMIN: 1}
PROJECT_ROLES = frozenset({Role.MEMBER, Role.PROJECT_ADMIN})
"""Roles that make a project one of the user's instances (providers)."""
ADMIN_ROLES = frozenset({Role.PROJECT_ADMIN, Role.GROUP_ADMIN, Role.HUB_ADMIN})


def scope_depth(scope: str) -> int:
    """Number of parts of ``hub``, ``hub/group`` or ``hub/group/project``."""
    return scope.count("/") + 1


def check_scope(scope: object, role: Role) -> str:
    """Check that ``scope`` names a unit of the right depth for ``role``.

    Raises:
        ValueError: a malformed name, or a scope of another depth (e.g. a hub for a
            project role).
    """
    what = {1: "a hub ('hub')", 2: "a group ('hub/group')", 3: "a project ('hub/group/project')"}
    if not isinstance(scope, str) or scope_depth(scope) != role.depth:
        raise ValueError(f"Role {role.value} is held over {what[role.depth]}, not {scope!r}.")
    padded = scope + "/x" * (3 - role.depth)
    split_instance(padded)
    return scope


@dataclass(frozen=True, slots=True)
class Membership:
    """A role over a scope (``hub``, ``hub/group`` or ``hub/group/project``)."""

    scope: str
    role: Role


def _parts(instance: str) -> tuple[str, ...]:
    return tuple(instance.split("/"))


@dataclass(frozen=True, slots=True)
class Viewer:
    """What one user may see: their id, whether they are a server admin, their memberships.

    Derived sets (``projects``, ``groups``, ``hubs``: where the user is a member; ``admin_*``:
    what they administer) feed both the per-job checks and the listing condition.
    """

    user_id: int
    is_server_admin: bool
    memberships: tuple[Membership, ...]

    @property
    def projects(self) -> frozenset[str]:
        """Projects the user belongs to (member or project admin)."""
        return frozenset(m.scope for m in self.memberships if m.role in PROJECT_ROLES)

    @property
    def groups(self) -> frozenset[str]:
        """``hub/group`` of the user's projects."""
        return frozenset(p.rsplit("/", 1)[0] for p in self.projects)

    @property
    def hubs(self) -> frozenset[str]:
        """Hubs of the user's projects."""
        return frozenset(p.split("/", 1)[0] for p in self.projects)

    def admin_scopes(self, role: Role) -> frozenset[str]:
        """Scopes where the user holds the admin ``role``."""
        return frozenset(m.scope for m in self.memberships if m.role is role)

    def administers(self, scope: str) -> bool:
        """Whether the user administers ``scope`` (a hub, group or project) or an ancestor."""
        if self.is_server_admin:
            return True
        parts = _parts(scope)
        return any(
            m.role.is_admin and _parts(m.scope) == parts[: m.role.depth]
            for m in self.memberships
            if m.role.depth <= len(parts)
        )

    def shares_unit(self, instance: str, share_level: str) -> bool:
        """Whether a job of ``instance`` shared at ``share_level`` reaches this user through
        their project memberships (not counting ownership or administration)."""
        if share_level == "global":
            return True
        if share_level == "project":
            return instance in self.projects
        if share_level == "group":
            return instance.rsplit("/", 1)[0] in self.groups
        if share_level == "hub":
            return instance.split("/", 1)[0] in self.hubs
        return False

    def can_read(self, owner_id: int, instance: str, share_level: str) -> bool:
        """Whether the user may read a job (status, result, circuits, events, ...)."""
        return (
            owner_id == self.user_id
            or self.shares_unit(instance, share_level)
            or self.administers(instance)
        )

    def can_change(self, owner_id: int, instance: str) -> bool:
        """Whether the user may cancel, rename or retag a job."""
        return owner_id == self.user_id or self.administers(instance)
