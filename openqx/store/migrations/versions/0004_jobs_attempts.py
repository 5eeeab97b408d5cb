"""Count the starts of each job (``jobs.attempts``) for bounded retries.

A job whose worker died is run again on a fresh worker a bounded number of times; a job
whose server died while running it is requeued and claimed again. The count of starts lets
the dispatcher stop after the last allowed attempt and shows the user how often the job ran.
Existing jobs start at 0 (jobs already run count as never retried).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("jobs", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    """Revert this revision (``ALTER TABLE ... DROP COLUMN``, SQLite 3.35 or newer: a batch
    copy of ``jobs`` would drop it, and with it cascade every job's tags)."""
    op.drop_column("jobs", "attempts")
