"""``/runtime/jobs``: programs run server-side (the circuit runner)."""

from __future__ import annotations

import json

from fastapi import APIRouter

from openqx.core import errors, run_options
from openqx.core.ids import new_job_id
from openqx.core.wire import JobInfo, RuntimeJobSubmission
from openqx.server.deps import CurrentUser, ServiceDep
from openqx.server.submission import resolve_instance, store_job
from openqx.server.views import job_info
from openqx.store.records import NewJob

__all__ = ["router"]

router = APIRouter()


@router.post("/runtime/jobs", response_model=JobInfo, status_code=201)
def submit_runtime_job(
    body: RuntimeJobSubmission, service: ServiceDep, user: CurrentUser
) -> JobInfo:
    """Validate and queue a program run (``circuit-runner``: transpile, run, mitigate)."""
    from openqx.execution.circuit_runner import PROGRAM_ID, validate_circuit_runner_params

    if body.program_id != PROGRAM_ID:
        raise errors.InvalidInputError(
            f"Unknown program {body.program_id!r}; available programs: {PROGRAM_ID}."
        )
    device = service.catalog.get(body.backend)
    try:
        run_options.validate_job_tags(body.tags)
        run_options.validate_job_name(body.name)
    except (TypeError, ValueError) as exc:
        raise errors.InvalidInputError(str(exc)) from exc
    summary = validate_circuit_runner_params(body.params, device)
    snapshot = device.current_snapshot()
    job = NewJob(
        id=new_job_id(),
        kind="runtime",
        backend=device.name,
        owner_id=user.id,
        instance=resolve_instance(user),
        payload_key="",
        num_circuits=summary.num_circuits,
        shots=summary.shots,
        name=body.name,
        tags=list(body.tags),
        program_id=body.program_id,
        options={k: v for k, v in body.params.items() if k != "circuits"},
        snapshot_id=snapshot.id if snapshot else None,
        client_info=dict(body.client_info),
    )
    record = store_job(service, job, json.dumps(body.params).encode(), suffix="params.json")
    return job_info(record)
