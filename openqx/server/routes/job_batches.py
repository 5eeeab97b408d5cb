"""``/jobs/batch`` and ``/jobs/wait``: many jobs submitted in one request, and waited for in
one request (``JobManager`` sets use both; ``docs/api.md``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from openqx.core.wire import JobBatchInfo, JobBatchSubmission, JobFinals, JobWait
from openqx.server import permissions
from openqx.server.deps import CurrentUser, RequestInstance, ServiceDep
from openqx.server.events import Recorded, wait_for_event
from openqx.server.finals import final_jsons
from openqx.server.service import Service
from openqx.server.submission import prepare_circuits_jobs, store_jobs
from openqx.server.views import job_info

__all__ = ["router"]

router = APIRouter()

_VALIDATING = threading.Semaphore(1)
"""Batches are validated one at a time: validation holds the interpreter, so batches checked
together would all be stored late; one after the other, the first batch's jobs are stored
(its disk writes overlap the next one's checks), queued and started while the next is
checked."""

WAIT_GATHER_SECONDS = 0.02
"""After a wake-up, a wait for several jobs lets the others that ended in the same moment (a
micro-batch's jobs are recorded together, one notification each) land before it reads: one
answer for them, not one per job. A wait for one job answers at once."""
WAIT_POLL_SECONDS = 1.0
"""A wait re-reads its jobs this often when no in-process event wakes it (a job finished by
another server replica)."""
WAIT_RESULT_BUDGET_BYTES = 16 * 1024 * 1024
"""Most result bytes one ``POST /jobs/wait`` answer carries; the results of the jobs past it
are ``null`` (the client fetches them)."""
ENCODE_IN_LOOP_JOBS = 16
ENCODE_IN_LOOP_BYTES = 64 * 1024
"""A wait answers jobs this process has just ended (nothing to read) in the event loop, not
in a worker thread, when they are at most this many with at most this many result bytes."""


@router.post("/jobs/batch", response_model=JobBatchInfo, status_code=201)
def submit_jobs(
    body: JobBatchSubmission, service: ServiceDep, user: CurrentUser, instance: RequestInstance
) -> JobBatchInfo:
    """Validate and queue several jobs of circuits at once, each its own job, all filed
    under the request's instance: every job is checked first, then all are stored in one
    transaction. One that is not valid (its error names it: ``Job 3: ...``), or a job limit
    the batch would pass, refuses the whole batch and stores nothing."""
    with _VALIDATING:
        prepared = prepare_circuits_jobs(service, user, body.jobs, instance=instance)
    records = store_jobs(service, prepared)
    return JobBatchInfo(jobs=[job_info(record) for record in records])


@router.post("/jobs/wait", responses={200: {"model": JobFinals}})
async def wait_for_jobs(
    body: JobWait, request: Request, service: ServiceDep, user: CurrentUser
) -> Response:
    """Wait until at least one of the jobs is final (DONE, CANCELLED or ERROR), at most
    ``timeout`` seconds, then answer every one of them that is final, each as its status
    stream's ``job`` event: the record and, when small, the result. An id the caller may not
    read is a 404, as for ``GET /jobs/{id}``."""
    ids = list(dict.fromkeys(body.ids))
    await run_in_threadpool(permissions.check_readable_jobs, service, user, ids)
    deadline = service.clock.monotonic() + body.timeout
    with service.events.watch(*ids) as changes:
        asked = ids  # every job at first, and after a quiet poll; else those notified
        ended: dict[str, Recorded] = {}  # those notified as ended here: nothing to read
        finals: list[str] = []
        while not service.events.closing:  # a server shutting down ends its waits
            if asked or not _small(ended):
                finals = await run_in_threadpool(_finals, service, ids, asked, ended)
            else:  # nothing to read, little to encode: no thread hop
                finals = _finals(service, ids, asked, ended)
            now = service.clock.monotonic()
            if finals or now >= deadline or await request.is_disconnected():
                break
            woken = await wait_for_event(changes.event, min(WAIT_POLL_SECONDS, deadline - now))
            if woken and len(ids) > 1:
                await asyncio.sleep(WAIT_GATHER_SECONDS)
            notified = changes.take()
            # Jobs notified with their record need no read: those ended are answered from it.
            recorded = {j: changes.recorded.pop(j) for j in notified & changes.recorded.keys()}
            ended = {j: r for j, r in recorded.items() if r.record.status.is_final}
            asked = [j for j in ids if j in notified and j not in recorded] if notified else ids
    return Response(f'{{"jobs":[{",".join(finals)}]}}', media_type="application/json")


def _small(ended: Mapping[str, Recorded]) -> bool:
    """Whether the answer from ``ended`` alone is cheap enough to encode in the event loop."""
    return len(ended) <= ENCODE_IN_LOOP_JOBS and (
        sum(len(end.result or b"") for end in ended.values()) <= ENCODE_IN_LOOP_BYTES
    )


def _finals(
    service: Service, ids: list[str], asked: list[str], ended: Mapping[str, Recorded]
) -> list[str]:
    """The ``JobFinal`` JSON of each final job among ``asked`` (read) and ``ended`` (as the
    dispatcher recorded them), in the order of ``ids``; results inline up to
    ``WAIT_RESULT_BUDGET_BYTES`` in all."""
    records = service.store.get_jobs(asked, final_only=True) if asked else {}
    records.update((job_id, end.record) for job_id, end in ended.items())
    final = [records[job_id] for job_id in ids if job_id in records]
    results = {job_id: end.result for job_id, end in ended.items()}
    finals = final_jsons(service, final, budget=WAIT_RESULT_BUDGET_BYTES, ended=results)
    return [item[0] for item in finals if item is not None]
