"""Index jobs by (owner, hub, created_at, id) for hub-filtered listings.

A ``db_filter`` on ``hubInfo.hub.name`` otherwise walks every job of the owner when the hub
matches none of them (users usually have jobs in one or two hubs); with this index such a
listing is an empty index range, and a matching one walks the index in page order.

On PostgreSQL, also extended statistics on ``(owner_id, hub)``: the two are strongly
dependent, and without them the planner multiplies their frequencies, expects a hit every few
rows and walks ``ix_jobs_created`` (seconds-long for an owner with no job in that hub). Not
part of the models (SQLAlchemy has no statistics objects); autogenerate ignores them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__: list[str] = []

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATISTICS = "st_jobs_owner_hub"


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_jobs_owner_hub_created",
        "jobs",
        ["owner_id", "hub", "created_at", "id"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS {STATISTICS} (dependencies, mcv) ON owner_id, hub FROM jobs")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    op.drop_index("ix_jobs_owner_hub_created", table_name="jobs")
