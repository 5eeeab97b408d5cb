"""Which queued jobs may run together in one micro-batch (``docs/scheduling.md``).

Jobs of one device whose run does not depend on anything but their circuits run in one Aer
call (``execution.batch``) when the dispatcher claims them together
(``SqlJobStore.claim_batch``: the next jobs in fair-share order with the same key). The key is
what every job of a batch must share: the device, the calibration snapshot, shots, ``memory``
and every run option (``parameter_binds`` aside: they only make more experiments). A job that
runs alone has no key: one that is not a ``circuits`` job, one with its own
``seed_simulator`` (Aer seeds one call's experiments from one seed), or one with
``init_qubits=False`` (its shots form one sequence).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Protocol, runtime_checkable

from openqx.store.records import JobRecord

__all__ = ["DEFAULT_BATCH_LIMIT", "BatchClaimer", "BatchKey", "batch_key"]

DEFAULT_BATCH_LIMIT = 64
"""Most jobs in one micro-batch. 64 jobs of a few small circuits are one Aer call of about
the cost of one job's call; a larger batch makes its first job wait longer for its result."""

BatchKey = Callable[[JobRecord], Hashable | None]
"""A job → what the jobs of its batch share (``None``: it runs alone)."""


def batch_key(record: JobRecord) -> Hashable | None:
    """The micro-batch key of a job as it will run, or ``None`` when it runs alone."""
    if record.kind != "circuits":
        return None
    options = {k: v for k, v in record.options.items() if k != "parameter_binds"}
    if options.get("seed_simulator") is not None or options.get("init_qubits") is False:
        return None
    try:
        settings = json.dumps(options, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None
    return (record.backend, record.snapshot_id, record.shots, record.memory, settings)


@runtime_checkable
class BatchClaimer(Protocol):
    """A job store that claims micro-batches (``SqlJobStore.claim_batch``)."""

    def claim_batch(
        self,
        backend: str,
        worker: str,
        lease_seconds: float,
        *,
        key: BatchKey,
        limit: int,
        snapshot_id: str | None = None,
        window: int | None = None,
    ) -> list[JobRecord]:
        """Claim the next job and up to ``limit − 1`` more with its key."""
