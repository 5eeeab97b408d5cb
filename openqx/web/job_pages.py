"""The jobs list and a job's page.

Every read and change goes through the API's own route functions (``server.routes.jobs``), so
the dashboard has the API's validation and permission checks (``server.permissions``) and no
second path to the data; only the rendering is this module's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from openqx.core import errors
from openqx.core.status import JobStatus
from openqx.core.wire import JobInfo, JobUpdate, QueueInfo
from openqx.server import permissions, status_stream
from openqx.server.deps import ServiceDep
from openqx.server.routes import jobs as jobs_api
from openqx.server.service import Service
from openqx.web import calibration
from openqx.web.filters import SCOPES, JobFilter, parse_filter
from openqx.web.rendering import PageRoute, render
from openqx.web.security import PageUser, SignedIn, read_form, require_csrf, still_signed_in

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RECHECK_SECONDS = 2.0
"""How often the jobs page's event stream runs its search again to see jobs that are not on
the page yet (a new job, one that now matches); changes of the jobs shown wake it at once."""
MAX_DRAWN_CIRCUITS = 5
DRAW_FOLD = 110
NOTICES = {
    "renamed": "The job was renamed.",
    "retagged": "The job's tags were replaced.",
    "cancelled": "The job was cancelled.",
    "cancel_pending": "Cancellation requested; the job ends CANCELLED once it has stopped.",
    "cancel_final": "The job had already finished; nothing was cancelled.",
}


def _search(service: Service, signed_in: SignedIn, job_filter: JobFilter) -> dict[str, Any]:
    """One page of jobs through ``POST /jobs/search``'s function, or the form's problems."""
    jobs: list[JobInfo] = []
    next_cursor = None
    if job_filter.query is not None:
        try:
            page = jobs_api.search_jobs(
                job_filter.query, service, signed_in.user, scope=job_filter.scope, instance=None
            )
        except errors.InvalidInputError as exc:
            job_filter.problems[str(exc.details.get("field") or "filter")] = exc.message
        else:
            jobs, next_cursor = page.jobs, page.next_cursor
    first_page = not job_filter.query or not job_filter.query.cursor
    live = not job_filter.problems and (first_page or any(not j.status.is_final for j in jobs))
    return {
        "jobs": jobs,
        "filter": job_filter,
        "here_link": job_filter.link(cursor=job_filter.query.cursor if job_filter.query else None),
        "next_link": job_filter.link(cursor=next_cursor) if next_cursor else None,
        "first_link": job_filter.link(cursor=None) if not first_page else None,
        "live": live,
        "scopes": SCOPES,
        "statuses": [s.value for s in JobStatus],
    }


@router.get("/jobs")
def jobs_page(request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """The jobs page: the filter form and the first (or the cursor's) page of jobs."""
    job_filter = parse_filter(request.query_params)
    context = _search(service, signed_in, job_filter)
    context["signed_in"] = signed_in
    status = 400 if job_filter.problems else 200
    return render(request, "jobs.html", context, status_code=status)


@router.get("/jobs/table")
def jobs_table(request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """The jobs table alone, which the page fetches again when its event stream says the
    jobs shown have changed."""
    context = _search(service, signed_in, parse_filter(request.query_params))
    context["signed_in"] = signed_in
    return render(request, "jobs_table.html", context)


def _page_state(context: dict[str, Any]) -> list[list[Any]]:
    """What the jobs table shows of each job that can change: id, status, name, tags."""
    jobs: list[JobInfo] = context["jobs"]
    return [[j.id, j.status.value, j.name, j.tags] for j in jobs]


async def _wait_any(events: list[asyncio.Event], timeout: float) -> None:
    """Wait until one of ``events`` is set, or ``timeout`` passes."""
    if not events:
        await asyncio.sleep(timeout)
        return
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@router.get("/jobs/stream")
async def jobs_stream(request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """Server-sent events for the jobs page (the filter in the query string, as ``/jobs``):
    ``changed`` (data: id, status, name and tags of each job of the page) now and whenever
    the page's search, run again at every status event of a job shown and every
    ``RECHECK_SECONDS``, finds other jobs or statuses; ``end`` when nothing on the page can
    change any more (a later page whose jobs are all final); ``signin`` when the session has
    ended (signed out, expired, its token rotated or revoked). The browser then fetches
    ``/jobs/table`` once per ``changed``, instead of polling it."""
    job_filter = parse_filter(request.query_params)
    if job_filter.problems:
        raise errors.InvalidFilterError("; ".join(job_filter.problems.values()))
    session = signed_in.session

    async def stream() -> AsyncIterator[str]:
        last: list[list[Any]] | None = None
        started = idle = service.clock.monotonic()
        watched: list[str] = []
        while True:
            with contextlib.ExitStack() as stack:
                changed = [stack.enter_context(service.events.subscribe(i)) for i in watched]
                if not await run_in_threadpool(still_signed_in, request, service, session):
                    yield _sse("signin", {})
                    return
                context = await run_in_threadpool(_search, service, signed_in, job_filter)
                state = _page_state(context)
                if state != last:
                    last = state
                    idle = service.clock.monotonic()
                    yield _sse("changed", state)
                if not context["live"]:
                    yield _sse("end", {})
                    return
                watched = [j.id for j in context["jobs"] if not j.status.is_final]
                now = service.clock.monotonic()
                if now - started > status_stream.STREAM_MAX_SECONDS:
                    return
                if now - idle > status_stream.STREAM_KEEPALIVE_SECONDS:
                    idle = now
                    yield ": keep-alive\n\n"
                if await request.is_disconnected():
                    return
                await _wait_any(changed, RECHECK_SECONDS)
                if service.events.closing:  # the server is shutting down
                    return

    return StreamingResponse(
        stream(), media_type=status_stream.EVENT_STREAM, headers=status_stream.STREAM_HEADERS
    )


def _counts(result: Any) -> list[dict[str, Any]]:
    """Each experiment's counts as bit strings (qiskit's formatting), for the histograms."""
    from qiskit.result.postprocess import format_counts

    experiments: list[dict[str, Any]] = []
    found = result.get("results") if isinstance(result, dict) else None
    for index, experiment in enumerate(found if isinstance(found, list) else []):
        if not isinstance(experiment, dict):
            continue
        data = experiment.get("data") or {}
        raw = data.get("counts")
        header = experiment.get("header") or {}
        entry: dict[str, Any] = {"index": index, "name": header.get("name") or f"circuit {index}"}
        entry["success"] = bool(experiment.get("success", True))
        entry["status"] = experiment.get("status")
        if isinstance(raw, dict):
            counts = format_counts(raw, header)
            entry["counts"] = dict(sorted(counts.items()))
        experiments.append(entry)
    return experiments


def _drawings(qpy_b64: str) -> list[dict[str, str]]:
    """Text drawings of the first circuits (idle wires left out)."""
    from qiskit import qpy

    if not qpy_b64:
        return []
    circuits = qpy.load(io.BytesIO(base64.b64decode(qpy_b64)))
    drawn = []
    for circuit in circuits[:MAX_DRAWN_CIRCUITS]:
        text = circuit.draw(output="text", idle_wires=False, fold=DRAW_FOLD)
        drawn.append({"name": circuit.name, "text": str(text)})
    return drawn


def _steps(info: JobInfo) -> list[dict[str, Any]]:
    """The status timeline with the time spent in each step."""
    steps = list(info.time_per_step.items())
    timeline = []
    for index, (name, at) in enumerate(steps):
        later: datetime | None = steps[index + 1][1] if index + 1 < len(steps) else None
        seconds = (later - at).total_seconds() if later else None
        timeline.append({"name": name, "at": at, "seconds": seconds})
    return timeline


def _detail(request: Request, service: Service, signed_in: SignedIn, job_id: str) -> dict[str, Any]:
    user = signed_in.user
    info = jobs_api.get_job(job_id, service, user)
    record = permissions.readable_job(service, user, job_id)
    queue: QueueInfo | None = None
    if info.status is JobStatus.QUEUED:
        queue = jobs_api.queue_info(job_id, service, user)
    experiments: list[dict[str, Any]] = []
    if info.status is JobStatus.DONE or (info.status is JobStatus.ERROR and record.result_key):
        answer = jobs_api.job_result(job_id, service, user, partial=True)
        experiments = _counts(json.loads(bytes(answer.body)))
    circuits: list[dict[str, str]] = []
    circuits_problem = None
    try:
        circuits = _drawings(jobs_api.job_circuits(job_id, service, user).qpy)
    except Exception as exc:  # noqa: BLE001 (a drawing failure must not hide the job)
        circuits_problem = f"The circuits could not be drawn: {type(exc).__name__}."
    properties = jobs_api.job_properties(job_id, service, user)
    qubits: list[dict[str, Any]] = []
    if properties:
        t1 = calibration.qubit_values(properties, "T1")
        t2 = calibration.qubit_values(properties, "T2")
        readout = calibration.qubit_values(properties, "readout_error")
        qubits = [
            {"index": q, "t1": t1.get(q), "t2": t2.get(q), "readout": readout.get(q)}
            for q in sorted(set(t1) | set(readout))
        ]
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return {
        "signed_in": signed_in,
        "job": info,
        "queue": queue,
        "timeline": _steps(info),
        "experiments": experiments,
        "circuits": circuits,
        "more_circuits": max(0, info.num_circuits - MAX_DRAWN_CIRCUITS),
        "circuits_problem": circuits_problem,
        "properties": properties,
        "summary": calibration.summarize(properties),
        "qubits": qubits,
        "options": json.dumps(info.options, indent=2, sort_keys=True, default=str),
        "header": json.dumps(info.header, indent=2, sort_keys=True, default=str),
        "can_change": user.viewer.can_change(record.owner_id, record.instance),
        "notice": notice,
        "problem": None,
    }


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """One job: status, timeline, queue, histograms, circuits, options, calibration."""
    return render(request, "job.html", _detail(request, service, signed_in, job_id))


@router.get("/jobs/{job_id}/detail")
def job_detail(job_id: str, request: Request, service: ServiceDep, signed_in: PageUser) -> Response:
    """The job page's body alone, fetched again at each status event."""
    return render(request, "job_detail.html", _detail(request, service, signed_in, job_id))


@router.get("/jobs/{job_id}/events")
async def job_events(
    job_id: str, request: Request, service: ServiceDep, signed_in: PageUser
) -> Response:
    """The API's status event stream of the job, for a signed-in browser; it stops (with a
    ``signin`` event) as soon as the session has ended, its token rotated or revoked."""
    response = await jobs_api.job_events(job_id, request, service, signed_in.user)
    if not isinstance(response, StreamingResponse):
        return response
    inner = response.body_iterator
    session = signed_in.session

    async def guarded() -> AsyncIterator[str | bytes | memoryview]:
        try:
            async for chunk in inner:
                if not await run_in_threadpool(still_signed_in, request, service, session):
                    yield _sse("signin", {})
                    return
                yield chunk
        finally:
            close = getattr(inner, "aclose", None)
            if close is not None:
                await close()

    response.body_iterator = guarded()
    return response


def _describe(exc: ValidationError) -> str:
    """A form field's validation errors in one sentence (``name: ...``)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'form'}: {error['msg']}"
        for error in exc.errors()
    )


def _change_refused(
    request: Request, service: Service, signed_in: SignedIn, job_id: str, message: str
) -> Response:
    context = _detail(request, service, signed_in, job_id)
    context["problem"] = message
    return render(request, "job.html", context, status_code=400)


async def _change(
    request: Request, service: Service, signed_in: SignedIn, job_id: str, field: str
) -> Response:
    form = await read_form(request)
    require_csrf(request, form, signed_in.session)
    try:
        if field == "name":
            update = JobUpdate(name=form.get("name", "").strip() or None)
        else:
            tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
            update = JobUpdate(tags=tags)
        jobs_api.update_job(job_id, update, service, signed_in.user)
    except ValidationError as exc:
        return _change_refused(request, service, signed_in, job_id, _describe(exc))
    except errors.InvalidInputError as exc:
        return _change_refused(request, service, signed_in, job_id, exc.message)
    notice = "renamed" if field == "name" else "retagged"
    return RedirectResponse(f"/jobs/{job_id}?notice={notice}", status_code=303)


@router.post("/jobs/{job_id}/rename")
async def rename_job(
    job_id: str, request: Request, service: ServiceDep, signed_in: PageUser
) -> Response:
    """Rename (``PATCH /jobs/{id}`` with a name)."""
    return await _change(request, service, signed_in, job_id, "name")


@router.post("/jobs/{job_id}/tags")
async def retag_job(
    job_id: str, request: Request, service: ServiceDep, signed_in: PageUser
) -> Response:
    """Replace the tags (``PATCH /jobs/{id}`` with tags, comma-separated in the form)."""
    return await _change(request, service, signed_in, job_id, "tags")


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(
    job_id: str, request: Request, service: ServiceDep, signed_in: PageUser
) -> Response:
    """Cancel (``POST /jobs/{id}/cancel``), then show the job with the answer."""
    form = await read_form(request)
    require_csrf(request, form, signed_in.session)
    answer = await jobs_api.cancel_job(job_id, service, signed_in.user)
    if answer.cancelled:
        key = "cancelled"
    else:
        key = "cancel_final" if answer.status.is_final else "cancel_pending"
    return RedirectResponse(f"/jobs/{job_id}?notice={key}", status_code=303)
