"""Turning store records into wire models."""

from __future__ import annotations

from datetime import datetime

from openqx.core.status import JobStatus
from openqx.core.wire import ErrorInfo, JobInfo, JobStatusInfo
from openqx.store.records import JobRecord

__all__ = ["job_info", "job_status_info"]


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


def job_info(record: JobRecord, *, queue_position: int | None = None) -> JobInfo:
    """The API view of a job."""
    return JobInfo(
        id=record.id,
        kind=record.kind,  # type: ignore[arg-type]
        backend=record.backend,
        status=record.status,
        owner=record.owner,
        instance=record.instance,
        name=record.name,
        tags=list(record.tags),
        share_level=record.share_level,  # type: ignore[arg-type]
        experiment_id=record.experiment_id,
        program_id=record.program_id,
        created_at=record.created_at,
        updated_at=record.updated_at,
        time_per_step=_steps(dict(record.time_per_step)),
        num_circuits=record.num_circuits,
        shots=record.shots,
        memory=record.memory,
        header=dict(record.header),
        options=dict(record.options),
        snapshot_id=record.snapshot_id,
        run_mode=record.run_mode,
        queue_position=queue_position if record.status is JobStatus.QUEUED else None,
        error=_error(record),
        live_data_enabled=record.live_data_enabled,
        client_info=dict(record.client_info),
    )


def job_status_info(record: JobRecord, *, queue_position: int | None = None) -> JobStatusInfo:
    """The cheap status view of a job."""
    return JobStatusInfo(
        id=record.id,
        status=record.status,
        queue_position=queue_position if record.status is JobStatus.QUEUED else None,
        error=_error(record),
    )
