"""SQLAlchemy 2 declarative models: users, their instances, jobs, job tags, backend settings.

The store runs Core statements against these tables (``Job.__table__`` etc.); ORM objects
never leave the package. Indexes follow the queries in ``queries.py``: one keyset index per
listing shape (owner alone, owner + backend, owner + status, owner + hub, owner + hub +
status; then ``created_at, id``), one for claiming, and ``job_tags (tag, job_id)`` for tag
filters (the listing probes the ``job_tags`` primary key ``(job_id, tag)`` per job it walks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from openqx.store.sqltypes import JSONType, UTCDateTime

__all__ = [
    "AuditEntry",
    "BackendSetting",
    "Base",
    "CalibrationSnapshotRow",
    "DeviceMaintenance",
    "DeviceReservation",
    "DeviceUsage",
    "Hub",
    "HubGroup",
    "InlineBlob",
    "Job",
    "JobTag",
    "Project",
    "ProjectDevice",
    "User",
    "UserInstance",
    "metadata",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names in migrations)."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


class User(Base):
    """An account; the API token is kept only as its sha256 hex digest."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())


class UserInstance(Base):
    """A membership: a user's ``role`` over a scope (``instance``: a project
    ``hub/group/project`` for ``member``/``project_admin``, ``hub/group`` for ``group_admin``,
    ``hub`` for ``hub_admin``). Among project roles, the lowest ``position`` is the default."""

    __tablename__ = "user_instances"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    instance: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    role: Mapped[str] = mapped_column(sa.String(32), server_default="member")

    __table_args__ = (sa.Index("ix_user_instances_instance", "instance"),)


class Job(Base):
    """One job: every ``JobRecord`` field, plus the parts of ``instance`` for filtering."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    backend: Mapped[str] = mapped_column(sa.String(128))
    status: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    instance: Mapped[str] = mapped_column(sa.String(255))
    hub: Mapped[str] = mapped_column(sa.String(255))
    hub_group: Mapped[str] = mapped_column(sa.String(255))
    project: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str | None] = mapped_column(sa.String(1024))
    tags: Mapped[list[str]] = mapped_column(JSONType)
    share_level: Mapped[str] = mapped_column(sa.String(16))
    experiment_id: Mapped[str | None] = mapped_column(sa.String(255))
    program_id: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    time_per_step: Mapped[dict[str, str]] = mapped_column(JSONType)
    num_circuits: Mapped[int] = mapped_column(sa.Integer)
    shots: Mapped[int | None] = mapped_column(sa.Integer)
    memory: Mapped[bool] = mapped_column(sa.Boolean)
    header: Mapped[dict[str, Any]] = mapped_column(JSONType)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType)
    snapshot_id: Mapped[str | None] = mapped_column(sa.String(255))
    payload_key: Mapped[str] = mapped_column(sa.String(1024))
    result_key: Mapped[str | None] = mapped_column(sa.String(1024))
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    run_mode: Mapped[str | None] = mapped_column(sa.String(64))
    live_data_enabled: Mapped[bool | None] = mapped_column(sa.Boolean)
    client_info: Mapped[dict[str, str]] = mapped_column(JSONType)
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(sa.Integer)
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    usage_seconds: Mapped[float | None] = mapped_column(sa.Float)
    """Device time the job consumed (``docs/scheduling.md``), recorded at its end."""

    __table_args__ = (
        sa.Index("ix_jobs_created", "created_at", "id"),
        sa.Index("ix_jobs_owner_created", "owner_id", "created_at", "id"),
        sa.Index("ix_jobs_owner_backend_created", "owner_id", "backend", "created_at", "id"),
        sa.Index("ix_jobs_owner_status_created", "owner_id", "status", "created_at", "id"),
        sa.Index("ix_jobs_owner_hub_created", "owner_id", "hub", "created_at", "id"),
        sa.Index(
            "ix_jobs_owner_hub_status_created", "owner_id", "hub", "status", "created_at", "id"
        ),
        sa.Index("ix_jobs_claim", "backend", "status", "priority", "created_at"),
        sa.Index(
            "ix_jobs_fairshare_head", "backend", "status", "instance", "priority", "created_at"
        ),
        sa.Index("ix_jobs_backend_finished", "backend", "finished_at", "instance", "usage_seconds"),
        sa.Index(
            "ix_jobs_fairshare_queue",
            *("backend", "status", "created_at", "id", "instance", "priority"),
        ),
        sa.Index("ix_jobs_status_lease", "status", "lease_expires_at"),
        sa.Index("ix_jobs_experiment", "experiment_id"),
        sa.Index("ix_jobs_owner_name", "owner_id", "name"),
        sa.Index("ix_jobs_share_created", "share_level", "created_at", "id"),
        sa.Index("ix_jobs_instance_created", "instance", "created_at", "id"),
        sa.Index("ix_jobs_hub_group_created", "hub", "hub_group", "created_at", "id"),
    )


class JobTag(Base):
    """One tag of one job (the filterable copy of ``jobs.tags``)."""

    __tablename__ = "job_tags"

    job_id: Mapped[str] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(sa.String(255), primary_key=True)

    __table_args__ = (sa.Index("ix_job_tags_tag_job", "tag", "job_id"),)


class BackendSetting(Base):
    """Per-backend settings; ``maximum_jobs`` is the per-user active-job limit. A row with
    ``maximum_jobs`` NULL means no limit; no row means the configured or device default."""

    __tablename__ = "backend_settings"

    backend: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    maximum_jobs: Mapped[int | None] = mapped_column(sa.Integer)


class Hub(Base):
    """A hub: the top of the ``hub/group/project`` tree; ``share`` weighs it in fair share."""

    __tablename__ = "hubs"

    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    share: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HubGroup(Base):
    """A group of a hub."""

    __tablename__ = "hub_groups"

    hub: Mapped[str] = mapped_column(
        sa.ForeignKey("hubs.name", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    share: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Project(Base):
    """A project of a group; ``instance`` is its ``hub/group/project`` name."""

    __tablename__ = "projects"

    instance: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    hub: Mapped[str] = mapped_column(sa.String(255))
    hub_group: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(255))
    share: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_projects_hub_group", "hub", "hub_group"),)


class ProjectDevice(Base):
    """A device enabled for a project, with its share and limits (NULL: no limit).

    A project with no rows here may use every device (the server's default limits apply)."""

    __tablename__ = "project_devices"

    instance: Mapped[str] = mapped_column(
        sa.ForeignKey("projects.instance", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    )
    backend: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    share: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    job_limit: Mapped[int | None] = mapped_column(sa.Integer)
    max_shots: Mapped[int | None] = mapped_column(sa.Integer)
    max_circuits: Mapped[int | None] = mapped_column(sa.Integer)


class AuditEntry(Base):
    """One administrative action, or an action on another user's job: who, what, when.

    ``scope`` is the unit the action concerns (a hub, group or project name; empty for
    server-wide actions), so hub administrators read only their hub's entries."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(sa.String(255))
    action: Mapped[str] = mapped_column(sa.String(64))
    target: Mapped[str] = mapped_column(sa.String(1024))
    scope: Mapped[str] = mapped_column(sa.String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (sa.Index("ix_audit_log_scope", "scope", "id"),)


class CalibrationSnapshotRow(Base):
    """A calibration snapshot an administrator imported into a device's history (the
    ``BackendProperties`` JSON as checked); every server process re-imports them at start-up."""

    __tablename__ = "calibration_snapshots"

    backend: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    snapshot_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_update_date: Mapped[datetime] = mapped_column(UTCDateTime())
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeviceReservation(Base):
    """A device reserved for one instance (``hub/group/project``) from ``start_at`` to
    ``end_at``: only that instance's jobs start on it meanwhile."""

    __tablename__ = "device_reservations"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    backend: Mapped[str] = mapped_column(sa.String(128))
    instance: Mapped[str] = mapped_column(sa.String(255))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_device_reservations_backend_end", "backend", "end_at"),)


class DeviceMaintenance(Base):
    """A device offline for maintenance from ``start_at`` until ``end_at`` (NULL: until an
    administrator ends it): no job starts on it meanwhile."""

    __tablename__ = "device_maintenance"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    backend: Mapped[str] = mapped_column(sa.String(128))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(sa.String(1024))
    created_by: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_device_maintenance_backend_start", "backend", "start_at"),)


class DeviceUsage(Base):
    """Usage recorded per device, project and hour: the ``usage_seconds`` of the jobs that
    finished in ``[hour, hour + 1 h)`` and their number, kept by ``finish_job`` so fair share
    sums hours instead of jobs (``store.fairshare``)."""

    __tablename__ = "device_usage"

    backend: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    instance: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    seconds: Mapped[float] = mapped_column(sa.Float)
    jobs: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = {"sqlite_with_rowid": False}  # rows kept in key order: hours read in place


class InlineBlob(Base):
    """A small blob (a job's payload or result under ``DatabaseBlobStore``'s size limit) kept
    in the database rather than as a file: one row write instead of a folder and a file per
    job, and as durable as the job rows that name it."""

    __tablename__ = "inline_blobs"

    key: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
