"""``BackendJobLimit``: the caller's job limit on one backend."""

from __future__ import annotations

from dataclasses import dataclass

from openqx.core import wire

__all__ = ["BackendJobLimit"]


@dataclass(frozen=True)
class BackendJobLimit:
    """How many jobs the caller may have active on a backend.

    Attributes:
        maximum_jobs: the most active jobs allowed, or ``None`` for no limit.
        active_jobs: the caller's active jobs now.
    """

    maximum_jobs: int | None
    active_jobs: int

    @classmethod
    def from_wire(cls, info: wire.JobLimitInfo) -> BackendJobLimit:
        """Build from the ``GET /backends/{name}/job_limit`` answer."""
        return cls(maximum_jobs=info.maximum_jobs, active_jobs=info.active_jobs)

    @property
    def remaining_jobs(self) -> int | None:
        """Jobs that may still be submitted, or ``None`` for no limit."""
        if self.maximum_jobs is None:
            return None
        return max(self.maximum_jobs - self.active_jobs, 0)
