"""``QueueInfo``: where a queued job stands, with a human-readable report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openqx.core import wire
from openqx.core.times import local_from_stored

__all__ = ["QueueInfo"]


class QueueInfo:
    """Queue information for a job.

    Attributes:
        job_id: the job.
        position: the job's position in the queue, or ``None``.
        status: the raw queue status, or ``None``.
        hub_priority: the hub's fair-share priority, or ``None``.
        group_priority: the group's fair-share priority, or ``None``.
        project_priority: the project's fair-share priority, or ``None``.
    """

    def __init__(
        self,
        job_id: str,
        position: int | None = None,
        status: str | None = None,
        estimated_start_time: datetime | None = None,
        estimated_complete_time: datetime | None = None,
        hub_priority: float | None = None,
        group_priority: float | None = None,
        project_priority: float | None = None,
    ) -> None:
        self.job_id = job_id
        self.position = position
        self._status = status
        self._estimated_start_time = estimated_start_time
        self._estimated_complete_time = estimated_complete_time
        self.hub_priority = hub_priority
        self.group_priority = group_priority
        self.project_priority = project_priority

    @classmethod
    def from_wire(cls, info: wire.QueueInfo) -> QueueInfo:
        """Build from the ``GET /jobs/{id}/queue_info`` answer."""
        return cls(**info.model_dump())

    @property
    def status(self) -> str | None:
        """The raw queue status."""
        return self._status

    @property
    def estimated_start_time(self) -> datetime | None:
        """Estimated start time, in local time (``None``: unknown, e.g. the device is under
        maintenance without an end)."""
        start = self._estimated_start_time
        return local_from_stored(start) if start is not None else None

    @property
    def estimated_complete_time(self) -> datetime | None:
        """Estimated completion time, in local time (``None``: unknown)."""
        complete = self._estimated_complete_time
        return local_from_stored(complete) if complete is not None else None

    def is_empty(self) -> bool:
        """Whether nothing but the job id is known."""
        return all(value is None for value in self._fields().values())

    def _fields(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "status": self._status,
            "estimated_start_time": self._estimated_start_time,
            "estimated_complete_time": self._estimated_complete_time,
            "hub_priority": self.hub_priority,
            "group_priority": self.group_priority,
            "project_priority": self.project_priority,
        }

    def format(self) -> str:
        """Return a multi-line human-readable report."""
        start = self.estimated_start_time
        if start is not None:
            seconds = int((start - datetime.now(UTC)).total_seconds())
            start_text = f"{start.isoformat()} (in {max(seconds, 0)} s)"
        else:
            start_text = "unknown"
        complete = self.estimated_complete_time
        lines = [
            f"Job {self.job_id} queue information:",
            f"    queue position: {_or_unknown(self.position)}",
            f"    status: {_or_unknown(self._status)}",
            f"    estimated start time: {start_text}",
            f"    estimated completion time: {complete.isoformat() if complete else 'unknown'}",
            f"    hub priority: {_or_unknown(self.hub_priority)}",
            f"    group priority: {_or_unknown(self.group_priority)}",
            f"    project priority: {_or_unknown(self.project_priority)}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{key}={value.isoformat() if isinstance(value, datetime) else value!r}"
            for key, value in self._fields().items()
        )
        return f"<QueueInfo(job_id={self.job_id!r}, {fields})>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueueInfo):
            return NotImplemented
        return self.job_id == other.job_id and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]


def _or_unknown(value: object) -> str:
    return "unknown" if value is None else str(value)
