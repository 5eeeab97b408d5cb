"""``/runtime/jobs``: programs run server-side (the circuit runner)."""

from __future__ import annotations

from fastapi import APIRouter

from openqx.core.wire import JobInfo, RuntimeJobSubmission
from openqx.server import submission
from openqx.server.deps import CurrentUser, RequestInstance, ServiceDep
from openqx.server.views import job_info

__all__ = ["router"]

router = APIRouter()


@router.post("/runtime/jobs", response_model=JobInfo, status_code=201)
def submit_runtime_job(
    body: RuntimeJobSubmission, service: ServiceDep, user: CurrentUser, instance: RequestInstance
) -> JobInfo:
    """Validate and queue a program run (``circuit-runner``: transpile, run, mitigate)."""
    return job_info(submission.submit_runtime_job(service, user, body, instance=instance))
