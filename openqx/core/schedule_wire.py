"""Request and answer bodies of device reservations and maintenance windows (``/admin``
routes and ``GET /backends/{name}/reservations``). Shared by the server and the client."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from openqx.core.wire import BackendName, Instance, ShortText, UtcDatetime

__all__ = ["MaintenanceCreate", "MaintenanceInfo", "ReservationCreate", "ReservationInfo"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReservationCreate(_Model):
    """``POST /admin/reservations``: reserve ``backend`` for ``instance`` over
    ``[start, end)`` (naive times are UTC)."""

    backend: BackendName
    instance: Instance
    start: UtcDatetime
    end: UtcDatetime


class ReservationInfo(_Model):
    """A reservation as the caller may see it: ``id``, ``mode`` and ``created_at`` only for
    the reserving instance's members and its administrators (the seed's owner-only fields)."""

    backend: str
    start: datetime
    end: datetime
    hub: str | None = None
    group: str | None = None
    project: str | None = None
    id: str | None = None
    mode: str | None = None
    created_at: datetime | None = None


class MaintenanceCreate(_Model):
    """``POST /admin/maintenance``: take ``backend`` offline from ``start`` (default now)
    until ``end`` (default: until ``DELETE /admin/maintenance/{backend}``); ``message``, when
    given, is shown after ``maintenance:`` in the device's ``status_msg``."""

    backend: BackendName
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    message: ShortText | None = Field(default=None, min_length=1)


class MaintenanceInfo(_Model):
    """A maintenance window (``id``: for ``DELETE /admin/maintenance/windows/{id}``;
    ``message`` empty when none was given)."""

    id: str
    backend: str
    start: datetime
    end: datetime | None
    message: str
