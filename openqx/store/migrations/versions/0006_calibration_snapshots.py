"""Imported calibration snapshots: one row per device and snapshot id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from openqx.store.sqltypes import JSONType, UTCDateTime

__all__: list[str] = []

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``calibration_snapshots``."""
    op.create_table(
        "calibration_snapshots",
        sa.Column("backend", sa.String(length=128), nullable=False),
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("last_update_date", UTCDateTime(), nullable=False),
        sa.Column("properties", JSONType, nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("backend", "snapshot_id", name=op.f("pk_calibration_snapshots")),
    )


def downgrade() -> None:
    """Drop ``calibration_snapshots`` (imported snapshots are lost)."""
    op.drop_table("calibration_snapshots")
