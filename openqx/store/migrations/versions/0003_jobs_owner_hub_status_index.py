"""Index jobs by (owner, hub, status, created_at, id) for hub + status listings.

SQLite (built without STAT4) plans from per-index averages. For a ``db_filter`` on
``hubInfo.hub.name`` and ``status`` it picks ``ix_jobs_owner_status_created`` and checks the hub
of every job of the owner in that status, tens of thousands of rows when the hub matches none
of them (50 ms at 1,000,000 jobs). With this index the same listing is one index range: empty
when nothing matches, walked in page order when something does (0.2 ms). PostgreSQL already
answers it from ``ix_jobs_owner_hub_created`` thanks to the statistics of revision 0002, and
gains the same range.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__: list[str] = []

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_jobs_owner_hub_status_created"


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(INDEX, "jobs", ["owner_id", "hub", "status", "created_at", "id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(INDEX, table_name="jobs")
