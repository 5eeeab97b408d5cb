"""Request and answer bodies of the administration API (``/admin/...``): units, memberships,
users, tokens, device grants and the audit log. Shared by the server and the client.

Names of hubs, groups and projects follow ``core.instances`` (no ``/`` inside a part, no
surrounding spaces, no control or invisible formatting characters: its message names the code
point); every name is also ``core.wire``'s clean text (no NUL, no unpaired surrogate)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

from openqx.core import bounds
from openqx.core.access import Role
from openqx.core.instances import check_instance_part, check_unit_name, split_instance
from openqx.core.wire import _Clean  # the clean-text rule of every text field of the API

__all__ = [
    "AuditInfo",
    "DeviceGrantInfo",
    "DeviceGrantUpdate",
    "MembershipInfo",
    "MembershipUpdate",
    "ServerAdminUpdate",
    "TokenInfo",
    "UnitCreate",
    "UnitInfo",
    "UnitRename",
    "UnitShare",
    "UserDetail",
    "UserDisable",
]

_NAME = Field(min_length=1, max_length=255)
_SHARE = Field(default=1, ge=0, le=1_000_000)
_LIMIT = Field(default=None, ge=0, le=bounds.INT32_MAX)


def _unit_name(value: str) -> str:
    check_unit_name(value)  # ValueError naming the part and the character at fault
    return value


def _unit_part(value: str) -> str:
    return check_instance_part(value, "new_name")


def _project(value: str) -> str:
    split_instance(value)
    return value


Name = Annotated[StrictStr, _NAME, _Clean]
"""A clean name of 1 to 255 characters (a user's, in a body)."""
UnitName = Annotated[StrictStr, _NAME, AfterValidator(_unit_name), _Clean]
"""``hub``, ``hub/group`` or ``hub/group/project``, each part a valid unit name."""
UnitPart = Annotated[StrictStr, _NAME, AfterValidator(_unit_part), _Clean]
"""One part of a unit name (a rename's new last part)."""
ProjectName = Annotated[StrictStr, _NAME, AfterValidator(_project), _Clean]
"""``hub/group/project``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitCreate(_Model):
    """``POST /admin/units``: a hub (``hub``), group (``hub/group``) or project
    (``hub/group/project``) and its fair-share weight."""

    name: UnitName
    share: StrictInt = _SHARE


class UnitInfo(_Model):
    """A hub, group or project."""

    name: str
    kind: str
    share: int


class UnitRename(_Model):
    """``POST /admin/units/rename``: give a unit's last part a new name."""

    name: UnitName
    new_name: UnitPart


class UnitShare(_Model):
    """``PUT /admin/units/share``: a unit's fair-share weight."""

    name: UnitName
    share: StrictInt = _SHARE


class MembershipUpdate(_Model):
    """``PUT /admin/memberships``: give ``user`` the ``role`` over ``scope``."""

    user: Name
    scope: UnitName
    role: Role = Role.MEMBER


class MembershipInfo(_Model):
    """A role over a hub, group or project."""

    scope: str
    role: Role


class UserDetail(_Model):
    """A user as administrators see it."""

    user: str
    is_admin: bool
    disabled: bool
    instances: list[str]
    memberships: list[MembershipInfo]


class TokenInfo(_Model):
    """A user's new token (shown once)."""

    user: str
    token: str


class UserDisable(_Model):
    """``PUT /admin/users/{name}/disabled``."""

    disabled: StrictBool


class ServerAdminUpdate(_Model):
    """``PUT /admin/users/{name}/server_admin`` (server administrators only)."""

    is_admin: StrictBool


class DeviceGrantUpdate(_Model):
    """``PUT /admin/devices``: enable ``backend`` for the project ``instance`` with exactly
    these settings; a limit left out or ``null`` is no limit."""

    instance: ProjectName
    backend: StrictStr = Field(min_length=1, max_length=128)
    share: StrictInt = _SHARE
    job_limit: StrictInt | None = _LIMIT
    max_shots: StrictInt | None = _LIMIT
    max_circuits: StrictInt | None = _LIMIT


class DeviceGrantInfo(_Model):
    """A device enabled for a project."""

    instance: str
    backend: str
    share: int
    job_limit: int | None
    max_shots: int | None
    max_circuits: int | None


class AuditInfo(_Model):
    """One audit log entry: who did what to what, when, within which unit."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    scope: str
    details: dict[str, Any]
