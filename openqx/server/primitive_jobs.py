"""Accepting a ``sampler`` or ``estimator`` job: every PUB checked before anything is stored.

The params are ``core.primitives``'s wire format. The server decodes every PUB with Qiskit's
own containers (so shapes are checked as Qiskit checks them), checks each circuit against the
device's target (primitives take ISA circuits, as IBM's do), the shots against the device and
the project's grant, and only then stores the job (``submission.store_job``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from openqx.core import errors, primitives, run_options
from openqx.core.ids import new_job_id
from openqx.core.wire import RuntimeJobSubmission
from openqx.devices.validation import check_circuits
from openqx.server import permissions
from openqx.server.service import Service
from openqx.server.submission import resolve_instance, store_job
from openqx.store.records import JobRecord, UserRecord, new_job

__all__ = ["MAX_PRIMITIVE_CIRCUITS", "submit_primitive_job"]

MAX_PRIMITIVE_CIRCUITS = 10_000
"""Most circuits one primitive job may run (a sampler PUB runs one circuit per parameter set;
an estimator PUB one per parameter set and distinct Pauli string)."""


def submit_primitive_job(
    service: Service, user: UserRecord, body: RuntimeJobSubmission, *, instance: str | None
) -> JobRecord:
    """Validate a ``sampler``/``estimator`` runtime submission and store the job.

    Raises:
        InvalidInputError: unknown inputs or options, a PUB that does not decode or whose
            parameter values or observables do not fit its circuit (the message names the
            PUB), a non-ISA circuit, too many shots or circuits.
        PermissionDeniedError: the device is not enabled for the instance.
    """
    device = service.catalog.get(body.backend)
    instance = resolve_instance(user, instance)
    grant = permissions.device_grant(service, instance, device.name)
    try:
        run_options.validate_job_tags(body.tags)
        run_options.validate_job_name(body.name)
        if body.program_id == primitives.SAMPLER_PROGRAM:
            pubs: list[Any] = primitives.decode_sampler_pubs(body.params)
            shots = [pub.shots for pub in pubs]
            circuits = [pub.parameter_values.size for pub in pubs]
        else:
            pubs = primitives.decode_estimator_pubs(body.params)
            shots = [primitives.shots_for_precision(pub.precision) for pub in pubs]
            circuits = [pub.parameter_values.size * _pauli_count(pub) for pub in pubs]
    except (TypeError, ValueError) as exc:
        raise errors.InvalidInputError(str(exc)) from exc
    snapshot = device.current_snapshot()
    snapshot_id = snapshot.id if snapshot is not None else None
    for index, pub in enumerate(pubs):
        if shots[index] > device.max_shots or (
            grant is not None and grant.max_shots is not None and shots[index] > grant.max_shots
        ):
            limit = (
                device.max_shots
                if grant is None or grant.max_shots is None
                else min(device.max_shots, grant.max_shots)
            )
            count = _count(shots[index])
            needs = (
                f"PUB {index} needs {count} shots"
                if body.program_id == primitives.SAMPLER_PROGRAM
                else f"PUB {index}: precision {pub.precision!r} needs {count} shots"
            )
            raise errors.InvalidInputError(
                f"{needs} but at most {limit} are allowed on {device.name!r}; ask for fewer "
                "shots or a coarser precision."
            )
        try:
            check_circuits([pub.circuit], device, snapshot_id)
        except errors.InvalidCircuitError as exc:
            raise errors.InvalidCircuitError(
                f"PUB {index}: {exc.message}", backend=device.name
            ) from exc
    total = sum(circuits)
    limit = MAX_PRIMITIVE_CIRCUITS
    if grant is not None and grant.max_circuits is not None:
        limit = min(limit, grant.max_circuits)
    if total > limit:
        raise errors.InvalidInputError(
            f"The job would run {total} circuits but at most {limit} are allowed per job on "
            f"{device.name!r}; split the PUBs over several jobs."
        )
    job = new_job(
        body.model_dump(),
        id=new_job_id(),
        owner_id=user.id,
        kind="runtime",
        backend=device.name,
        num_circuits=max(total, 1),
        shots=max(shots),
        options={k: v for k, v in body.params.items() if k != "pubs"},
        snapshot_id=snapshot_id,
        instance=instance,
    )
    return store_job(service, job, json.dumps(body.params).encode())


def _count(shots: int) -> str:
    """A shot count for a message: exact up to 15 digits, else its order of magnitude."""
    digits = len(str(shots))
    return str(shots) if digits <= 15 else f"about 10**{digits - 1}"


def _pauli_count(pub: Any) -> int:
    strings = {
        pauli
        for _, observable in np.ndenumerate(pub.observables)
        for pauli in observable
        if set(pauli) != {"I"}
    }
    return max(1, len(strings))
