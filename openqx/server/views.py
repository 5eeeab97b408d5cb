"""Turning store records into wire models.

``job_info`` copies every ``JobInfo`` field that ``JobRecord`` declares under the same name;
only the fields the API words differently (``RECORD_VIEWS``) are computed here.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from openqx.core.status import JobStatus
from openqx.core.wire import ErrorInfo, JobInfo, JobStatusInfo
from openqx.store.records import JobRecord

__all__ = ["RECORD_VIEWS", "job_info", "job_status_info"]


_STEP_ORDER = {
    step: index
    for index, step in enumerate(
        ("CREATING", "CREATED", "VALIDATING", "VALIDATED", "QUEUED", "RUNNING")
        + tuple(status.value for status in JobStatus if status.is_final)
    )
}


def _steps(time_per_step: dict[str, datetime]) -> dict[str, datetime]:
    """Steps in the order they happened: by time, then lifecycle order for equal times.

    The stored mapping's key order is not kept by every database (PostgreSQL JSONB sorts
    keys), so the order is rebuilt here rather than trusted.
    """
    ordered = sorted(
        time_per_step.items(), key=lambda item: (item[1], _STEP_ORDER.get(item[0], 99), item[0])
    )
    return dict(ordered)


def _error(record: JobRecord) -> ErrorInfo | None:
    if record.error_code is None and record.error_message is None:
        return None
    return ErrorInfo(code=record.error_code or "error", message=record.error_message or "")


RECORD_VIEWS = frozenset({"time_per_step", "queue_position", "error"})
"""``JobInfo`` fields that are not a record field copied as is: the ordered steps, the queue
position (passed in) and the error (from ``error_code``/``error_message``)."""

_COPIED = tuple(
    name
    for name in JobInfo.model_fields
    if name not in RECORD_VIEWS and name in {f.name for f in dataclasses.fields(JobRecord)}
)


def job_info(record: JobRecord, *, queue_position: int | None = None) -> JobInfo:
    """The API view of a job."""
    values: dict[str, Any] = {name: getattr(record, name) for name in _COPIED}
    values.update(
        time_per_step=_steps(dict(record.time_per_step)),
        queue_position=queue_position if record.status is JobStatus.QUEUED else None,
        error=_error(record),
    )
    return JobInfo.model_validate(values)


def job_status_info(record: JobRecord, *, queue_position: int | None = None) -> JobStatusInfo:
    """The cheap status view of a job."""
    return JobStatusInfo(
        id=record.id,
        status=record.status,
        queue_position=queue_position if record.status is JobStatus.QUEUED else None,
        error=_error(record),
    )
