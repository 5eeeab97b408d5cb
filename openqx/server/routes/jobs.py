"""``/jobs``: submit, find, watch, change and cancel jobs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from openqx.core import errors, paging, run_options
from openqx.core.access import INSTANCE_HEADER
from openqx.core.bounds import MAX_TAG_LENGTH, check_text
from openqx.core.ids import new_job_id
from openqx.core.job_sets import job_set_tag
from openqx.core.status import JobStatus
from openqx.core.wire import (
    SUBMITTED_EVENT,
    CancelAnswer,
    CircuitsPayload,
    JobInfo,
    JobPage,
    JobQuery,
    JobStatusInfo,
    JobSubmission,
    JobUpdate,
    QueueInfo,
    b64encode,
)
from openqx.scheduler import estimates
from openqx.server import permissions
from openqx.server.deps import CallerToken, CurrentUser, ServiceDep, visible_job
from openqx.server.events import wait_for_event
from openqx.server.service import Service
from openqx.server.status_stream import (
    EVENT_STREAM,
    STREAM_POLL_SECONDS,
    WatchedStream,
    sse,
    status_events,
    wants_stream,
)
from openqx.server.submission import submit_circuits_job
from openqx.server.views import job_info, job_status_info
from openqx.store.records import JobRecord, UserRecord

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter()

CANCEL_WAIT_SECONDS = 30.0
"""How long a cancel request waits for a running job to stop before it answers (real time:
it bounds how long the request is held)."""


def _position(service: Service, record: JobRecord) -> int | None:
    """The queue position of the job as ``record`` holds it; none without a read when this
    server's dispatcher runs it already (a submission's own thread claims its job)."""
    if record.status is JobStatus.QUEUED and service.dispatcher.holds(record.id):
        return None
    return service.store.queue_position(record)


@router.post(
    "/jobs",
    response_model=JobInfo,
    status_code=201,
    responses={
        201: {
            "content": {EVENT_STREAM: {}},
            "description": "The job as queued; asked with ``Accept: text/event-stream``, the "
            "job's status stream (``GET /jobs/{id}/events``) whose first event, ``submitted``, "
            "is the job as queued.",
        }
    },
)
async def submit_job(
    body: JobSubmission,
    request: Request,
    service: ServiceDep,
    token: CallerToken,
    instance: Annotated[str | None, Header(alias=INSTANCE_HEADER)] = None,
) -> Response:
    """Validate and queue a job of circuits, filed under the request's instance.

    Asked with ``Accept: text/event-stream``, the answer is the job's status stream, its
    first event (``submitted``) the job as queued: a client that waits for the job needs no
    second request."""
    stream = wants_stream(request)
    job_id = new_job_id()
    with contextlib.ExitStack() as watching:  # ended here unless the stream takes it over
        changes = watching.enter_context(service.events.watch(job_id)) if stream else None
        record, info = await run_in_threadpool(_submit, service, token, body, instance, job_id)
        watch = watching.pop_all()
    answer = info.model_dump_json()
    if changes is None:
        return Response(answer, status_code=201, media_type="application/json")
    events = status_events(
        service,
        request,
        changes,
        record,
        first=sse(SUBMITTED_EVENT, answer),
        view=job_status_info(record, queue_position=info.queue_position),
    )
    return WatchedStream(events, watch, status_code=201)


def _submit(
    service: Service, token: str, body: JobSubmission, requested: str | None, job_id: str
) -> tuple[JobRecord, JobInfo]:
    """Read the caller (``deps.caller_token``), store the job filed under the instance
    ``requested`` (``permissions.request_instance``) and read its queue position: one
    thread hop."""
    user = service.store.user_for_token(token)
    instance = permissions.request_instance(user, requested)
    record = submit_circuits_job(service, user, body, instance=instance, job_id=job_id)
    return record, job_info(record, queue_position=_position(service, record))


@router.post("/jobs/search", response_model=JobPage)
def search_jobs(
    query: JobQuery,
    service: ServiceDep,
    user: CurrentUser,
    scope: str = "own",
    instance: Annotated[str | None, Header(alias=INSTANCE_HEADER)] = None,
) -> JobPage:
    """Jobs matching every filter, one keyset page at a time: the caller's own (``scope``
    ``own``, the default), others' jobs the caller may read (``shared``: shared with one of
    their projects, groups or hubs, ``global``, or in a unit they administer), or both
    (``all``). With the instance header, own jobs are those filed under that instance."""
    try:
        paging.check_limit(query.limit)
        paging.check_skip(query.skip)
    except ValueError as exc:
        raise errors.InvalidFilterError(str(exc)) from exc
    if query.tags is not None:
        try:
            run_options.validate_job_tags(query.tags)
        except (TypeError, ValueError) as exc:
            raise errors.InvalidFilterError(str(exc)) from exc
    own_instance = None
    if instance is not None and scope == "own":
        own_instance = permissions.request_instance(user, instance)
    records, cursor = service.store.search_jobs(
        query, visible_to=user, scope=scope, instance=own_instance
    )
    return JobPage(jobs=[job_info(r) for r in records], next_cursor=cursor)


@router.get("/jobs", response_model=JobPage)
def list_jobs(
    service: ServiceDep,
    user: CurrentUser,
    limit: int | None = 10,
    skip: int = 0,
    cursor: str | None = None,
    backend: str | None = None,
    kind: Literal["circuits", "runtime"] | None = None,
    status: Annotated[list[JobStatus] | None, Query()] = None,
    name: str | None = None,
    start_datetime: datetime | None = None,
    end_datetime: datetime | None = None,
    tags: Annotated[list[str] | None, Query()] = None,
    tags_operator: Literal["OR", "AND"] = "OR",
    experiment_id: str | None = None,
    program_id: str | None = None,
    descending: bool = True,
    scope: str = "own",
    instance: Annotated[str | None, Header(alias=INSTANCE_HEADER)] = None,
) -> JobPage:
    """``POST /jobs/search`` as query parameters (``status`` and ``tags`` repeat), for any
    HTTP client: the same filters (but ``db_filter``), visibility, scopes and bounds."""
    given: dict[str, Any] = {
        "limit": limit,
        "skip": skip,
        "cursor": cursor,
        "backend": backend,
        "kind": kind,
        "status": status,
        "name": name,
        "start_datetime": start_datetime,
        "end_datetime": end_datetime,
        "tags": tags,
        "tags_operator": tags_operator,
        "experiment_id": experiment_id,
        "program_id": program_id,
        "descending": descending,
    }
    try:
        query = JobQuery.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "query"
        raise errors.InvalidFilterError(f"{field}: {first['msg']}") from exc
    return search_jobs(query, service, user, scope, instance)


@router.get("/jobs/{job_id}", response_model=JobInfo)
def get_job(job_id: str, service: ServiceDep, user: CurrentUser) -> JobInfo:
    """One job (no circuits or results)."""
    record = visible_job(service, user, job_id)
    return job_info(record, queue_position=_position(service, record))


@router.patch("/jobs/{job_id}", response_model=JobInfo)
def update_job(job_id: str, body: JobUpdate, service: ServiceDep, user: CurrentUser) -> JobInfo:
    """Rename a job and/or replace its tags (its owner, or an administrator over it)."""
    record = permissions.changeable_job(service, user, job_id)
    if body.name is None and body.tags is None:
        raise errors.InvalidInputError("Give a new 'name' and/or 'tags'.")
    try:
        run_options.validate_job_name(body.name)
        run_options.validate_job_tags(body.tags)
    except (TypeError, ValueError) as exc:
        raise errors.InvalidInputError(str(exc)) from exc
    updated = service.store.update_job(job_id, name=body.name, tags=body.tags)
    if record.owner_id != user.id:
        permissions.audit(
            service, user, "update_job", job_id, record.instance, name=body.name, tags=body.tags
        )
    service.job_changed(job_id)
    return job_info(updated, queue_position=_position(service, updated))


@router.get("/jobs/{job_id}/status", response_model=JobStatusInfo)
def job_status(job_id: str, service: ServiceDep, user: CurrentUser) -> JobStatusInfo:
    """Status, queue position and error of a job."""
    record = visible_job(service, user, job_id)
    return job_status_info(record, queue_position=_position(service, record))


@router.get("/jobs/{job_id}/events")
async def job_events(
    job_id: str, request: Request, service: ServiceDep, user: CurrentUser
) -> Response:
    """Server-sent events: one ``status`` event now and at every change, until final; just
    before the final one, a ``job`` event (``wire.JobFinal``) with the record and, when small,
    the result (``server.status_stream``)."""
    with contextlib.ExitStack() as watching:  # ended here if the read fails
        changes = watching.enter_context(service.events.watch(job_id))  # before the read
        record = await run_in_threadpool(visible_job, service, user, job_id)
        watch = watching.pop_all()
    return WatchedStream(status_events(service, request, changes, record), watch)


@router.get("/jobs/{job_id}/result")
def job_result(
    job_id: str, service: ServiceDep, user: CurrentUser, partial: bool = False
) -> Response:
    """The qiskit ``Result`` JSON of a finished job."""
    record = visible_job(service, user, job_id)
    if record.status is JobStatus.CANCELLED:
        raise errors.InvalidStateError(
            f"Unable to retrieve result for job {job_id}. Job was cancelled.", status="CANCELLED"
        )
    if record.status is JobStatus.ERROR and not (partial and record.result_key):
        raise errors.InvalidStateError(
            f"Unable to retrieve result for job {job_id}. Job has failed: "
            f"{record.error_message or 'unknown error'}",
            status="ERROR",
        )
    if not record.status.is_final or record.result_key is None:
        raise errors.ResultNotAvailableError(
            f"Job {job_id} is {record.status.value}; its result is not available yet.",
            status=record.status.value,
        )
    return Response(content=service.blobs.get(record.result_key), media_type="application/json")


@router.get("/jobs/{job_id}/circuits", response_model=CircuitsPayload)
def job_circuits(job_id: str, service: ServiceDep, user: CurrentUser) -> CircuitsPayload:
    """The job's circuits as base64 QPY (for runtime jobs: the program's circuits input)."""
    record = visible_job(service, user, job_id)
    payload = service.blobs.get(record.payload_key)
    if record.kind == "runtime":
        params: dict[str, Any] = json.loads(payload)
        return CircuitsPayload(qpy=str(params.get("circuits", "")))
    return CircuitsPayload(qpy=b64encode(payload))


@router.get("/jobs/{job_id}/properties")
def job_properties(job_id: str, service: ServiceDep, user: CurrentUser) -> dict[str, Any] | None:
    """The calibration snapshot the job ran (or will run) with; ``null`` for simulators."""
    record = visible_job(service, user, job_id)
    if record.snapshot_id is None:
        return None
    return service.job_snapshot(record.backend, record.snapshot_id).properties


@router.get("/jobs/{job_id}/queue_info", response_model=QueueInfo)
def queue_info(job_id: str, service: ServiceDep, user: CurrentUser) -> QueueInfo:
    """Fair-share queue position, estimated start/completion from the jobs ahead and the
    backend's measured run time per job and slots (held back by maintenance and other
    projects' reservations; null when a maintenance without an end holds the job), and the
    fair-share factors of the job's hub, group and project (``docs/scheduling.md``)."""
    record = visible_job(service, user, job_id)
    if record.status is not JobStatus.QUEUED:
        return QueueInfo(job_id=record.id, status=record.status.value)
    dispatcher = service.dispatcher
    limit = dispatcher.concurrency(record.backend)
    holds = service.store.start_holds(record.backend, record.instance)
    estimate = estimates.estimate_queue(
        position=service.store.queue_position(record),
        mean_run_seconds=service.store.mean_run_seconds(record.backend),
        slots=dispatcher.capacity if limit is None else min(limit, dispatcher.capacity),
        now=service.clock.now(),
        running=dispatcher.running_on(record.backend),
        maintenance=holds.maintenance,
        reservations=holds.reservations,
    )
    factors = service.store.fair_share_priorities(record)
    return QueueInfo(
        job_id=record.id,
        position=estimate.position,
        status=record.status.value,
        estimated_start_time=estimate.start,
        estimated_complete_time=estimate.complete,
        hub_priority=factors.hub,
        group_priority=factors.group,
        project_priority=factors.project,
    )


@router.post("/jobs/{job_id}/cancel", response_model=CancelAnswer)
async def cancel_job(job_id: str, service: ServiceDep, user: CurrentUser) -> CancelAnswer:
    """Cancel a queued job at once; stop a running one and answer once it has stopped.

    ``cancelled`` is true only when the job ends CANCELLED, so a status read right after a
    true answer is CANCELLED (the seed's meaning). A running job that has not stopped within
    ``CANCEL_WAIT_SECONDS`` is answered ``cancelled: false`` with its current status; its
    cancellation stays requested and it still ends CANCELLED.
    """
    record = await run_in_threadpool(permissions.changeable_job, service, user, job_id)
    if record.status.is_final:
        return CancelAnswer(
            cancelled=record.status is JobStatus.CANCELLED,
            status=record.status,
            message=f"Job {job_id} is already {record.status.value}.",
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CANCEL_WAIT_SECONDS
    with service.events.subscribe(job_id) as changed:
        changed.clear()
        updated = await run_in_threadpool(service.store.request_cancel, job_id)
        if record.owner_id != user.id:
            await run_in_threadpool(
                permissions.audit, service, user, "cancel_job", job_id, record.instance
            )
        service.job_changed(job_id)
        while not updated.status.is_final and loop.time() < deadline:
            # Woken by the dispatcher's change; re-read now and then for other replicas.
            await wait_for_event(changed, min(STREAM_POLL_SECONDS, deadline - loop.time()))
            changed.clear()
            updated = await run_in_threadpool(service.store.get_job, job_id)
    if updated.status is JobStatus.CANCELLED:
        return CancelAnswer(cancelled=True, status=updated.status, message="Job cancelled.")
    if updated.status.is_final:
        return CancelAnswer(
            cancelled=False,
            status=updated.status,
            message=f"Job {job_id} ended {updated.status.value} before it could be stopped.",
        )
    return CancelAnswer(
        cancelled=False,
        status=updated.status,
        message="Cancellation requested; the job is still stopping and will end CANCELLED.",
    )


@router.get("/job_sets/{set_id}", response_model=list[JobInfo])
def job_set(set_id: str, service: ServiceDep, user: CurrentUser) -> list[JobInfo]:
    """Every job of a job set (tagged ``openqx_jobset_<set_id>_``), in one answer."""
    return [job_info(r) for r in jobs_of_set(service, user, set_id)]


def jobs_of_set(service: Service, user: UserRecord, set_id: str) -> list[JobRecord]:
    """All jobs carrying the set's tag, oldest first; JobSetNotFoundError when none,
    InvalidInputError for an id no set can have (``_set_query``)."""
    query = _set_query(set_id)
    found: list[JobRecord] = []
    while True:
        records, cursor = service.store.search_jobs(query, visible_to=user)
        found.extend(records)
        if cursor is None:
            break
        query = query.model_copy(update={"cursor": cursor})
    if not found:
        raise errors.JobSetNotFoundError(f"{set_id} is not a known job set.", job_set_id=set_id)
    return found


_MAX_SET_ID_LENGTH = MAX_TAG_LENGTH - len(job_set_tag(""))
"""Longest job set id: its tag ``openqx_jobset_<id>_`` is a tag like any other."""


def _set_query(set_id: str) -> JobQuery:
    """The search for a set's jobs; InvalidInputError naming the rule when the id breaks it
    (at most ``_MAX_SET_ID_LENGTH`` characters, no NUL, valid Unicode)."""
    rule = (
        f"a job set id has at most {_MAX_SET_ID_LENGTH} characters, without NUL characters "
        "or unpaired surrogates"
    )
    try:
        if len(set_id) > _MAX_SET_ID_LENGTH:
            raise ValueError(f"this one has {len(set_id)} characters")
        check_text(set_id, "the job set id")
        return JobQuery(limit=None, tags=[job_set_tag(set_id)], descending=False)
    except (ValueError, ValidationError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise errors.InvalidInputError(
            f"Invalid job set id: {rule} ({reason.rstrip('.')})."
        ) from exc
