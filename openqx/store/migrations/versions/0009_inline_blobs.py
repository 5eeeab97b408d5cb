"""Small blobs in the database: ``inline_blobs`` (key, bytes), for the payloads and results
under ``DatabaseBlobStore``'s size limit.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``inline_blobs`` (blobs stored before stay where they are, and are found)."""
    op.create_table(
        "inline_blobs",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inline_blobs")),
    )


def downgrade() -> None:
    """Drop ``inline_blobs`` (the blobs kept there are lost)."""
    op.drop_table("inline_blobs")
