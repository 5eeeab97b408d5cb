"""Fair share reads less: ``device_usage`` (usage per device, project and hour, filled from
the jobs already finished) and ``ix_jobs_fairshare_queue`` (a device's queued jobs in queue
order with the columns the played-forward order reads).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from openqx.core.times import utc_from_stored
from openqx.store.sqltypes import UTCDateTime

__all__: list[str] = []

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000


def upgrade() -> None:
    """Create the table and the index; sum every finished job's usage into its hour."""
    usage = op.create_table(
        "device_usage",
        sa.Column("backend", sa.String(length=128), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("backend", "hour", "instance", name=op.f("pk_device_usage")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_jobs_fairshare_queue",
        "jobs",
        ["backend", "status", "created_at", "id", "instance", "priority"],
    )
    jobs = sa.table(
        "jobs",
        sa.column("backend", sa.String()),
        sa.column("instance", sa.String()),
        sa.column("finished_at", UTCDateTime()),
        sa.column("usage_seconds", sa.Float()),
    )
    totals: dict[tuple[str, datetime, str], list[float]] = {}
    finished = op.get_bind().execute(
        sa.select(jobs.c.backend, jobs.c.instance, jobs.c.finished_at, jobs.c.usage_seconds)
        .where(jobs.c.finished_at.is_not(None), jobs.c.usage_seconds.is_not(None))
        .execution_options(yield_per=BATCH)
    )
    for backend, instance, finished_at, seconds in finished:
        hour = utc_from_stored(finished_at).replace(minute=0, second=0, microsecond=0)
        total = totals.setdefault((backend, hour, instance), [0.0, 0])
        total[0] += float(seconds)
        total[1] += 1
    rows = [
        {"backend": b, "hour": h, "instance": i, "seconds": s, "jobs": int(n)}
        for (b, h, i), (s, n) in totals.items()
    ]
    for start in range(0, len(rows), BATCH):
        op.bulk_insert(usage, rows[start : start + BATCH])


def downgrade() -> None:
    """Drop the index and the table (the jobs keep their usage)."""
    op.drop_index("ix_jobs_fairshare_queue", table_name="jobs")
    op.drop_table("device_usage")
