"""``RuntimeService`` (``provider.runtime``): server-side programs such as ``circuit-runner``.

``run_circuits`` sends *untranspiled* circuits (base64 QPY in ``params["circuits"]``): the
program transpiles them for the device, runs them and, when asked, mitigates measurement
errors. Unlike the seed, only ``None`` means "not given" (``shots=0`` and
``seed_transpiler=0`` are sent).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit, Qubit
from qiskit.transpiler import Layout

from openqx.client import exceptions as exc
from openqx.client.query import iter_job_infos
from openqx.client.runtime_job import RuntimeJob
from openqx.connection.session import client_info
from openqx.core import circuit_payload, circuit_runner, paging, wire
from openqx.core.status import ACTIVE_STATUSES, FINAL_STATUSES

if TYPE_CHECKING:
    from openqx.client.provider import AccountProvider

__all__ = ["CIRCUIT_RUNNER", "CIRCUIT_RUNNER_RUN_OPTIONS", "RuntimeService", "layout_to_json"]

CIRCUIT_RUNNER = circuit_runner.PROGRAM_ID
"""The program that transpiles, runs and optionally mitigates circuits on the server."""

CIRCUIT_RUNNER_RUN_OPTIONS = circuit_runner.RUN_CONFIG_OPTIONS
"""``**run_config`` keys ``run_circuits`` accepts (``openqx.core.circuit_runner``)."""


def layout_to_json(initial_layout: Any, circuits: list[QuantumCircuit]) -> list[int]:
    """Turn an initial layout into JSON: a list, virtual qubit ``i`` → physical ``list[i]``.

    A dict must give a physical qubit for each virtual qubit ``0..n-1`` (the list form is
    what the server's transpiler reads without ambiguity).

    Args:
        initial_layout: a list of physical qubits, a dict ``{virtual: physical}`` whose
            keys are indexes or ``Qubit`` objects of the circuits, or a qiskit ``Layout``.
        circuits: the circuits (to turn ``Qubit`` keys into indexes).

    Returns:
        The JSON-able layout.

    Raises:
        OpenQXInputValueError: the layout is not valid.
    """
    if isinstance(initial_layout, Layout):
        initial_layout = initial_layout.get_virtual_bits()
    if isinstance(initial_layout, list | tuple):
        physical = [_physical(value) for value in initial_layout]
        _no_duplicates(physical)
        return physical
    if not isinstance(initial_layout, dict):
        raise exc.OpenQXInputValueError(
            f"initial_layout needs to be a list, a dict or a Layout, not "
            f"{type(initial_layout).__name__}."
        )
    mapping: dict[int, int] = {}
    for key, value in initial_layout.items():
        if isinstance(key, Qubit):
            try:
                index = circuits[0].find_bit(key).index
            except Exception as error:
                raise exc.OpenQXInputValueError(
                    f"initial_layout names qubit {key!r}, which is not in the circuits."
                ) from error
        elif isinstance(key, int) and not isinstance(key, bool) and key >= 0:
            index = key
        else:
            raise exc.OpenQXInputValueError(
                f"initial_layout keys need to be virtual qubit indexes or Qubits, not {key!r}."
            )
        mapping[index] = _physical(value)
    _no_duplicates(list(mapping.values()))
    if sorted(mapping) != list(range(len(mapping))):
        raise exc.OpenQXInputValueError(
            f"initial_layout needs a physical qubit for each virtual qubit 0..{len(mapping) - 1}"
            f", got virtual qubits {sorted(mapping)}."
        )
    return [mapping[index] for index in range(len(mapping))]


def _physical(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise exc.OpenQXInputValueError(
            f"initial_layout needs physical qubit indexes (non-negative integers), not {value!r}."
        )
    return value


def _no_duplicates(physical: list[int]) -> None:
    if len(set(physical)) != len(physical):
        raise exc.OpenQXInputValueError(
            f"initial_layout maps two virtual qubits to the same physical qubit: {physical}."
        )


def _circuit_list(circuits: Any) -> list[QuantumCircuit]:
    items = circuits if isinstance(circuits, list | tuple) else [circuits]
    if not items:
        raise exc.OpenQXInputValueError("No circuits to run: the list is empty.")
    for position, item in enumerate(items):
        if not isinstance(item, QuantumCircuit):
            raise exc.OpenQXInputValueError(
                f"Circuit {position} is a {type(item).__name__}: run_circuits takes "
                f"QuantumCircuit objects only."
            )
    return list(items)


class RuntimeService:
    """Runs programs on the server (``POST /v1/runtime/jobs``).

    Args:
        provider: the account provider.
    """

    def __init__(self, provider: AccountProvider) -> None:
        self._provider = provider

    def __repr__(self) -> str:
        return f"<RuntimeService for {self._provider!r}>"

    def run(
        self,
        program_id: str,
        options: dict[str, Any],
        inputs: dict[str, Any],
        job_name: str | None = None,
        job_tags: list[str] | None = None,
    ) -> RuntimeJob:
        """Run a program.

        Args:
            program_id: the program, e.g. ``circuit-runner``.
            options: must hold ``backend_name``.
            inputs: program inputs (``circuits`` may be circuits: they are QPY-encoded).
            job_name: a job name.
            job_tags: job tags.

        Returns:
            The runtime job.

        Raises:
            OpenQXInputValueError: ``backend_name`` is missing or inputs are not valid.
        """
        backend_name = options.get("backend_name") if isinstance(options, dict) else None
        if not backend_name:
            raise exc.OpenQXInputValueError('"backend_name" is required field in "options".')
        params = dict(inputs)
        circuits = params.get("circuits")
        if circuits is not None and not isinstance(circuits, str):
            params["circuits"] = circuit_payload.encode_circuits(_circuit_list(circuits))
        submission = wire.RuntimeJobSubmission(
            program_id=program_id,
            backend=backend_name,
            params=params,
            name=job_name,
            tags=list(job_tags or []),
            client_info=client_info(),
        )
        info = self._provider.api_client.submit_runtime_job(submission)
        backend = self._provider.backend_by_name(info.backend)
        return RuntimeJob(backend, self._provider.api_client, info, params=params)

    def run_circuits(
        self,
        circuits: QuantumCircuit | list[QuantumCircuit],
        backend_name: str,
        shots: int | None = None,
        initial_layout: Any = None,
        layout_method: str | None = None,
        routing_method: str | None = None,
        translation_method: str | None = None,
        seed_transpiler: int | None = None,
        optimization_level: int = 1,
        init_qubits: bool = True,
        rep_delay: float | None = None,
        transpiler_options: dict[str, Any] | None = None,
        measurement_error_mitigation: bool = False,
        use_measure_esp: bool | None = None,
        **run_config: Any,
    ) -> RuntimeJob:
        """Transpile and run circuits on the server with the ``circuit-runner`` program.

        Args:
            circuits: one circuit or a list of circuits, not transpiled.
            backend_name: the backend.
            shots: repetitions per circuit (``None``: the backend default).
            initial_layout: a list, a dict ``{virtual qubit: physical qubit}`` or a
                ``Layout``.
            layout_method: ``trivial``, ``dense``, ``sabre``...
            routing_method: ``basic``, ``lookahead``, ``stochastic``, ``sabre``...
            translation_method: ``translator``, ``synthesis``...
            seed_transpiler: seed of the stochastic transpiler passes (0 is a seed).
            optimization_level: 0 to 3.
            init_qubits: reset qubits before each shot.
            rep_delay: delay between programs, in seconds.
            transpiler_options: more transpiler options.
            measurement_error_mitigation: mitigate readout errors (quasi-probabilities in
                the result).
            use_measure_esp: ESP readout for terminal measurements.
            **run_config: more run options (``memory``, ``seed_simulator``...).

        Returns:
            The runtime job; its ``result()`` is a ``RunnerResult``.

        Raises:
            OpenQXInputValueError: an argument is not valid.
        """
        circuit_list = _circuit_list(circuits)
        unknown = sorted(set(run_config) - CIRCUIT_RUNNER_RUN_OPTIONS)
        if unknown:
            raise exc.OpenQXInputValueError(
                f"Unknown run option(s) {', '.join(unknown)} for run_circuits; known options: "
                f"{', '.join(sorted(CIRCUIT_RUNNER_RUN_OPTIONS))}."
            )
        try:
            circuit_runner.check_optimization_level(optimization_level)
        except ValueError as error:
            raise exc.OpenQXInputValueError(str(error)) from error
        if transpiler_options is not None and not isinstance(transpiler_options, dict):
            raise exc.OpenQXInputValueError("transpiler_options needs to be a dict.")
        inputs: dict[str, Any] = copy.deepcopy(run_config)
        inputs.update(
            circuits=circuit_list,
            optimization_level=optimization_level,
            init_qubits=init_qubits,
            measurement_error_mitigation=measurement_error_mitigation,
        )
        optional = {
            "shots": shots,
            "initial_layout": (
                layout_to_json(initial_layout, circuit_list) if initial_layout is not None else None
            ),
            "layout_method": layout_method,
            "routing_method": routing_method,
            "translation_method": translation_method,
            "seed_transpiler": seed_transpiler,
            "rep_delay": rep_delay,
            "transpiler_options": transpiler_options,
            "use_measure_esp": use_measure_esp,
        }
        inputs.update({key: value for key, value in optional.items() if value is not None})
        return self.run(CIRCUIT_RUNNER, options={"backend_name": backend_name}, inputs=inputs)

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        pending: bool | None = None,
        program_id: str | None = None,
        backend_name: str | None = None,
    ) -> list[RuntimeJob]:
        """Return runtime jobs, newest first.

        Args:
            limit: the most jobs to return (``None``: all).
            skip: jobs to skip.
            pending: only unfinished jobs (``True``) or only final ones (``False``).
            program_id: only jobs of this program.
            backend_name: only jobs on this backend.

        Returns:
            The jobs.
        """
        statuses = None
        if pending is not None:
            chosen = ACTIVE_STATUSES if pending else FINAL_STATUSES
            statuses = sorted(chosen, key=lambda status: status.name)
        api = self._provider.api_client
        query = wire.JobQuery(
            limit=paging.page_size(limit),
            skip=skip,
            kind="runtime",
            status=statuses,
            backend=backend_name,
            program_id=program_id,
        )
        return [
            _runtime_job(self._provider.backend_by_name(info.backend), api, info)
            for info in iter_job_infos(api, query, limit)
        ]

    def job(self, job_id: str) -> RuntimeJob:
        """Return one runtime job.

        Raises:
            RuntimeJobNotFound: no runtime job has this id.
        """
        api = self._provider.api_client
        info = api.job(job_id, context="runtime")
        if info.kind != "runtime":
            raise exc.RuntimeJobNotFound(f"Job {job_id} is not a runtime job.", job_id=job_id)
        return _runtime_job(self._provider.backend_by_name(info.backend), api, info)


def _runtime_job(backend: Any, api: Any, info: wire.JobInfo) -> RuntimeJob:
    """A ``PrimitiveJob`` for ``sampler``/``estimator`` jobs, else a ``RuntimeJob``."""
    from openqx.client.primitives import PrimitiveJob
    from openqx.core.primitives import PRIMITIVE_PROGRAMS

    if info.program_id in PRIMITIVE_PROGRAMS:
        return PrimitiveJob(backend, api, info)
    return RuntimeJob(backend, api, info)
