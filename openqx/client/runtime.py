"""``RuntimeService`` (``provider.runtime``): server-side programs such as ``circuit-runner``."""

from __future__ import annotations

import copy
import io
from typing import TYPE_CHECKING, Any

from qiskit import qpy
from qiskit.circuit import QuantumCircuit

from openqx.client import exceptions as exc
from openqx.client.http import client_info
from openqx.client.job import OpenQXJob
from openqx.core import wire

if TYPE_CHECKING:
    from openqx.client.provider import AccountProvider

__all__ = ["CIRCUIT_RUNNER", "RuntimeService"]

CIRCUIT_RUNNER = "circuit-runner"
"""The program that transpiles, runs and optionally mitigates circuits on the server."""


class RuntimeService:
    """Runs programs on the server (``POST /runtime/jobs``).

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
    ) -> OpenQXJob:
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
            items = circuits if isinstance(circuits, list) else [circuits]
            if not all(isinstance(item, QuantumCircuit) for item in items):
                raise exc.OpenQXInputValueError("circuits needs to be circuits.")
            buffer = io.BytesIO()
            qpy.dump(items, buffer)
            params["circuits"] = wire.b64encode(buffer.getvalue())
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
        return OpenQXJob(backend, self._provider.api_client, info)

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
    ) -> OpenQXJob:
        """Transpile and run circuits on the server with the ``circuit-runner`` program.

        Unlike the seed, zero values (``shots=0``, ``seed_transpiler=0``) are kept: only
        ``None`` means "not given".

        Returns:
            The runtime job; its ``result()`` is a qiskit ``Result``.
        """
        inputs: dict[str, Any] = copy.deepcopy(run_config)
        inputs.update(
            circuits=circuits,
            optimization_level=optimization_level,
            init_qubits=init_qubits,
            measurement_error_mitigation=measurement_error_mitigation,
        )
        optional = {
            "shots": shots,
            "initial_layout": initial_layout,
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
