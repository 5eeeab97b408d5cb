"""Job statuses, the one vocabulary every layer speaks.

The names are those of ``qiskit.providers.JobStatus`` so the client maps them one to one.
"""

from __future__ import annotations

import enum

__all__ = ["ACTIVE_STATUSES", "FINAL_STATUSES", "JobStatus", "parse_status"]


class JobStatus(enum.StrEnum):
    """Lifecycle of a job: INITIALIZING → VALIDATING → QUEUED → RUNNING → DONE/CANCELLED/ERROR."""

    INITIALIZING = "INITIALIZING"
    VALIDATING = "VALIDATING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"

    @property
    def is_final(self) -> bool:
        """Whether no further transition can happen."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR})
ACTIVE_STATUSES = frozenset(
    {JobStatus.INITIALIZING, JobStatus.VALIDATING, JobStatus.QUEUED, JobStatus.RUNNING}
)


def parse_status(value: object) -> JobStatus:
    """Turn a status name (any case), a ``JobStatus`` or a qiskit ``JobStatus`` into ours.

    Raises:
        ValueError: the value names no status; the message lists the valid ones.
    """
    name = getattr(value, "name", value)
    if isinstance(name, str):
        try:
            return JobStatus[name.strip().upper()]
        except KeyError:
            pass
    valid = ", ".join(s.name for s in JobStatus)
    raise ValueError(f'"{value}" is not a valid status value. Valid values are {valid}.')
