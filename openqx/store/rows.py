"""Turn result rows into the plain records of ``records.py`` (and new jobs into rows).

Both directions go by field name: a ``JobRecord`` field is the ``jobs`` column of that name
(``JOINED_FIELDS`` excepted), converted by ``_FROM_ROW`` where the stored form differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from openqx.core.access import PROJECT_ROLES, Membership, Role
from openqx.core.status import JobStatus
from openqx.core.times import utc_from_stored
from openqx.store.blobs import job_payload_key
from openqx.store.records import NEW_JOB_FIELDS, JobRecord, NewJob, UserRecord

__all__ = [
    "DERIVED_COLUMNS",
    "JOINED_FIELDS",
    "job_record",
    "new_job_values",
    "split_instance",
    "steps_from_json",
    "steps_to_json",
    "user_record",
]

JOINED_FIELDS = {"owner": "owner_name"}
"""``JobRecord`` fields read from a joined table, and their label in ``queries.select_jobs``."""

DERIVED_COLUMNS = ("hub", "hub_group", "project")
"""``jobs`` columns that are no record field: the parts of ``instance``, kept for filtering."""


def steps_to_json(steps: dict[str, datetime]) -> dict[str, str]:
    """``time_per_step`` as stored: ISO 8601 UTC strings."""
    return {step: utc_from_stored(at).isoformat() for step, at in steps.items()}


def steps_from_json(raw: dict[str, str] | None) -> dict[str, datetime]:
    """``time_per_step`` as handed out: aware UTC datetimes."""
    return {step: utc_from_stored(datetime.fromisoformat(at)) for step, at in (raw or {}).items()}


def split_instance(instance: str) -> tuple[str, str, str]:
    """``hub/group/project`` → its three parts (missing parts are empty strings)."""
    parts = (instance.split("/") + ["", "", ""])[:3]
    return parts[0], parts[1], parts[2]


def new_job_values(job: NewJob, now: datetime) -> dict[str, Any]:
    """Column values of a new QUEUED job: every ``NewJob`` field by name, the parts of its
    instance, its payload key, and CREATING, VALIDATING, QUEUED stamped ``now``. Columns not
    named here (result, error, lease, start and finish) start NULL."""
    hub, group, project = split_instance(job.instance)
    values = {name: getattr(job, name) for name in NEW_JOB_FIELDS}
    values.update(
        tags=list(dict.fromkeys(job.tags)),
        status=JobStatus.QUEUED.value,
        hub=hub,
        hub_group=group,
        project=project,
        payload_key=job_payload_key(job.id, job.kind),
        created_at=now,
        updated_at=now,
        time_per_step=steps_to_json(dict.fromkeys(("CREATING", "VALIDATING", "QUEUED"), now)),
        cancel_requested=False,
        attempts=0,
    )
    return values


def _dict(value: Any) -> dict[Any, Any]:
    return dict(value or {})


_FROM_ROW: dict[str, Callable[[Any], Any]] = {
    "status": JobStatus,
    "tags": lambda value: tuple(value or ()),
    "time_per_step": steps_from_json,
    "memory": bool,
    "cancel_requested": bool,
    "header": _dict,
    "options": _dict,
    "client_info": _dict,
}
"""Conversions from the stored form; every other field is the column's value as read."""

_RECORD_READERS = tuple(
    (field.name, JOINED_FIELDS.get(field.name, field.name), _FROM_ROW.get(field.name))
    for field in dataclasses.fields(JobRecord)
)


def job_record(row: Row[Any]) -> JobRecord:
    """A ``JobRecord`` from a row of ``queries.select_jobs()``."""
    m = row._mapping
    return JobRecord(
        **{
            name: m[key] if convert is None else convert(m[key])
            for name, key, convert in _RECORD_READERS
        }
    )


def user_record(row: Row[Any], memberships: Sequence[Row[Any]]) -> UserRecord:
    """A ``UserRecord`` from a ``users`` row and its ``user_instances`` rows (by position):
    the instances are the project memberships, in order."""
    m = row._mapping
    held = tuple(Membership(r.instance, Role(r.role)) for r in memberships)
    return UserRecord(
        id=m["id"],
        name=m["name"],
        is_admin=bool(m["is_admin"]),
        instances=tuple(h.scope for h in held if h.role in PROJECT_ROLES),
        created_at=m["created_at"],
        memberships=held,
        disabled=bool(m.get("disabled") or False),
    )
