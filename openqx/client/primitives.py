"""``SamplerV2`` and ``EstimatorV2``: Qiskit's V2 primitives, run on the openqx server.

Used as qiskit-ibm-runtime's::

    from openqx import EstimatorV2, SamplerV2

    sampler = SamplerV2(mode=backend)
    job = sampler.run([(isa_circuit, parameter_values)], shots=1000)
    job.result()[0].data.meas.get_counts()

    estimator = EstimatorV2(mode=backend, options={"resilience_level": 1})
    job = estimator.run([(isa_circuit, observables, parameter_values)], precision=0.01)
    job.result()[0].data.evs

Each ``run`` is one openqx runtime job (program ``sampler`` or ``estimator``) with the usual
id, status, tags, listing, retrieval and cancel; its ``result()`` is a ``PrimitiveResult``
built from ``qiskit.primitives`` containers. Circuits must be ISA circuits of the backend
(transpile them first, as for IBM's primitives). What is supported: ``docs/primitives.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from qiskit.primitives import BasePrimitiveJob, PrimitiveResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import JobStatus as QiskitJobStatus

from openqx.client import exceptions as exc
from openqx.client.primitive_options import PrimitiveOptions
from openqx.client.runtime_job import RuntimeJob
from openqx.connection.session import client_info
from openqx.core import primitives as codec
from openqx.core import wire
from openqx.core.status import JobStatus

if TYPE_CHECKING:
    from openqx.client.backend import OpenQXBackend
    from openqx.client.http import ApiClient

__all__ = ["EstimatorV2", "PrimitiveJob", "SamplerV2"]


class PrimitiveJob(
    RuntimeJob,
    BasePrimitiveJob[PrimitiveResult[Any], QiskitJobStatus],  # type: ignore[misc]
):
    """A ``sampler`` or ``estimator`` job; ``result()`` is a Qiskit ``PrimitiveResult``.

    A ``qiskit.primitives.BasePrimitiveJob``: ``job_id()``, ``status()`` (qiskit's
    ``JobStatus``, as qiskit's own ``PrimitiveJob``; ``status().name`` is the string
    qiskit-ibm-runtime's ``RuntimeJobV2.status()`` returns), ``done()``, ``running()``,
    ``cancelled()``, ``errored()``, ``in_final_state()``, ``cancel()`` and ``result()``.
    """

    def __init__(
        self,
        backend: OpenQXBackend | None,
        api_client: ApiClient,
        info: wire.JobInfo,
        params: dict[str, Any] | None = None,
    ) -> None:
        RuntimeJob.__init__(self, backend, api_client, info, params=params)
        BasePrimitiveJob.__init__(self, info.id)

    def result(  # type: ignore[override]
        self, timeout: float | None = None, wait: float = 5
    ) -> PrimitiveResult[Any]:
        """Wait for the job and return its ``PrimitiveResult``.

        Raises:
            RuntimeJobFailureError: the job failed.
            RuntimeInvalidStateError: the job was cancelled.
            OpenQXJobTimeoutError: the job did not finish in time.
        """
        data = self._final_result_data(timeout, wait)
        try:
            return codec.decode_result(data)
        except (KeyError, TypeError, ValueError) as error:
            raise exc.OpenQXRuntimeError(
                f"Unable to decode the result of job {self.job_id()}: {error}",
                job_id=self.job_id(),
            ) from error

    @property
    def tags(self) -> list[str]:
        """The job's tags."""
        return list(self._job.info.tags)

    def usage(self) -> float | None:
        """Seconds the job is charged, ``None`` until it ends: on an emulated device what its
        circuits would take on the hardware, on an ideal simulator host seconds
        (``docs/scheduling.md``), as ``job.usage()`` of a ``backend.run`` job."""
        return self._job.usage()

    def metrics(self) -> dict[str, Any]:
        """Times and usage, shaped like qiskit-ibm-runtime's ``metrics()``: ``timestamps``
        (ISO times of ``created``, ``running``, ``finished``), ``usage`` (``seconds``,
        ``quantum_seconds``), ``num_circuits`` and ``executions``."""
        self._job.refresh()
        info = self._job.info
        steps = self._job.time_per_step() or {}
        running = [w for s, w in steps.items() if s.startswith("RUNNING")]
        finished = [steps[s.value] for s in JobStatus if s.is_final and s.value in steps]
        seconds = info.usage_seconds
        return {
            "timestamps": {
                "created": self.creation_date().isoformat(),
                "running": max(running).isoformat() if running else None,
                "finished": max(finished).isoformat() if finished else None,
            },
            "usage": {"seconds": seconds, "quantum_seconds": seconds},
            "num_circuits": info.num_circuits,
            "executions": info.num_circuits * (info.shots or 0),
            "status": info.status.value,
        }


class _Primitive:
    """What SamplerV2 and EstimatorV2 share: the backend, options and job submission."""

    _program: str
    _known: frozenset[str]
    """The option names the server accepts for ``_program``."""

    def __init__(
        self,
        mode: OpenQXBackend | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        backend: OpenQXBackend | None = None,
    ) -> None:
        target = mode if mode is not None else backend
        if target is None or not hasattr(target, "_api"):
            raise exc.OpenQXInputValueError(
                f"{type(self).__name__} needs an openqx backend: {type(self).__name__}"
                "(mode=provider.get_backend(name))."
            )
        self._backend = target
        self._options = PrimitiveOptions(self._program, self._known, options)

    @property
    def backend(self) -> OpenQXBackend:
        """The backend the primitive runs on."""
        return self._backend

    @property
    def options(self) -> PrimitiveOptions:
        """The options sent with every job, set by attribute (``options.default_shots = 77``)
        or by key (``options["default_shots"] = 77``); a name the program does not know
        (``SAMPLER_OPTIONS`` / ``ESTIMATOR_OPTIONS`` in ``openqx.core.primitives``) is an
        ``OpenQXInputValueError``."""
        return self._options

    def _submit(
        self, pubs: list[dict[str, Any]], default: dict[str, Any], tags: list[str] | None
    ) -> PrimitiveJob:
        params = {"pubs": pubs, **{k: v for k, v in default.items() if v is not None}}
        if self._options:
            params["options"] = self._options.to_dict()
        submission = wire.RuntimeJobSubmission(
            program_id=self._program,
            backend=self._backend.name,
            params=params,
            tags=list(tags or []),
            client_info=client_info(),
        )
        api = self._backend._api
        info = api.submit_runtime_job(submission)
        return PrimitiveJob(self._backend, api, info, params=params)


class SamplerV2(_Primitive):
    """Qiskit's ``SamplerV2`` on an openqx backend, run by the server.

    Args:
        mode: the backend (as qiskit-ibm-runtime's ``mode=backend``).
        options: ``default_shots``, ``seed_simulator``.
        backend: the backend, for code that names it so.
    """

    _program = codec.SAMPLER_PROGRAM
    _known = codec.SAMPLER_OPTIONS

    def run(
        self, pubs: Iterable[Any], *, shots: int | None = None, tags: list[str] | None = None
    ) -> PrimitiveJob:
        """Sample ``pubs`` (``circuit`` or ``(circuit, parameter_values[, shots])``).

        Raises:
            OpenQXInputValueError: a PUB is not valid (also refused by the server with a
                message naming the PUB).
        """
        encoded = []
        for index, pub in enumerate(pubs):
            try:
                encoded.append(codec.encode_sampler_pub(SamplerPub.coerce(pub, shots)))
            except (TypeError, ValueError) as error:
                raise exc.OpenQXInputValueError(f"PUB {index}: {error}") from error
        return self._submit(encoded, {"shots": shots}, tags)


class EstimatorV2(_Primitive):
    """Qiskit's ``EstimatorV2`` on an openqx backend, run by the server.

    Args:
        mode: the backend.
        options: ``resilience_level`` (0 or 1, default 1: readout mitigation),
            ``default_precision``, ``seed_simulator``.
        backend: the backend, for code that names it so.
    """

    _program = codec.ESTIMATOR_PROGRAM
    _known = codec.ESTIMATOR_OPTIONS

    def run(
        self,
        pubs: Iterable[Any],
        *,
        precision: float | None = None,
        tags: list[str] | None = None,
    ) -> PrimitiveJob:
        """Estimate ``pubs`` (``(circuit, observables[, parameter_values[, precision]])``).

        Raises:
            OpenQXInputValueError: a PUB is not valid (observables on the wrong number of
                qubits, shapes that do not broadcast); the message names the PUB.
        """
        encoded = []
        for index, pub in enumerate(pubs):
            try:
                encoded.append(codec.encode_estimator_pub(EstimatorPub.coerce(pub, precision)))
            except (TypeError, ValueError) as error:
                raise exc.OpenQXInputValueError(f"PUB {index}: {error}") from error
        return self._submit(encoded, {"precision": precision}, tags)
