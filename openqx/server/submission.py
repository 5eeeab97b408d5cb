"""Accepting a job: validate everything first, then store payload and row, or nothing at all."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel
from qiskit import QuantumCircuit

from openqx.core import circuit_payload, circuit_runner, errors, run_options
from openqx.core.ids import new_job_id
from openqx.core.parameter_binds import check_parameter_binds
from openqx.core.qpy_header import QpyLimits
from openqx.core.wire import JobSubmission, RuntimeJobSubmission
from openqx.devices import user_noise
from openqx.devices.device import Device
from openqx.devices.validation import check_circuits
from openqx.server import permissions
from openqx.server.qpy_decoder import GuardedDecoder
from openqx.server.service import Service
from openqx.store import blobs
from openqx.store.records import JobRecord, NewJob, UserRecord, new_job
from openqx.store.tenancy_store import DeviceGrant

__all__ = [
    "PreparedJob",
    "decode_circuits",
    "device_qpy_limits",
    "resolve_instance",
    "prepare_circuits_job",
    "prepare_circuits_jobs",
    "store_job",
    "store_jobs",
    "submit_circuits_job",
    "submit_runtime_job",
]

logger = logging.getLogger(__name__)


def decode_circuits(
    text: str,
    *,
    field: str = "qpy",
    device: Device | None = None,
    decoder: GuardedDecoder | None = None,
) -> tuple[bytes, list[QuantumCircuit]]:
    """Base64 QPY → (raw bytes, circuits) (``core.circuit_payload``); anything else is an
    ``InvalidInputError``. The QPY headers are checked first against the limits of
    ``core.qpy_header`` and, where given, ``device``'s ``max_experiments``; ``decoder`` (the
    service's) decodes large payloads outside the API process."""
    try:
        data = circuit_payload.decode_base64(text, source=f"'{field}'")
        limits = device_qpy_limits(device)
        if decoder is not None:
            return data, decoder.load(data, source=f"'{field}'", limits=limits)
        return data, circuit_payload.load_circuits(data, source=f"'{field}'", limits=limits)
    except ValueError as exc:
        raise _value_error(exc) from exc


def device_qpy_limits(device: Device | None) -> QpyLimits:
    """The QPY header limits for circuits sent to ``device``: the module's, the number of
    circuits lowered to the device's ``max_experiments``. Qubits stay at the module's bound
    (which keeps decoding small): a circuit over the device's ``num_qubits`` is refused after
    decoding by ``devices.validation`` as an ``invalid_circuit`` naming the circuit."""
    limits = QpyLimits()
    if device is None:
        return limits
    return replace(
        limits, max_circuits=min(limits.max_circuits, device.max_experiments), backend=device.name
    )


def resolve_instance(user: UserRecord, requested: str | None = None) -> str:
    """The instance a job is filed under: ``requested`` (checked against the user's
    memberships by ``permissions.request_instance``), else the user's default."""
    return permissions.request_instance(user, requested)


def _value_error(exc: Exception) -> errors.InvalidInputError:
    return errors.InvalidInputError(str(exc))


@dataclass(frozen=True, slots=True)
class PreparedJob:
    """A validated submission, ready to store: the job row, its payload and its device grant
    (``permissions.device_grant``'s answer)."""

    job: NewJob
    payload: bytes
    grant: DeviceGrant | None


@dataclass(slots=True)
class BatchReads:
    """What the jobs of one batch read once: device grants by (instance, device) and the
    id of the calibration snapshot in force by device."""

    grants: dict[tuple[str, str], DeviceGrant | None] = field(default_factory=dict)
    snapshots: dict[str, str | None] = field(default_factory=dict)


def submit_circuits_job(
    service: Service,
    user: UserRecord,
    body: JobSubmission,
    *,
    instance: str | None = None,
    job_id: str | None = None,
) -> JobRecord:
    """Validate a ``POST /jobs`` body and store the job, filed under ``instance`` (the
    request's; default: the user's default), with id ``job_id`` when the caller made one
    (``ids.new_job_id``: to watch the job before it exists); raises domain errors, stores
    nothing on failure."""
    prepared = prepare_circuits_job(service, user, body, instance=instance, job_id=job_id)
    return store_job(service, prepared.job, prepared.payload, grant=prepared.grant)


def prepare_circuits_jobs(
    service: Service,
    user: UserRecord,
    bodies: Sequence[JobSubmission],
    *,
    instance: str | None = None,
) -> list[PreparedJob]:
    """Validate every body of a batch (``prepare_circuits_job``); an error names the first
    job that is not valid (``Job 3: ...``)."""
    prepared = []
    reads = BatchReads()
    for index, body in enumerate(bodies):
        try:
            prepared.append(
                prepare_circuits_job(service, user, body, instance=instance, reads=reads)
            )
        except errors.ServiceError as exc:
            raise _in_batch(exc, index) from exc
    return prepared


def _in_batch(error: errors.ServiceError, index: int) -> errors.ServiceError:
    """The same error, its message naming job ``index`` of a batch."""
    named = copy.copy(error)
    named.message = f"Job {index}: {error.message}"
    named.args = (named.message,)
    return named


def prepare_circuits_job(
    service: Service,
    user: UserRecord,
    body: JobSubmission,
    *,
    instance: str | None = None,
    reads: BatchReads | None = None,
    job_id: str | None = None,
) -> PreparedJob:
    """Validate a job submission (everything but the job limit, checked as it is stored)
    and build its row and payload; raises domain errors. ``reads``: what the jobs of one
    batch read once; ``job_id``: the new job's id (default: a new one)."""
    device = service.catalog.get(body.backend)
    instance = resolve_instance(user, instance)
    reads = reads or BatchReads()
    if (instance, device.name) not in reads.grants:
        grant = permissions.device_grant(service, instance, device.name)
        reads.grants[instance, device.name] = grant
    grant = reads.grants[instance, device.name]
    configuration = device.configuration
    _check_name_and_tags(body.name, body.tags)
    try:
        if body.share_level is not None:
            run_options.validate_share_level(body.share_level)
        shots = (
            body.shots
            if body.shots is not None
            else min(run_options.DEFAULT_SHOTS, device.max_shots)
        )
        run_options.validate_shots(shots, configuration)
        _check_grant_shots(grant, shots)
        warnings = run_options.validate_run_options(body.options, configuration)
        if body.options.get("noise_model") is not None:
            user_noise.check_noise_model(body.options["noise_model"], device.num_qubits)
    except (ValueError, TypeError) as exc:
        raise _value_error(exc) from exc
    # Recorded for every backend, simulators included, as the seed recorded it.
    options = {
        **body.options,
        "use_measure_esp": run_options.use_measure_esp_default(body.options, configuration),
    }
    if body.memory and not configuration.get("memory", True):
        raise errors.InvalidInputError(f"Backend {device.name!r} does not support memory=True.")
    payload, circuits = _submitted_circuits(body, device, service.decoder)
    try:
        run_options.validate_memory_slots(
            body.options.get("memory_slots"), [(c.name, c.num_clbits) for c in circuits]
        )
        binds = check_parameter_binds(circuits, body.options.get("parameter_binds"))
    except ValueError as exc:
        raise _value_error(exc) from exc
    experiments = len(circuits) * binds
    _check_experiments(experiments, device)
    _check_grant_circuits(grant, experiments)
    if device.name not in reads.snapshots:
        reads.snapshots[device.name] = device.current_snapshot_id()
    snapshot_id = reads.snapshots[device.name]
    check_circuits(circuits, device, snapshot_id)
    if warnings:
        logger.info(
            "unknown run options kept", extra={"action": "submit_job", "warnings": warnings}
        )
    job = new_job(
        body.model_dump(),
        id=job_id or new_job_id(),
        owner_id=user.id,
        kind="circuits",
        backend=device.name,
        num_circuits=experiments,
        shots=shots,
        share_level=body.share_level or "none",
        snapshot_id=snapshot_id,
        options=options,
        instance=instance,
    )
    return PreparedJob(job, payload, grant)


def _submitted_circuits(
    body: JobSubmission, device: Device, decoder: GuardedDecoder
) -> tuple[bytes, list[QuantumCircuit]]:
    """The job's circuits and their QPY payload, from exactly one of ``qpy``, ``qasm3`` and
    ``qasm2`` (OpenQASM source is parsed here and stored as QPY)."""
    given = [name for name in ("qpy", "qasm3", "qasm2") if getattr(body, name) is not None]
    if len(given) != 1:
        raise errors.InvalidInputError(
            "Give the circuits as exactly one of 'qpy', 'qasm3' and 'qasm2'"
            + (f", not {' and '.join(given)}." if given else ".")
        )
    if body.qpy is not None:
        return decode_circuits(body.qpy, device=device, decoder=decoder)
    sources = body.qasm3 if body.qasm3 is not None else body.qasm2
    assert sources is not None
    if not sources:
        raise errors.InvalidInputError(f"'{given[0]}' holds no circuits.")
    try:
        circuits = decoder.parse_qasm(sources, 3 if body.qasm3 is not None else 2)
    except ValueError as exc:
        raise _value_error(exc) from exc
    return circuit_payload.dump_circuits(circuits), circuits


def _check_grant_shots(grant: DeviceGrant | None, shots: int) -> None:
    """Refuse more shots than the project's grant of the device allows (ValueError)."""
    if grant is not None and grant.max_shots is not None and shots > grant.max_shots:
        raise ValueError(
            f"{shots} shots exceed the maximum of {grant.max_shots} for {grant.backend!r} "
            f"in instance {grant.instance!r}."
        )


def _check_grant_circuits(grant: DeviceGrant | None, experiments: int) -> None:
    """Refuse more circuits than the project's grant of the device allows."""
    if grant is not None and grant.max_circuits is not None and experiments > grant.max_circuits:
        raise errors.InvalidInputError(
            f"The job has {experiments} circuits but instance {grant.instance!r} may run at "
            f"most {grant.max_circuits} per job on {grant.backend!r}."
        )


def _check_experiments(experiments: int, device: Device) -> None:
    """Refuse a job of more experiments than the device's ``max_experiments``."""
    if experiments > device.max_experiments:
        raise errors.InvalidInputError(
            f"The job has {experiments} experiments but backend {device.name!r} accepts at "
            f"most {device.max_experiments} (max_experiments); split it into several jobs "
            "(openqx.JobManager does this for you)."
        )


def submit_runtime_job(
    service: Service,
    user: UserRecord,
    body: RuntimeJobSubmission,
    *,
    instance: str | None = None,
) -> JobRecord:
    """Validate a ``POST /runtime/jobs`` body (program, backend, name, tags, the program's
    params) and store the job like any other; raises domain errors, stores nothing on
    failure."""
    # Imported here: the circuit runner pulls in transpilation and mitigation, which only a
    # runtime submission needs.
    from openqx.core.primitives import PRIMITIVE_PROGRAMS
    from openqx.execution.circuit_runner import PROGRAM_ID, validate_circuit_runner_params

    if body.program_id in PRIMITIVE_PROGRAMS:
        from openqx.server.primitive_jobs import submit_primitive_job

        return submit_primitive_job(service, user, body, instance=instance)
    if body.program_id != PROGRAM_ID:
        raise errors.InvalidInputError(
            f"Unknown program {body.program_id!r}; available programs: {PROGRAM_ID}, "
            f"{', '.join(sorted(PRIMITIVE_PROGRAMS))}."
        )
    device = service.catalog.get(body.backend)
    instance = resolve_instance(user, instance)
    grant = permissions.device_grant(service, instance, device.name)
    _check_name_and_tags(body.name, body.tags)
    summary = validate_circuit_runner_params(body.params, device)
    try:
        _check_grant_shots(grant, summary.shots)
    except ValueError as exc:
        raise _value_error(exc) from exc
    try:
        circuit_runner.check_program_options(body.params, device.num_qubits)
    except ValueError as exc:
        raise _value_error(exc) from exc
    experiments = circuit_runner.experiment_count(summary.num_circuits, body.params)
    _check_experiments(experiments, device)
    _check_grant_circuits(grant, experiments)
    snapshot = device.current_snapshot()
    return _store_new_job(
        service,
        user,
        body,
        json.dumps(body.params).encode(),
        kind="runtime",
        backend=device.name,
        num_circuits=summary.num_circuits,
        shots=summary.shots,
        options={k: v for k, v in body.params.items() if k != "circuits"},
        snapshot_id=snapshot.id if snapshot else None,
        instance=instance,
        grant=grant,
    )


def _check_name_and_tags(name: str | None, tags: list[str]) -> None:
    """The job name and tags rules (``core.run_options``), as ``InvalidInputError``."""
    try:
        run_options.validate_job_tags(tags)
        run_options.validate_job_name(name)
    except (TypeError, ValueError) as exc:
        raise _value_error(exc) from exc


def _store_new_job(
    service: Service,
    user: UserRecord,
    body: BaseModel,
    payload: bytes,
    *,
    grant: DeviceGrant | None,
    **fields: Any,
) -> JobRecord:
    """Store a validated submission: the body's fields that are job fields, the validated
    ``fields``, a new id and the owner's instance (``grant``: its device grant, as
    ``permissions.device_grant`` gave it)."""
    job = new_job(
        body.model_dump(),
        id=new_job_id(),
        owner_id=user.id,
        **fields,
    )
    return store_job(service, job, payload, grant=grant)


def store_job(
    service: Service,
    job: NewJob,
    payload: bytes,
    *,
    grant: DeviceGrant | None | Literal["look up"] = "look up",
) -> JobRecord:
    """Write the payload blob and the row (the job limit checked atomically) in one store
    transaction; on any failure remove the blob again (one kept outside the database) so a
    rejected submission leaves nothing behind. ``grant``: the job's device grant where the
    caller has read it (``permissions.device_grant``), else it is looked up here.

    An idle dispatcher starts the job while it is stored (``scheduler.early_start``); a job
    its user may not queue at all (a job limit of 0) is never started early."""
    payload_key = blobs.job_payload_key(job.id, job.kind)
    early = None
    try:
        with service.store.unit_of_work():  # the limit's reads join it: one transaction
            if grant == "look up":
                limit = permissions.job_limit_for(service, job.instance, job.backend)
            else:
                limit = permissions.grant_job_limit(service, grant, job.backend)
            if limit != 0:
                early = service.dispatcher.start_early(job, payload)
            service.blobs.put(payload_key, payload)
            record = service.store.create_job(job, max_active=limit)
    except BaseException:
        try:
            service.blobs.delete(payload_key)
        finally:
            if early is not None:
                service.dispatcher.drop_early(early)
        raise
    logger.info(
        "job queued",
        extra={"action": "submit_job", "job_id": record.id, "backend": record.backend},
    )
    service.jobs_created([record], {payload_key: payload}, early=early)
    return record


def store_jobs(service: Service, prepared: Sequence[PreparedJob]) -> list[JobRecord]:
    """Write every payload blob and every row in one store transaction (the job limits
    checked counting the new jobs); on any failure remove the blobs again, so nothing is
    left."""
    keys = [blobs.job_payload_key(item.job.id, item.job.kind) for item in prepared]
    payloads = dict(zip(keys, [item.payload for item in prepared], strict=True))
    try:
        with service.store.unit_of_work():  # the limits' reads join it: one transaction
            limits: dict[str, int | None] = {}
            for item in prepared:
                if item.job.backend not in limits:
                    limits[item.job.backend] = permissions.grant_job_limit(
                        service, item.grant, item.job.backend
                    )
            service.blobs.put_many(list(payloads.items()))
            records = service.store.create_jobs([p.job for p in prepared], max_active=limits)
    except BaseException:
        service.blobs.delete_many(keys)
        raise
    logger.info(
        "jobs queued",
        extra={"action": "submit_jobs", "job_ids": [r.id for r in records]},
    )
    service.jobs_created(records, payloads)
    return records
