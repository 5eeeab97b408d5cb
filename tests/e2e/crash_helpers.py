"""What the crash tests read of the jobs table while the servers (other processes) run, and
the check that jobs finished before a crash came through it untouched."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from openqx.store.blobs import BlobStore, make_blob_store
from openqx.store.database import Database
from openqx.store.inline_blobs import DatabaseBlobStore

__all__ = ["Rows", "assert_untouched", "job_rows", "poll_rows", "served_blobs"]

WAIT_S = 180.0
"""Upper bound of every wait for the other processes (a failing test ends instead of hanging)."""
POLL_S = 0.02
"""How often the jobs table is read while waiting."""

Rows = dict[str, Any]
"""Job id → its row (id, status, attempts, finished_at, result_key, lease_owner, shots)."""


def served_blobs(db_url: str, folder: str) -> DatabaseBlobStore:
    """The blobs the servers keep: small ones in the database at ``db_url``, the others in
    ``folder`` (``docs/durability.md``). Its database is closed by the caller."""
    return DatabaseBlobStore(Database(db_url).open(), make_blob_store(folder))


def job_rows(engine: sa.Engine) -> Rows:
    """Every job's row, read now."""
    query = "SELECT id, status, attempts, finished_at, result_key, lease_owner, shots FROM jobs"
    with engine.connect() as conn:
        return {row.id: row for row in conn.execute(sa.text(query))}


def poll_rows(engine: sa.Engine, done: Callable[[Rows], bool], what: str) -> Rows:
    """Read the jobs table until ``done(rows)``; fail naming ``what`` after ``WAIT_S``."""
    deadline = time.monotonic() + WAIT_S
    while True:
        rows = job_rows(engine)
        if done(rows):
            return rows
        statuses = Counter(row.status for row in rows.values())
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {statuses}"
        time.sleep(POLL_S)


def assert_untouched(
    final: Rows, done_before: Rows, results_before: Mapping[str, bytes], blobs: BlobStore
) -> None:
    """Jobs DONE before the crash keep their end, result and single attempt."""
    for job_id, before in done_before.items():
        after = final[job_id]
        assert (after.finished_at, after.result_key, after.attempts) == (
            before.finished_at,
            before.result_key,
            1,
        )
        assert blobs.get(after.result_key) == results_before[job_id]
