"""``ManagedResults``: the results of a job set, addressed by global experiment position."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, TypeAlias

from qiskit.circuit import QuantumCircuit
from qiskit.result import Result

from openqx.client import exceptions as exc

if TYPE_CHECKING:
    from openqx.client.managed.job_set import ManagedJobSet

__all__ = ["ManagedResults"]

Experiment: TypeAlias = "int | str | QuantumCircuit"
"""An experiment: a global index, a name or a circuit."""


class ManagedResults:
    """Results of a ``ManagedJobSet``, with the lookups of qiskit's ``Result``.

    ``experiment`` is a global index across the set, an experiment name or a circuit.

    Args:
        job_set: the set.
        backend_name: the backend the jobs ran on.
        success: whether every job succeeded.
        job_results: each job's result, ``None`` where there is none.

    Attributes:
        backend_name: the backend the jobs ran on.
        success: whether every job succeeded.
    """

    def __init__(
        self,
        job_set: ManagedJobSet,
        backend_name: str,
        success: bool,
        job_results: list[Result | None],
    ) -> None:
        self._job_set = job_set
        self.backend_name = backend_name
        self.success = success
        self._job_results = job_results
        self._combined: Result | None = None

    def __repr__(self) -> str:
        return (
            f"<ManagedResults of {self._job_set.name()!r} on {self.backend_name} "
            f"success={self.success}>"
        )

    def _lookup(self, experiment: Experiment) -> tuple[Result, int]:
        managed, index = self._job_set.locate(experiment)
        if managed.job is None:
            raise exc.OpenQXManagedResultDataNotAvailable(
                f"Job for experiment {experiment!r} was not successfully submitted: "
                f"{managed.submit_error}"
            )
        result = self._job_results[managed.index]
        if result is None:
            raise exc.OpenQXManagedResultDataNotAvailable(
                f"Result data for experiment {experiment!r} is not available: job "
                f"{managed.job.job_id()} did not complete successfully."
            )
        return result, index

    def _call(self, method: str, experiment: Experiment, **kwargs: Any) -> Any:
        result, index = self._lookup(experiment)
        if index >= len(result.results) or not result.results[index].success:
            # A partial result of a failed job: this experiment did not run.
            raise exc.OpenQXManagedResultDataNotAvailable(
                f"Result data for experiment {experiment!r} is not available: the experiment "
                f"did not run successfully."
            )
        return getattr(result, method)(index, **kwargs)

    def data(self, experiment: Experiment) -> dict[str, Any]:
        """Return the raw data of an experiment.

        Args:
            experiment: a global index, an experiment name or a circuit.

        Raises:
            OpenQXJobManagerJobNotFound: no such experiment.
            OpenQXManagedResultDataNotAvailable: its job failed or was not submitted.
        """
        return self._call("data", experiment)  # type: ignore[no-any-return]

    def get_memory(self, experiment: Experiment) -> Any:
        """Return the per-shot memory of an experiment (see ``data`` for the errors)."""
        return self._call("get_memory", experiment)

    def get_counts(self, experiment: Experiment) -> dict[str, int]:
        """Return the counts of an experiment (see ``data`` for the errors)."""
        return self._call("get_counts", experiment)  # type: ignore[no-any-return]

    def get_statevector(self, experiment: Experiment, decimals: int | None = None) -> Any:
        """Return the final statevector of an experiment (see ``data`` for the errors)."""
        return self._call("get_statevector", experiment, decimals=decimals)

    def get_unitary(self, experiment: Experiment, decimals: int | None = None) -> Any:
        """Return the unitary of an experiment (see ``data`` for the errors)."""
        return self._call("get_unitary", experiment, decimals=decimals)

    def combine_results(self) -> Result:
        """Return the results of every job as one qiskit ``Result``, in experiment order.

        Raises:
            OpenQXManagedResultDataNotAvailable: some job failed, was cancelled or was not
                submitted.
        """
        if not self.success:
            failed = [
                str(managed.index)
                for managed, result in zip(
                    self._job_set.managed_jobs(), self._job_results, strict=True
                )
                if result is None or not result.success
            ]
            raise exc.OpenQXManagedResultDataNotAvailable(
                "Results cannot be combined since some of the jobs failed (job indexes "
                f"{', '.join(failed)}); use get_counts() and friends for the others."
            )
        if self._combined is None:
            results = [r for r in self._job_results if r is not None]
            combined = copy.deepcopy(results[0])
            for result in results[1:]:
                combined.results.extend(copy.deepcopy(result.results))
            self._combined = combined
        return self._combined
