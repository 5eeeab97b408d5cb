"""The tenancy half of ``SqlJobStore``: hubs, groups, projects, memberships, device grants,
tokens and the audit log.

``TenancyStore`` is a mixin: ``SqlJobStore`` provides the transaction and the clock. Every
method is one transaction; a bad name or a duplicate is an ``InvalidInputError`` and a missing
unit or user a ``NotFoundError``, with nothing changed. Units are keyed by their names
(``hub``, ``hub/group``, ``hub/group/project``), as jobs and memberships already are; renaming
a unit rewrites those names everywhere in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from openqx.core.access import PROJECT_ROLES, Membership, Role, check_scope, scope_depth
from openqx.core.clock import Clock
from openqx.core.errors import AuthenticationError, InvalidInputError, NotFoundError
from openqx.core.ids import hash_token
from openqx.core.instances import check_instance_part, check_unit_name, split_instance
from openqx.store import access, fairshare, queries
from openqx.store.models import (
    AuditEntry,
    BackendSetting,
    Hub,
    HubGroup,
    Job,
    Project,
    ProjectDevice,
    User,
    UserInstance,
)
from openqx.store.records import UserRecord
from openqx.store.rows import user_record

__all__ = [
    "AuditRecord",
    "DeviceGrant",
    "TenancyStore",
    "UnitRecord",
    "revoked_token_hash",
]

hubs = cast(sa.Table, Hub.__table__)
hub_groups = cast(sa.Table, HubGroup.__table__)
projects = cast(sa.Table, Project.__table__)
project_devices = cast(sa.Table, ProjectDevice.__table__)
audit_log = cast(sa.Table, AuditEntry.__table__)
users = cast(sa.Table, User.__table__)
memberships = cast(sa.Table, UserInstance.__table__)
jobs = cast(sa.Table, Job.__table__)
backend_settings = cast(sa.Table, BackendSetting.__table__)

_DEVICE_GRANTS = (
    sa.select(project_devices)
    .where(project_devices.c.instance == sa.bindparam("instance"))
    .order_by(project_devices.c.backend)
)
_JOB_LIMIT = sa.select(backend_settings.c.maximum_jobs).where(
    backend_settings.c.backend == sa.bindparam("backend")
)
"""Built once: every submission reads its project's device grants and its device's job
limit (a statement built per call costs more than running it: its cache key is made anew)."""

MAX_SHARE = 1_000_000
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def revoked_token_hash(user_id: int) -> str:
    """What a revoked token's hash becomes: not hex, so no token's sha256 can equal it."""
    return f"revoked:{user_id}"


@dataclass(frozen=True, slots=True)
class UnitRecord:
    """A hub, group or project: its name (``hub``, ``hub/group`` or ``hub/group/project``),
    kind and share."""

    name: str
    kind: str
    share: int


@dataclass(frozen=True, slots=True)
class DeviceGrant:
    """A device enabled for a project, with its share and limits (None: no limit)."""

    instance: str
    backend: str
    share: int
    job_limit: int | None
    max_shots: int | None
    max_circuits: int | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit log entry."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    scope: str
    details: dict[str, Any]


_KINDS = {1: "hub", 2: "group", 3: "project"}


def _check_unit(scope: str) -> tuple[str, ...]:
    """The parts of a unit name (1 to 3 valid parts).

    Raises:
        InvalidInputError: a malformed name.
    """
    try:
        return check_unit_name(scope)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


def _check_share(share: int) -> int:
    if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= MAX_SHARE:
        raise InvalidInputError(f"share must be an integer from 0 to {MAX_SHARE}, not {share!r}.")
    return share


def _check_limit(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
        raise InvalidInputError(
            f"{name} must be null (no limit) or an integer >= 0, not {value!r}."
        )
    return value


def _under(column: Any, scope: str) -> Any:
    """``column`` names ``scope`` or a unit below it."""
    return sa.or_(column == scope, column.startswith(scope + "/", autoescape=True))


class TenancyStore:
    """Hubs, groups, projects, memberships, device grants, tokens, audit (mixin)."""

    clock: Clock

    def _transaction(
        self, *, write: bool = False, integrity_message: str | None = None
    ) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError  # provided by SqlJobStore

    # --- units ----------------------------------------------------------------------------
    def _unit_exists(self, conn: sa.Connection, parts: Sequence[str]) -> bool:
        if len(parts) == 1:
            stmt = sa.select(hubs.c.name).where(hubs.c.name == parts[0])
        elif len(parts) == 2:
            stmt = sa.select(hub_groups.c.name).where(
                hub_groups.c.hub == parts[0], hub_groups.c.name == parts[1]
            )
        else:
            stmt = sa.select(projects.c.name).where(projects.c.instance == "/".join(parts))
        return conn.execute(stmt).first() is not None

    def _insert_unit(self, conn: sa.Connection, parts: Sequence[str], share: int) -> None:
        now = self.clock.now()
        if len(parts) == 1:
            conn.execute(sa.insert(hubs).values(name=parts[0], share=share, created_at=now))
        elif len(parts) == 2:
            conn.execute(
                sa.insert(hub_groups).values(
                    hub=parts[0], name=parts[1], share=share, created_at=now
                )
            )
        else:
            conn.execute(
                sa.insert(projects).values(
                    instance="/".join(parts),
                    hub=parts[0],
                    hub_group=parts[1],
                    name=parts[2],
                    share=share,
                    created_at=now,
                )
            )

    def _ensure_units(self, conn: sa.Connection, instance: str) -> None:
        """Create the hub, group and project of ``instance`` where missing."""
        try:
            parts = split_instance(instance)
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="instances") from None
        for depth in (1, 2, 3):
            if not self._unit_exists(conn, parts[:depth]):
                self._insert_unit(conn, parts[:depth], 1)

    def _require_unit(self, conn: sa.Connection, scope: str) -> tuple[str, ...]:
        parts = _check_unit(scope)
        if not self._unit_exists(conn, parts):
            raise NotFoundError(f"There is no {_KINDS[len(parts)]} {scope!r}.")
        return parts

    def create_unit(self, scope: str, *, share: int = 1) -> UnitRecord:
        """Create a hub (``hub``), group (``hub/group``) or project (``hub/group/project``).

        Raises:
            InvalidInputError: a malformed name, a bad share, or the unit exists.
            NotFoundError: its parent does not exist.
        """
        parts = _check_unit(scope)
        _check_share(share)
        kind = _KINDS[len(parts)]
        with self._transaction(write=True) as conn:
            if len(parts) > 1:
                self._require_unit(conn, "/".join(parts[:-1]))
            if self._unit_exists(conn, parts):
                raise InvalidInputError(f"The {kind} {scope!r} already exists.")
            self._insert_unit(conn, parts, share)
        return UnitRecord(scope, kind, share)

    def list_units(self, under: str | None = None) -> list[UnitRecord]:
        """Hubs, groups and projects (``under`` a unit: that unit and its subtree), by name."""
        with self._transaction() as conn:
            found = [UnitRecord(r.name, "hub", r.share) for r in conn.execute(sa.select(hubs))]
            found += [
                UnitRecord(f"{r.hub}/{r.name}", "group", r.share)
                for r in conn.execute(sa.select(hub_groups))
            ]
            found += [
                UnitRecord(r.instance, "project", r.share)
                for r in conn.execute(sa.select(projects))
            ]
        if under is not None:
            found = [u for u in found if u.name == under or u.name.startswith(under + "/")]
        return sorted(found, key=lambda u: u.name)

    def get_unit(self, scope: str) -> UnitRecord:
        """One unit.

        Raises:
            NotFoundError: no such unit.
        """
        for unit in self.list_units(scope):
            if unit.name == scope:
                return unit
        _check_unit(scope)
        raise NotFoundError(f"There is no {_KINDS[scope_depth(scope)]} {scope!r}.")

    def set_unit_share(self, scope: str, share: int) -> UnitRecord:
        """Set the fair-share weight of a unit.

        Raises:
            InvalidInputError, NotFoundError: as for ``create_unit``.
        """
        _check_share(share)
        with self._transaction(write=True) as conn:
            parts = self._require_unit(conn, scope)
            if len(parts) == 1:
                stmt = sa.update(hubs).where(hubs.c.name == parts[0])
            elif len(parts) == 2:
                stmt = sa.update(hub_groups).where(
                    hub_groups.c.hub == parts[0], hub_groups.c.name == parts[1]
                )
            else:
                stmt = sa.update(projects).where(projects.c.instance == scope)
            conn.execute(stmt.values(share=share))
        return UnitRecord(scope, _KINDS[len(parts)], share)

    def rename_unit(self, scope: str, new_name: str) -> UnitRecord:
        """Rename a unit's last part; every job, membership and grant follows.

        Raises:
            InvalidInputError: a malformed name, or the new name is taken.
            NotFoundError: no such unit.
        """
        with self._transaction(write=True) as conn:
            parts = self._require_unit(conn, scope)
            kind = _KINDS[len(parts)]
            try:
                check_instance_part(new_name, kind)
            except ValueError as exc:
                raise InvalidInputError(str(exc)) from None
            new_parts = (*parts[:-1], new_name)
            new_scope = "/".join(new_parts)
            if self._unit_exists(conn, new_parts):
                raise InvalidInputError(f"The {kind} {new_scope!r} already exists.")
            self._rename(conn, parts, new_parts)
            share = self._share(conn, new_parts)
        return UnitRecord(new_scope, kind, share)

    def _share(self, conn: sa.Connection, parts: Sequence[str]) -> int:
        if len(parts) == 1:
            stmt = sa.select(hubs.c.share).where(hubs.c.name == parts[0])
        elif len(parts) == 2:
            stmt = sa.select(hub_groups.c.share).where(
                hub_groups.c.hub == parts[0], hub_groups.c.name == parts[1]
            )
        else:
            stmt = sa.select(projects.c.share).where(projects.c.instance == "/".join(parts))
        return int(conn.execute(stmt).scalar_one())

    def _rename(self, conn: sa.Connection, old: Sequence[str], new: Sequence[str]) -> None:
        depth = len(old)
        old_scope, new_scope = "/".join(old), "/".join(new)
        # Create the renamed unit and its subtree under the new name, move everything that
        # names the old one, then drop the old subtree (foreign keys stay satisfied).
        now = self.clock.now()
        if depth == 1:
            conn.execute(
                sa.insert(hubs).values(name=new[0], share=self._share(conn, old), created_at=now)
            )
            for g in conn.execute(sa.select(hub_groups).where(hub_groups.c.hub == old[0])).all():
                conn.execute(
                    sa.insert(hub_groups).values(
                        hub=new[0], name=g.name, share=g.share, created_at=g.created_at
                    )
                )
        elif depth == 2:
            conn.execute(
                sa.insert(hub_groups).values(
                    hub=new[0], name=new[1], share=self._share(conn, old), created_at=now
                )
            )
        old_projects = conn.execute(
            sa.select(projects).where(_under(projects.c.instance, old_scope))
        ).all()
        for p in old_projects:
            renamed = new_scope + p.instance[len(old_scope) :]
            hub, group, name = renamed.split("/")  # stored names (checked when made)
            conn.execute(
                sa.insert(projects).values(
                    instance=renamed,
                    hub=hub,
                    hub_group=group,
                    name=name,
                    share=p.share,
                    created_at=p.created_at,
                )
            )
            conn.execute(
                sa.update(project_devices)
                .where(project_devices.c.instance == p.instance)
                .values(instance=renamed)
            )
            conn.execute(
                sa.update(jobs)
                .where(jobs.c.instance == p.instance)
                .values(instance=renamed, hub=hub, hub_group=group, project=name)
            )
            fairshare.rename_usage(conn, p.instance, renamed)
        for m in conn.execute(
            sa.select(memberships).where(_under(memberships.c.instance, old_scope))
        ).all():
            conn.execute(
                sa.update(memberships)
                .where(memberships.c.user_id == m.user_id, memberships.c.instance == m.instance)
                .values(instance=new_scope + m.instance[len(old_scope) :])
            )
        conn.execute(sa.delete(projects).where(_under(projects.c.instance, old_scope)))
        if depth <= 2:
            where = [hub_groups.c.hub == old[0]] + (
                [hub_groups.c.name == old[1]] if depth == 2 else []
            )
            conn.execute(sa.delete(hub_groups).where(*where))
        if depth == 1:
            conn.execute(sa.delete(hubs).where(hubs.c.name == old[0]))

    # --- users and memberships ------------------------------------------------------------
    def _check_new_user(self, conn: sa.Connection, name: str, token_hash: str) -> None:
        """Refuse a new user whose name or token is taken, saying which (never whose token).

        Raises:
            InvalidInputError: the name or the token is in use.
        """
        if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first() is not None:
            raise InvalidInputError(f"User {name!r} already exists.", field="name")
        taken = sa.select(users.c.id).where(users.c.token_hash == token_hash)
        if conn.execute(taken).first() is not None:
            raise InvalidInputError("That token is already in use; choose another.", field="token")

    def _user_id(self, conn: sa.Connection, name: str) -> int:
        found = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
        if found is None:
            raise NotFoundError(f"There is no user {name!r}.")
        return int(found)

    def user_by_name(self, name: str) -> UserRecord:
        """One user by name.

        Raises:
            NotFoundError: no such user.
        """
        with self._transaction() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
            if row is None:
                raise NotFoundError(f"There is no user {name!r}.")
            held = conn.execute(
                sa.select(memberships)
                .where(memberships.c.user_id == row.id)
                .order_by(memberships.c.position)
            ).all()
        return user_record(row, held)

    def user_memberships(self, name: str) -> list[Membership]:
        """A user's memberships (project roles by position, then the others).

        Raises:
            NotFoundError: no such user.
        """
        with self._transaction() as conn:
            user_id = self._user_id(conn, name)
            rows = conn.execute(
                sa.select(memberships)
                .where(memberships.c.user_id == user_id)
                .order_by(memberships.c.position)
            ).all()
        return [Membership(r.instance, Role(r.role)) for r in rows]

    def set_membership(self, name: str, scope: str, role: Role) -> Membership:
        """Give user ``name`` the ``role`` over ``scope`` (replacing a role held there).

        Raises:
            InvalidInputError: a scope of the wrong depth for the role.
            NotFoundError: no such user or unit.
        """
        try:
            check_scope(scope, role)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        with self._transaction(write=True) as conn:
            user_id = self._user_id(conn, name)
            self._require_unit(conn, scope)
            where = (memberships.c.user_id == user_id, memberships.c.instance == scope)
            held = conn.execute(sa.select(memberships.c.position).where(*where)).scalar()
            if held is not None:
                conn.execute(sa.update(memberships).where(*where).values(role=role.value))
            else:
                last = conn.execute(
                    sa.select(sa.func.max(memberships.c.position)).where(
                        memberships.c.user_id == user_id
                    )
                ).scalar()
                conn.execute(
                    sa.insert(memberships).values(
                        user_id=user_id,
                        instance=scope,
                        role=role.value,
                        position=0 if last is None else int(last) + 1,
                    )
                )
        return Membership(scope, role)

    def remove_membership(self, name: str, scope: str) -> None:
        """Remove user ``name``'s role over ``scope``.

        Raises:
            NotFoundError: no such user, or the user holds no role there.
        """
        with self._transaction(write=True) as conn:
            user_id = self._user_id(conn, name)
            removed = conn.execute(
                sa.delete(memberships).where(
                    memberships.c.user_id == user_id, memberships.c.instance == scope
                )
            )
            if removed.rowcount == 0:
                raise NotFoundError(f"User {name!r} holds no role over {scope!r}.")

    def set_user_flags(
        self, name: str, *, disabled: bool | None = None, is_admin: bool | None = None
    ) -> None:
        """Disable/enable a user, or give/take the server administrator role.

        Raises:
            NotFoundError: no such user.
        """
        values: dict[str, Any] = {}
        if disabled is not None:
            values["disabled"] = disabled
        if is_admin is not None:
            values["is_admin"] = is_admin
        with self._transaction(write=True) as conn:
            user_id = self._user_id(conn, name)
            if values:
                conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))

    def user_for_token_hash(self, token_hash: str) -> UserRecord:
        """The enabled user whose token hashes to ``token_hash``: a dashboard session checks
        with it, on each request, that the token it was opened with is still valid.

        Raises:
            AuthenticationError: no enabled user has that token (rotated, revoked, disabled),
                or ``token_hash`` is not a sha256 digest (a revoked token's marker is not).
        """
        if not _SHA256_HEX.fullmatch(token_hash):
            raise AuthenticationError()
        with self._transaction() as conn:
            rows = conn.execute(queries.USER_BY_TOKEN_HASH, {"token_hash": token_hash}).all()
        if not rows or rows[0].disabled:
            raise AuthenticationError()
        return user_record(rows[0], [row for row in rows if row.instance is not None])

    def set_token(self, name: str, token: str | None) -> None:
        """Replace user ``name``'s token (stored hashed) or, with None, revoke it; the old
        token stops working with the next request.

        Raises:
            NotFoundError: no such user.
        """
        with self._transaction(write=True) as conn:
            user_id = self._user_id(conn, name)
            digest = revoked_token_hash(user_id) if token is None else hash_token(token)
            conn.execute(sa.update(users).where(users.c.id == user_id).values(token_hash=digest))

    # --- devices of projects ----------------------------------------------------------------
    def grant_device(
        self,
        instance: str,
        backend: str,
        *,
        share: int = 1,
        job_limit: int | None = None,
        max_shots: int | None = None,
        max_circuits: int | None = None,
    ) -> DeviceGrant:
        """Enable ``backend`` for the project ``instance`` with exactly these settings
        (None: no limit), replacing any earlier ones.

        Raises:
            InvalidInputError: a bad share or limit.
            NotFoundError: no such project.
        """
        grant = DeviceGrant(
            instance,
            backend,
            _check_share(share),
            _check_limit("job_limit", job_limit),
            _check_limit("max_shots", max_shots),
            _check_limit("max_circuits", max_circuits),
        )
        with self._transaction(write=True) as conn:
            if scope_depth(instance) != 3:
                raise InvalidInputError(f"{instance!r} is not a 'hub/group/project' name.")
            self._require_unit(conn, instance)
            where = (project_devices.c.instance == instance, project_devices.c.backend == backend)
            conn.execute(sa.delete(project_devices).where(*where))
            conn.execute(
                sa.insert(project_devices).values(
                    instance=instance,
                    backend=backend,
                    share=grant.share,
                    job_limit=grant.job_limit,
                    max_shots=grant.max_shots,
                    max_circuits=grant.max_circuits,
                )
            )
        return grant

    def revoke_device(self, instance: str, backend: str) -> None:
        """Disable ``backend`` for the project.

        Raises:
            NotFoundError: it was not enabled.
        """
        with self._transaction(write=True) as conn:
            removed = conn.execute(
                sa.delete(project_devices).where(
                    project_devices.c.instance == instance, project_devices.c.backend == backend
                )
            )
            if removed.rowcount == 0:
                raise NotFoundError(f"Device {backend!r} is not enabled for {instance!r}.")

    def device_grants(self, instance: str) -> list[DeviceGrant]:
        """The devices enabled for a project, by name (empty: every device, default limits)."""
        with self._transaction() as conn:
            rows = conn.execute(_DEVICE_GRANTS, {"instance": instance}).all()
        return [
            DeviceGrant(r.instance, r.backend, r.share, r.job_limit, r.max_shots, r.max_circuits)
            for r in rows
        ]

    # --- backend-wide job limit -----------------------------------------------------------------
    def configured_job_limit(self, backend: str) -> tuple[bool, int | None]:
        """Whether a server-wide job limit is configured for ``backend``, and its value (None:
        configured as no limit)."""
        with self._transaction() as conn:
            row = conn.execute(_JOB_LIMIT, {"backend": backend}).first()
        if row is None:
            return False, None
        return True, None if row.maximum_jobs is None else int(row.maximum_jobs)

    def clear_job_limit(self, backend: str) -> None:
        """Forget the server-wide job limit of ``backend`` (back to the default)."""
        with self._transaction(write=True) as conn:
            conn.execute(sa.delete(backend_settings).where(backend_settings.c.backend == backend))

    # --- audit ------------------------------------------------------------------------------
    def record_audit(
        self, actor: str, action: str, target: str, scope: str, details: dict[str, Any]
    ) -> None:
        """Append an audit entry (who, what, on what, within which unit)."""
        with self._transaction(write=True) as conn:
            conn.execute(
                sa.insert(audit_log).values(
                    at=self.clock.now(),
                    actor=actor,
                    action=action,
                    target=target,
                    scope=scope,
                    details=details,
                )
            )

    def audit_entries(
        self, scopes: Sequence[str] | None = None, *, limit: int = 100
    ) -> list[AuditRecord]:
        """The newest ``limit`` entries, newest first; with ``scopes``, only those concerning
        one of the units (or below)."""
        stmt = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if scopes is not None:
            if not scopes:
                return []
            stmt = stmt.where(sa.or_(*(_under(audit_log.c.scope, s) for s in scopes)))
        with self._transaction() as conn:
            rows = conn.execute(stmt).all()
        return [
            AuditRecord(r.id, r.at, r.actor, r.action, r.target, r.scope, dict(r.details))
            for r in rows
        ]

    def count_active_in(self, owner_id: int, backend: str, instance: str) -> int:
        """Active jobs of one user on one backend through one instance (its job limit)."""
        with self._transaction() as conn:
            return int(
                conn.execute(access.count_active_in(owner_id, backend, instance)).scalar_one()
            )

    def project_members(self, instance: str) -> list[tuple[str, Role]]:
        """Users holding a project role in ``instance``, by name."""
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(users.c.name, memberships.c.role)
                .join(users, users.c.id == memberships.c.user_id)
                .where(memberships.c.instance == instance)
                .order_by(users.c.name)
            ).all()
        return [(r.name, Role(r.role)) for r in rows if Role(r.role) in PROJECT_ROLES]
