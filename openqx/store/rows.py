"""Turn result rows into the plain records of ``records.py`` (and job fields into rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from openqx.core.status import JobStatus
from openqx.core.times import as_utc
from openqx.store.records import JobRecord, NewJob, UserRecord

__all__ = [
    "job_record",
    "new_job_values",
    "split_instance",
    "steps_from_json",
    "steps_to_json",
    "user_record",
]


def steps_to_json(steps: dict[str, datetime]) -> dict[str, str]:
    """``time_per_step`` as stored: ISO 8601 UTC strings."""
    return {step: as_utc(at).isoformat() for step, at in steps.items()}


def steps_from_json(raw: dict[str, str] | None) -> dict[str, datetime]:
    """``time_per_step`` as handed out: aware UTC datetimes."""
    return {step: as_utc(datetime.fromisoformat(at)) for step, at in (raw or {}).items()}


def split_instance(instance: str) -> tuple[str, str, str]:
    """``hub/group/project`` → its three parts (missing parts are empty strings)."""
    parts = (instance.split("/") + ["", "", ""])[:3]
    return parts[0], parts[1], parts[2]


def new_job_values(job: NewJob, now: datetime) -> dict[str, Any]:
    """Column values of a new QUEUED job (CREATING, VALIDATING, QUEUED stamped ``now``)."""
    hub, group, project = split_instance(job.instance)
    return {
        "id": job.id,
        "kind": job.kind,
        "backend": job.backend,
        "status": JobStatus.QUEUED.value,
        "owner_id": job.owner_id,
        "instance": job.instance,
        "hub": hub,
        "hub_group": group,
        "project": project,
        "name": job.name,
        "tags": list(dict.fromkeys(job.tags)),
        "share_level": job.share_level,
        "experiment_id": job.experiment_id,
        "program_id": job.program_id,
        "created_at": now,
        "updated_at": now,
        "time_per_step": steps_to_json(dict.fromkeys(("CREATING", "VALIDATING", "QUEUED"), now)),
        "num_circuits": job.num_circuits,
        "shots": job.shots,
        "memory": job.memory,
        "header": job.header,
        "options": job.options,
        "snapshot_id": job.snapshot_id,
        "payload_key": job.payload_key,
        "result_key": None,
        "error_code": None,
        "error_message": None,
        "run_mode": None,
        "live_data_enabled": job.live_data_enabled,
        "client_info": job.client_info,
        "cancel_requested": False,
        "lease_owner": None,
        "lease_expires_at": None,
        "started_at": None,
        "finished_at": None,
        "priority": job.priority,
    }


def job_record(row: Row[Any]) -> JobRecord:
    """A ``JobRecord`` from a row of ``queries.select_jobs()``."""
    m = row._mapping
    return JobRecord(
        id=m["id"],
        kind=m["kind"],
        backend=m["backend"],
        status=JobStatus(m["status"]),
        owner_id=m["owner_id"],
        owner=m["owner_name"],
        instance=m["instance"],
        name=m["name"],
        tags=tuple(m["tags"] or ()),
        share_level=m["share_level"],
        experiment_id=m["experiment_id"],
        program_id=m["program_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        time_per_step=steps_from_json(m["time_per_step"]),
        num_circuits=m["num_circuits"],
        shots=m["shots"],
        memory=bool(m["memory"]),
        header=dict(m["header"] or {}),
        options=dict(m["options"] or {}),
        snapshot_id=m["snapshot_id"],
        payload_key=m["payload_key"],
        result_key=m["result_key"],
        error_code=m["error_code"],
        error_message=m["error_message"],
        run_mode=m["run_mode"],
        live_data_enabled=m["live_data_enabled"],
        client_info=dict(m["client_info"] or {}),
        cancel_requested=bool(m["cancel_requested"]),
        lease_owner=m["lease_owner"],
        lease_expires_at=m["lease_expires_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        priority=m["priority"],
    )


def user_record(row: Row[Any], instances: tuple[str, ...]) -> UserRecord:
    """A ``UserRecord`` from a ``users`` row and its ordered instances."""
    m = row._mapping
    return UserRecord(
        id=m["id"],
        name=m["name"],
        is_admin=bool(m["is_admin"]),
        instances=instances,
        created_at=m["created_at"],
    )
