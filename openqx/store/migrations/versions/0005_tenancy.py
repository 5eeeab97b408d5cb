"""Tenancy: hubs, groups, projects, roles, device grants, disabled users, the audit log.

Existing data lands in the model unchanged: every instance named by a membership or a job
becomes a hub, group and project; users without an instance become members of the default
instance (where their jobs were filed); every membership is a ``member`` role. A
``backend_settings`` row whose ``maximum_jobs`` is NULL meant "the default" before this
revision and means "no limit" after it, so such rows are removed (the default stays).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from openqx.store.sqltypes import UTCDateTime

__all__: list[str] = []

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than imported, so later changes cannot alter this revision.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
DEFAULT_INSTANCE = "openqx/main/default"
JOB_INDEXES = {
    "ix_jobs_share_created": ["share_level", "created_at", "id"],
    "ix_jobs_instance_created": ["instance", "created_at", "id"],
    "ix_jobs_hub_group_created": ["hub", "hub_group", "created_at", "id"],
}


def _parts(instance: str) -> list[str] | None:
    parts = instance.split("/")
    if len(parts) != 3 or any(not p or p != p.strip() for p in parts):
        return None
    return parts


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "users", sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "user_instances",
        sa.Column("role", sa.String(length=32), server_default="member", nullable=False),
    )
    op.create_index("ix_user_instances_instance", "user_instances", ["instance"], unique=False)
    op.create_table(
        "hubs",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("share", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_hubs")),
    )
    op.create_table(
        "hub_groups",
        sa.Column("hub", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("share", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hub"],
            ["hubs.name"],
            name=op.f("fk_hub_groups_hub_hubs"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hub", "name", name=op.f("pk_hub_groups")),
    )
    op.create_table(
        "projects",
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("hub", sa.String(length=255), nullable=False),
        sa.Column("hub_group", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("share", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_projects")),
    )
    op.create_index("ix_projects_hub_group", "projects", ["hub", "hub_group"], unique=False)
    op.create_table(
        "project_devices",
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("backend", sa.String(length=128), nullable=False),
        sa.Column("share", sa.Integer(), server_default="1", nullable=False),
        sa.Column("job_limit", sa.Integer(), nullable=True),
        sa.Column("max_shots", sa.Integer(), nullable=True),
        sa.Column("max_circuits", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance"],
            ["projects.instance"],
            name=op.f("fk_project_devices_instance_projects"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance", "backend", name=op.f("pk_project_devices")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=1024), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_scope", "audit_log", ["scope", "id"], unique=False)
    for name, columns in JOB_INDEXES.items():
        op.create_index(name, "jobs", columns, unique=False)
    _move_data()


def _move_data() -> None:
    """Existing users, instances and jobs into the tenancy model (see the module text)."""
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM backend_settings WHERE maximum_jobs IS NULL"))
    conn.execute(
        sa.text(
            "INSERT INTO user_instances (user_id, instance, position, role) "
            "SELECT id, :instance, 0, 'member' FROM users WHERE id NOT IN "
            "(SELECT user_id FROM user_instances)"
        ),
        {"instance": DEFAULT_INSTANCE},
    )
    names = set(conn.execute(sa.text("SELECT DISTINCT instance FROM user_instances")).scalars())
    names |= set(conn.execute(sa.text("SELECT DISTINCT instance FROM jobs")).scalars())
    names.add(DEFAULT_INSTANCE)
    at = datetime.now(UTC)
    hubs = sa.table(
        "hubs", sa.column("name"), sa.column("share"), sa.column("created_at", UTCDateTime())
    )
    groups = sa.table(
        "hub_groups",
        sa.column("hub"),
        sa.column("name"),
        sa.column("share"),
        sa.column("created_at", UTCDateTime()),
    )
    projects = sa.table(
        "projects",
        sa.column("instance"),
        sa.column("hub"),
        sa.column("hub_group"),
        sa.column("name"),
        sa.column("share"),
        sa.column("created_at", UTCDateTime()),
    )
    seen_hubs: set[str] = set()
    seen_groups: set[tuple[str, str]] = set()
    for instance in sorted(names):
        parts = _parts(instance)
        if parts is None:
            continue
        hub, group, project = parts
        if hub not in seen_hubs:
            seen_hubs.add(hub)
            conn.execute(sa.insert(hubs).values(name=hub, share=1, created_at=at))
        if (hub, group) not in seen_groups:
            seen_groups.add((hub, group))
            conn.execute(sa.insert(groups).values(hub=hub, name=group, share=1, created_at=at))
        conn.execute(
            sa.insert(projects).values(
                instance=instance, hub=hub, hub_group=group, name=project, share=1, created_at=at
            )
        )


def downgrade() -> None:
    """Revert this revision (roles other than ``member`` are dropped with their rows)."""
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM user_instances WHERE role <> 'member'"))
    for name in JOB_INDEXES:
        op.drop_index(name, table_name="jobs")
    op.drop_index("ix_audit_log_scope", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("project_devices")
    op.drop_index("ix_projects_hub_group", table_name="projects")
    op.drop_table("projects")
    op.drop_table("hub_groups")
    op.drop_table("hubs")
    op.drop_index("ix_user_instances_instance", table_name="user_instances")
    op.drop_column("user_instances", "role")
    op.drop_column("users", "disabled")
