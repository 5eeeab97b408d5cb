"""A job's fields are declared once (``JobRecord``/``NewJob``); the model, the row conversions,
the API view and submissions follow them by name. These tests fail when the declarations
drift apart, naming the field."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from openqx.core.status import JobStatus
from openqx.core.wire import JobInfo, JobSubmission, RuntimeJobSubmission
from openqx.server.views import RECORD_VIEWS, job_info
from openqx.store.models import Job
from openqx.store.records import NEW_JOB_FIELDS, JobRecord, NewJob, new_job
from openqx.store.rows import DERIVED_COLUMNS, JOINED_FIELDS

RECORD_FIELDS = {f.name for f in dataclasses.fields(JobRecord)}

INTERNAL_FIELDS = {
    "owner_id", "payload_key", "result_key", "error_code", "error_message",
    "cancel_requested", "lease_owner", "lease_expires_at", "started_at", "finished_at",
    "priority",
}  # fmt: skip
"""Record fields the API does not show (``error_*`` are shown as ``error``)."""


def test_every_column_is_a_record_field_and_back() -> None:
    columns = set(cast(sa.Table, Job.__table__).columns.keys())
    assert columns - set(DERIVED_COLUMNS) == RECORD_FIELDS - set(JOINED_FIELDS)


def test_new_job_fields_are_record_fields_with_the_same_types() -> None:
    record_types = {f.name: f.type for f in dataclasses.fields(JobRecord)}
    assert NEW_JOB_FIELDS <= RECORD_FIELDS
    assert "payload_key" not in NEW_JOB_FIELDS  # derived from the id by the store
    declared = {f.name: f.type for f in dataclasses.fields(NewJob) if f.name != "tags"}
    assert {name: record_types[name] for name in declared} == declared


def test_job_info_fields_come_from_the_record() -> None:
    info_fields = set(JobInfo.model_fields)
    assert info_fields - RECORD_FIELDS == RECORD_VIEWS - RECORD_FIELDS
    assert RECORD_FIELDS - info_fields == INTERNAL_FIELDS


def test_submissions_fill_new_jobs_by_name() -> None:
    """Fields a request shares with ``NewJob`` flow into it without being listed."""
    shared = {
        name for model in (JobSubmission, RuntimeJobSubmission) for name in model.model_fields
    } & NEW_JOB_FIELDS
    assert shared == {
        "backend", "shots", "memory", "name", "tags", "share_level", "experiment_id",
        "header", "options", "live_data_enabled", "client_info", "program_id",
    }  # fmt: skip
    body = JobSubmission(backend="b", qpy="", name="n", tags=["t"], header={"h": 1})
    job = new_job(body.model_dump(), **_minimal(), share_level="none")
    assert (job.name, job.tags, job.header, job.shots) == ("n", ["t"], {"h": 1}, 1)


def _minimal() -> dict[str, Any]:
    return {
        "id": "a" * 24, "kind": "circuits", "backend": "b", "owner_id": 1,
        "instance": "h/g/p", "num_circuits": 1, "shots": 1,
    }  # fmt: skip


def test_job_info_copies_shared_fields_and_words_the_rest() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    values: dict[str, Any] = {name: None for name in RECORD_FIELDS}
    values.update(
        id="a" * 24, kind="runtime", backend="b", status=JobStatus.QUEUED, owner_id=1,
        owner="alice", instance="h/g/p", name="n", tags=("x", "y"), share_level="hub",
        program_id="circuit-runner", created_at=at, updated_at=at, num_circuits=2, shots=5,
        memory=True, header={"a": 1}, options={"o": [1]}, payload_key="k",
        error_code="c", error_message="m", live_data_enabled=False, client_info={"q": "1"},
        cancel_requested=False, priority=0, attempts=2,
        time_per_step={"RUNNING": at + timedelta(seconds=1), "QUEUED": at, "CREATING": at},
    )  # fmt: skip
    record = JobRecord(**values)
    info = job_info(record, queue_position=4)
    for name in set(JobInfo.model_fields) - RECORD_VIEWS:
        expected = values[name]
        assert getattr(info, name) == (list(expected) if name == "tags" else expected), name
    assert list(info.time_per_step) == ["CREATING", "QUEUED", "RUNNING"]
    assert info.queue_position == 4
    assert info.error is not None and (info.error.code, info.error.message) == ("c", "m")
    running = dataclasses.replace(record, status=JobStatus.RUNNING, error_code=None)
    assert job_info(running, queue_position=4).queue_position is None
    assert job_info(dataclasses.replace(running, error_message=None)).error is None
