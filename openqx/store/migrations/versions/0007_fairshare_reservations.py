"""Fair share, reservations and maintenance: ``jobs.usage_seconds`` (device time recorded at
a job's end), the indexes the fair-share pick reads, ``device_reservations`` and
``device_maintenance``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from openqx.store.sqltypes import UTCDateTime

__all__: list[str] = []

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the usage column, the fair-share indexes and the two device tables."""
    op.add_column("jobs", sa.Column("usage_seconds", sa.Float(), nullable=True))
    op.create_index(
        "ix_jobs_fairshare_head",
        "jobs",
        ["backend", "status", "instance", "priority", "created_at"],
    )
    op.create_index(
        "ix_jobs_backend_finished", "jobs", ["backend", "finished_at", "instance", "usage_seconds"]
    )
    op.create_table(
        "device_reservations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("backend", sa.String(length=128), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_reservations")),
    )
    op.create_index(
        "ix_device_reservations_backend_end", "device_reservations", ["backend", "end_at"]
    )
    op.create_table(
        "device_maintenance",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("backend", sa.String(length=128), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=True),
        sa.Column("message", sa.String(length=1024), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_maintenance")),
    )
    op.create_index(
        "ix_device_maintenance_backend_start", "device_maintenance", ["backend", "start_at"]
    )


def downgrade() -> None:
    """Drop the device tables, the indexes and the usage column (recorded usage is lost)."""
    op.drop_index("ix_device_maintenance_backend_start", table_name="device_maintenance")
    op.drop_table("device_maintenance")
    op.drop_index("ix_device_reservations_backend_end", table_name="device_reservations")
    op.drop_table("device_reservations")
    op.drop_index("ix_jobs_backend_finished", table_name="jobs")
    op.drop_index("ix_jobs_fairshare_head", table_name="jobs")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 or newer): a batch copy of ``jobs`` would drop
    # it, and with it cascade every job's tags.
    op.drop_column("jobs", "usage_seconds")
