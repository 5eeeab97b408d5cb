"""On PostgreSQL, every change of a job's status or cancel request is announced on the
``openqx_jobs`` channel (``NOTIFY``, delivered when its transaction commits), so that server
replicas on one database learn of each other's changes at once (``store.replica_changes``)
instead of at their next poll. SQLite serves one process: nothing to announce.

The payload is ``origin|job id|status|cancel requested (0 or 1)``; ``origin`` is the writing
connection's ``openqx.origin`` setting (empty for a writer that is not an openqx server).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

__all__: list[str] = []

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION openqx_job_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.cancel_requested IS DISTINCT FROM OLD.cancel_requested THEN
        PERFORM pg_notify(
            'openqx_jobs',
            concat_ws(
                '|',
                coalesce(current_setting('openqx.origin', true), ''),
                NEW.id,
                NEW.status,
                CASE WHEN NEW.cancel_requested THEN '1' ELSE '0' END
            )
        );
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

_TRIGGER = """
CREATE TRIGGER openqx_job_changed AFTER INSERT OR UPDATE ON jobs
FOR EACH ROW EXECUTE FUNCTION openqx_job_changed()
"""


def upgrade() -> None:
    """Create the trigger that announces job changes (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(_TRIGGER)


def downgrade() -> None:
    """Drop the trigger and its function (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS openqx_job_changed ON jobs")
    op.execute("DROP FUNCTION IF EXISTS openqx_job_changed()")
