"""Accepting a job: validate everything first, then store payload and row, or nothing at all."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from qiskit import QuantumCircuit, qpy

from openqx.core import errors, run_options
from openqx.core.ids import new_job_id
from openqx.core.wire import JobSubmission, RuntimeJobSubmission, b64decode
from openqx.devices.validation import check_circuits
from openqx.server.service import DEFAULT_INSTANCE, Service
from openqx.store.records import JobRecord, NewJob, UserRecord

__all__ = [
    "decode_circuits",
    "resolve_instance",
    "store_job",
    "submit_circuits_job",
    "submit_runtime_job",
]

logger = logging.getLogger(__name__)


def decode_circuits(text: str, *, field: str = "qpy") -> tuple[bytes, list[QuantumCircuit]]:
    """Base64 QPY → (raw bytes, circuits); anything else is an ``InvalidInputError``."""
    try:
        data = b64decode(text)
    except ValueError:
        raise errors.InvalidInputError(f"'{field}' is not valid base64.") from None
    try:
        loaded = qpy.load(io.BytesIO(data))
    except Exception as exc:
        raise errors.InvalidInputError(f"'{field}' is not a valid QPY payload: {exc}") from exc
    circuits = [c for c in loaded if isinstance(c, QuantumCircuit)]
    if len(circuits) != len(loaded):
        raise errors.InvalidInputError(
            "Only quantum circuits can be run; pulse schedules are not supported."
        )
    if not circuits:
        raise errors.InvalidInputError("The job contains no circuits.")
    return data, circuits


def resolve_instance(user: UserRecord) -> str:
    """The instance a job is filed under: the user's first (the default one if none)."""
    return user.instances[0] if user.instances else DEFAULT_INSTANCE


def _value_error(exc: Exception) -> errors.InvalidInputError:
    return errors.InvalidInputError(str(exc))


def _check_parameter_binds(circuits: list[QuantumCircuit], binds: Any) -> int:
    """Validate parameter binds; return the number of binds (1 when none)."""
    if binds is None:
        for circuit in circuits:
            if circuit.parameters:
                names = ", ".join(sorted(p.name for p in circuit.parameters))
                raise errors.InvalidInputError(
                    f"Circuit {circuit.name!r} has unbound parameters ({names}); "
                    "pass parameter_binds or bind them before running."
                )
        return 1
    if not isinstance(binds, list) or not binds or not all(isinstance(b, dict) for b in binds):
        raise errors.InvalidInputError(
            "parameter_binds must be a non-empty list of {parameter name: value} mappings."
        )
    for bind in binds:
        for name, value in bind.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise errors.InvalidInputError(
                    f"parameter_binds value for {name!r} must be a number, not {value!r}."
                )
    for circuit in circuits:
        wanted = {p.name for p in circuit.parameters}
        for bind in binds:
            if set(bind) != wanted:
                raise errors.InvalidInputError(
                    "Mismatch between parameter_binds and the parameters of circuit "
                    f"{circuit.name!r}: binds name {sorted(bind)}, circuit has {sorted(wanted)}."
                )
    return len(binds)


def submit_circuits_job(service: Service, user: UserRecord, body: JobSubmission) -> JobRecord:
    """Validate a ``POST /jobs`` body and store the job; raises domain errors, stores nothing
    on failure."""
    device = service.catalog.get(body.backend)
    configuration = device.configuration
    try:
        run_options.validate_job_tags(body.tags)
        run_options.validate_job_name(body.name)
        if body.share_level is not None:
            run_options.validate_share_level(body.share_level)
        shots = (
            body.shots
            if body.shots is not None
            else min(run_options.DEFAULT_SHOTS, device.max_shots)
        )
        run_options.validate_shots(shots, configuration)
        warnings = run_options.validate_run_options(body.options, configuration)
    except (ValueError, TypeError) as exc:
        raise _value_error(exc) from exc
    if body.memory and not configuration.get("memory", True):
        raise errors.InvalidInputError(f"Backend {device.name!r} does not support memory=True.")
    payload, circuits = decode_circuits(body.qpy)
    binds = _check_parameter_binds(circuits, body.options.get("parameter_binds"))
    experiments = len(circuits) * binds
    if experiments > device.max_experiments:
        raise errors.InvalidInputError(
            f"The job has {experiments} experiments but backend {device.name!r} accepts at "
            f"most {device.max_experiments} (max_experiments); split it into several jobs "
            "(openqx.JobManager does this for you)."
        )
    snapshot = device.current_snapshot()
    snapshot_id = snapshot.id if snapshot is not None else None
    check_circuits(circuits, device, snapshot_id)
    options = dict(body.options)
    if warnings:
        logger.info(
            "unknown run options kept", extra={"action": "submit_job", "warnings": warnings}
        )
    job = NewJob(
        id=new_job_id(),
        kind="circuits",
        backend=device.name,
        owner_id=user.id,
        instance=resolve_instance(user),
        payload_key="",
        num_circuits=experiments,
        shots=shots,
        memory=body.memory,
        name=body.name,
        tags=list(body.tags),
        share_level=body.share_level or "none",
        experiment_id=body.experiment_id,
        header=dict(body.header),
        options=options,
        snapshot_id=snapshot_id,
        live_data_enabled=body.live_data_enabled,
        client_info=dict(body.client_info),
    )
    return store_job(service, job, payload, suffix="payload.qpy")


def submit_runtime_job(service: Service, user: UserRecord, body: RuntimeJobSubmission) -> JobRecord:
    """Validate a ``POST /runtime/jobs`` body (program, backend, name, tags, the program's
    params) and store the job like any other; raises domain errors, stores nothing on
    failure."""
    # Imported here: the circuit runner pulls in transpilation and mitigation, which only a
    # runtime submission needs.
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
        raise _value_error(exc) from exc
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
    return store_job(service, job, json.dumps(body.params).encode(), suffix="params.json")


def store_job(service: Service, job: NewJob, payload: bytes, *, suffix: str) -> JobRecord:
    """Write the payload blob, then the row (job limit checked atomically); on any failure
    remove the blob again so a rejected submission leaves nothing behind."""
    job.payload_key = f"jobs/{job.id}/{suffix}"
    service.blobs.put(job.payload_key, payload)
    try:
        limit = service.job_limit(job.backend)
        record = service.store.create_job(job, max_active=limit)
    except BaseException:
        service.blobs.delete(job.payload_key)
        raise
    logger.info(
        "job queued",
        extra={"action": "submit_job", "job_id": record.id, "backend": record.backend},
    )
    service.job_changed(record.id)
    return record
