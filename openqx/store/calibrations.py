"""Imported calibration snapshots, kept in the database so every server process (and every
restart) serves the same device histories.

``CalibrationStore`` is the port; ``SqlCalibrationStore`` keeps the rows in the job store's
database (``calibration_snapshots``, migration 0006) and shares its transactions, so it works
on ``SqlJobStore`` and ``MemoryJobStore`` alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from openqx.store.models import CalibrationSnapshotRow
from openqx.store.sql_store import SqlJobStore

__all__ = ["CalibrationStore", "ImportedSnapshot", "SqlCalibrationStore"]

_rows: sa.Table = CalibrationSnapshotRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ImportedSnapshot:
    """One imported snapshot: the device, its id and date, the checked properties JSON."""

    backend: str
    snapshot_id: str
    last_update_date: datetime
    properties: dict[str, Any]


class CalibrationStore(Protocol):
    """Where imported snapshots are kept."""

    def save_snapshot(self, snapshot: ImportedSnapshot) -> None:
        """Keep ``snapshot`` (saving the same device and id again changes nothing)."""

    def imported_snapshots(self) -> list[ImportedSnapshot]:
        """Every kept snapshot, by device then date."""


class SqlCalibrationStore:
    """``CalibrationStore`` in the job store's database.

    Args:
        jobs: the job store whose database (and transactions) it uses.
    """

    def __init__(self, jobs: SqlJobStore) -> None:
        self._jobs = jobs

    def save_snapshot(self, snapshot: ImportedSnapshot) -> None:
        """Keep ``snapshot`` (saving the same device and id again changes nothing)."""
        with self._jobs._transaction(write=True) as conn:  # noqa: SLF001 - same package
            exists = conn.execute(
                sa.select(_rows.c.snapshot_id).where(
                    _rows.c.backend == snapshot.backend,
                    _rows.c.snapshot_id == snapshot.snapshot_id,
                )
            ).first()
            if exists is not None:
                return
            conn.execute(
                sa.insert(_rows).values(
                    backend=snapshot.backend,
                    snapshot_id=snapshot.snapshot_id,
                    last_update_date=snapshot.last_update_date,
                    properties=snapshot.properties,
                    imported_at=self._jobs.clock.now(),
                )
            )

    def imported_snapshots(self) -> list[ImportedSnapshot]:
        """Every kept snapshot, by device then date."""
        with self._jobs._transaction() as conn:  # noqa: SLF001 - same package
            rows = conn.execute(
                sa.select(_rows).order_by(_rows.c.backend, _rows.c.last_update_date)
            ).all()
        return [
            ImportedSnapshot(
                backend=row.backend,
                snapshot_id=row.snapshot_id,
                last_update_date=row.last_update_date,
                properties=dict(row.properties),
            )
            for row in rows
        ]
