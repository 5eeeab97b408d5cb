"""Plain records that the store hands to the layers above (no SQLAlchemy objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openqx.core.status import JobStatus

__all__ = ["JobRecord", "NewJob", "UserRecord"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user and the instances (``hub/group/project``) it belongs to, default first."""

    id: int
    name: str
    is_admin: bool
    instances: tuple[str, ...]
    created_at: datetime


@dataclass(slots=True)
class NewJob:
    """Everything needed to insert a job; the store sets timestamps and status QUEUED."""

    id: str
    kind: str  # "circuits" | "runtime"
    backend: str
    owner_id: int
    instance: str
    payload_key: str
    num_circuits: int
    shots: int | None
    memory: bool = False
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    share_level: str = "none"
    experiment_id: str | None = None
    program_id: str | None = None
    header: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    snapshot_id: str | None = None
    live_data_enabled: bool | None = None
    client_info: dict[str, str] = field(default_factory=dict)
    priority: int = 0


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A stored job (everything but payload and result blobs, which are referenced by key)."""

    id: str
    kind: str
    backend: str
    status: JobStatus
    owner_id: int
    owner: str
    instance: str
    name: str | None
    tags: tuple[str, ...]
    share_level: str
    experiment_id: str | None
    program_id: str | None
    created_at: datetime
    updated_at: datetime
    time_per_step: dict[str, datetime]
    num_circuits: int
    shots: int | None
    memory: bool
    header: dict[str, Any]
    options: dict[str, Any]
    snapshot_id: str | None
    payload_key: str
    result_key: str | None
    error_code: str | None
    error_message: str | None
    run_mode: str | None
    live_data_enabled: bool | None
    client_info: dict[str, str]
    cancel_requested: bool
    lease_owner: str | None
    lease_expires_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    priority: int
