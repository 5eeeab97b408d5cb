"""``IBMQBackend`` and ``IBMQSimulator``: openqx backends that also answer as the seed's
``BackendV1`` did.

``backend.name()`` works as in the seed while ``backend.name`` stays the Qiskit ``BackendV2``
property (the name is a ``str`` that can be called); ``backend.provider()`` works because the
compat provider returns itself when called. ``IBMQSimulator.run`` takes the seed's
``backend_options`` and ``noise_model``.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

from qiskit.circuit import QuantumCircuit

from openqx.client.backend import OpenQXBackend
from openqx.client.job import OpenQXJob

__all__ = ["BackendName", "IBMQBackend", "IBMQSimulator"]


class BackendName(str):
    """A backend name that can also be called, as ``BackendV1.name()`` was."""

    __slots__ = ()

    def __call__(self) -> str:
        """Return the name (the seed's ``backend.name()``)."""
        return str(self)


class IBMQBackend(OpenQXBackend):
    """A device backend as the seed's scripts use it (``backend.name()``,
    ``backend.provider()``, ``qobj_header=``)."""

    _backend_name: BackendName

    @property  # type: ignore[override]
    def name(self) -> BackendName:
        """The backend name; also callable: ``backend.name()``."""
        return self._backend_name

    @name.setter
    def name(self, value: str) -> None:
        # BackendV2.__init__ assigns the name as a plain attribute.
        self._backend_name = BackendName(value)


class IBMQSimulator(IBMQBackend):
    """A simulator backend; ``run`` takes a user ``noise_model`` and ``backend_options``."""

    def run(  # type: ignore[override]
        self,
        circuits: QuantumCircuit | list[QuantumCircuit],
        job_name: str | None = None,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        experiment_id: str | None = None,
        backend_options: dict[str, Any] | None = None,
        noise_model: Any = None,
        **kwargs: Any,
    ) -> OpenQXJob:
        """Run circuits on the simulator, as the seed's ``IBMQSimulator.run``.

        Args:
            circuits: one circuit or a list of circuits.
            job_name: a name for the job.
            job_share_level: the job's share level.
            job_tags: tags for the job.
            experiment_id: the experiment the job belongs to.
            backend_options: deprecated: run options as a dict (``kwargs`` win over it).
            noise_model: a qiskit-aer ``NoiseModel`` (or its dict) to simulate with.
            **kwargs: run options, as for ``OpenQXBackend.run`` (``shots``, ``header``,
                ``qobj_header``, ``seed_simulator``, ``method``...).

        Returns:
            The submitted job.

        Raises:
            IBMQBackendValueError: an option is not valid (the server checks the noise
                model's size and qubits too).
        """
        options: dict[str, Any] = {}
        if backend_options is not None:
            warnings.warn(
                "Use of `backend_options` is deprecated and will be removed in a future "
                "release. You can now pass backend options as key-value pairs to the run() "
                "method. For example: backend.run(circs, shots=2048).",
                DeprecationWarning,
                stacklevel=2,
            )
            options = copy.deepcopy(backend_options)
        options.update(kwargs)
        if noise_model is not None:
            options["noise_model"] = noise_model
        return super().run(
            circuits,
            job_name=job_name,
            job_share_level=job_share_level,
            job_tags=job_tags,
            experiment_id=experiment_id,
            **options,
        )
