"""The tenancy part of the store port: units, memberships, device grants, tokens, audit.

``JobStore`` extends it; ``tenancy_store.TenancyStore`` implements it for ``SqlJobStore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from openqx.core.access import Membership, Role
from openqx.store.records import UserRecord
from openqx.store.tenancy_store import AuditRecord, DeviceGrant, UnitRecord

__all__ = ["TenancyPort"]


class TenancyPort(Protocol):
    """Named operations on the tenancy tables (see ``TenancyStore`` for errors)."""

    def create_unit(self, scope: str, *, share: int = 1) -> UnitRecord:
        """Create a hub (``hub``), group (``hub/group``) or project (``hub/group/project``)."""

    def list_units(self, under: str | None = None) -> list[UnitRecord]:
        """Hubs, groups and projects (``under`` a unit: that unit and its subtree), by name."""

    def get_unit(self, scope: str) -> UnitRecord:
        """One unit."""

    def set_unit_share(self, scope: str, share: int) -> UnitRecord:
        """Set the fair-share weight of a unit."""

    def rename_unit(self, scope: str, new_name: str) -> UnitRecord:
        """Rename a unit's last part; every job, membership and grant follows."""

    def user_by_name(self, name: str) -> UserRecord:
        """One user by name (NotFoundError when absent)."""

    def user_for_token_hash(self, token_hash: str) -> UserRecord:
        """The enabled user whose token hashes to ``token_hash`` (``core.ids.hash_token``);
        AuthenticationError when none does (the token was rotated or revoked, or its user
        is disabled)."""

    def user_memberships(self, name: str) -> list[Membership]:
        """A user's memberships (project roles by position, then the others)."""

    def set_membership(self, name: str, scope: str, role: Role) -> Membership:
        """Give user ``name`` the ``role`` over ``scope`` (replacing a role held there)."""

    def remove_membership(self, name: str, scope: str) -> None:
        """Remove user ``name``'s role over ``scope``."""

    def set_user_flags(
        self, name: str, *, disabled: bool | None = None, is_admin: bool | None = None
    ) -> None:
        """Disable/enable a user, or give/take the server administrator role."""

    def set_token(self, name: str, token: str | None) -> None:
        """Replace user ``name``'s token (stored hashed) or, with None, revoke it; the old
        token stops working with the next request."""

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
        (None: no limit), replacing any earlier ones."""

    def revoke_device(self, instance: str, backend: str) -> None:
        """Disable ``backend`` for the project."""

    def device_grants(self, instance: str) -> list[DeviceGrant]:
        """The devices enabled for a project, by name (empty: every device, default limits)."""

    def configured_job_limit(self, backend: str) -> tuple[bool, int | None]:
        """Whether a server-wide job limit is configured for ``backend``, and its value (None:
        configured as no limit)."""

    def clear_job_limit(self, backend: str) -> None:
        """Forget the server-wide job limit of ``backend`` (back to the default)."""

    def record_audit(
        self, actor: str, action: str, target: str, scope: str, details: dict[str, Any]
    ) -> None:
        """Append an audit entry (who, what, on what, within which unit)."""

    def audit_entries(
        self, scopes: Sequence[str] | None = None, *, limit: int = 100
    ) -> list[AuditRecord]:
        """The newest ``limit`` entries, newest first; with ``scopes``, only those concerning
        one of the units (or below)."""

    def count_active_in(self, owner_id: int, backend: str, instance: str) -> int:
        """Active jobs of one user on one backend through one instance (its job limit)."""

    def project_members(self, instance: str) -> list[tuple[str, Role]]:
        """Users holding a project role in ``instance``, by name."""
