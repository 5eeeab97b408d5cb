"""Initial schema: users, user instances, jobs, job tags, backend settings.

Revision ID: 0001
Revises: (none)
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from openqx.store.sqltypes import UTCDateTime

__all__: list[str] = []

# Frozen here rather than imported, so later model changes cannot alter this revision.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "backend_settings",
        sa.Column("backend", sa.String(length=128), nullable=False),
        sa.Column("maximum_jobs", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("backend", name=op.f("pk_backend_settings")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_users_token_hash")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("hub", sa.String(length=255), nullable=False),
        sa.Column("hub_group", sa.String(length=255), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("share_level", sa.String(length=16), nullable=False),
        sa.Column("experiment_id", sa.String(length=255), nullable=True),
        sa.Column("program_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("time_per_step", JSON, nullable=False),
        sa.Column("num_circuits", sa.Integer(), nullable=False),
        sa.Column("shots", sa.Integer(), nullable=True),
        sa.Column("memory", sa.Boolean(), nullable=False),
        sa.Column("header", JSON, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("snapshot_id", sa.String(length=255), nullable=True),
        sa.Column("payload_key", sa.String(length=1024), nullable=False),
        sa.Column("result_key", sa.String(length=1024), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("run_mode", sa.String(length=64), nullable=True),
        sa.Column("live_data_enabled", sa.Boolean(), nullable=True),
        sa.Column("client_info", JSON, nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_jobs_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_claim", "jobs", ["backend", "status", "priority", "created_at"], unique=False
    )
    op.create_index("ix_jobs_created", "jobs", ["created_at", "id"], unique=False)
    op.create_index("ix_jobs_experiment", "jobs", ["experiment_id"], unique=False)
    op.create_index(
        "ix_jobs_owner_backend_created",
        "jobs",
        ["owner_id", "backend", "created_at", "id"],
        unique=False,
    )
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at", "id"], unique=False)
    op.create_index("ix_jobs_owner_name", "jobs", ["owner_id", "name"], unique=False)
    op.create_index(
        "ix_jobs_owner_status_created",
        "jobs",
        ["owner_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index("ix_jobs_status_lease", "jobs", ["status", "lease_expires_at"], unique=False)

    op.create_table(
        "user_instances",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_instances_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "instance", name=op.f("pk_user_instances")),
    )
    op.create_table(
        "job_tags",
        sa.Column("job_id", sa.String(length=24), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_tags_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "tag", name=op.f("pk_job_tags")),
    )
    op.create_index("ix_job_tags_tag_job", "job_tags", ["tag", "job_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_job_tags_tag_job", table_name="job_tags")

    op.drop_table("job_tags")
    op.drop_table("user_instances")
    op.drop_index("ix_jobs_status_lease", table_name="jobs")
    op.drop_index("ix_jobs_owner_status_created", table_name="jobs")
    op.drop_index("ix_jobs_owner_name", table_name="jobs")
    op.drop_index("ix_jobs_owner_created", table_name="jobs")
    op.drop_index("ix_jobs_owner_backend_created", table_name="jobs")
    op.drop_index("ix_jobs_experiment", table_name="jobs")
    op.drop_index("ix_jobs_created", table_name="jobs")
    op.drop_index("ix_jobs_claim", table_name="jobs")

    op.drop_table("jobs")
    op.drop_table("users")
    op.drop_table("backend_settings")
