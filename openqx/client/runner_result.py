"""``RunnerResult``: the result of a ``circuit-runner`` job (a qiskit ``Result`` plus
quasi-probabilities when measurement error mitigation ran)."""

from __future__ import annotations

from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit.result import QuasiDistribution, Result

__all__ = ["RunnerResult"]


def _hex_to_bin(key: str, width: int) -> str:
    """``"0x5"`` → ``"101"`` zero-padded to ``width``."""
    return format(int(key, 16), "b").zfill(width)


class RunnerResult(Result):  # type: ignore[misc]
    """A qiskit ``Result`` of the circuit runner.

    When mitigation ran, each experiment's ``data`` holds hex-keyed ``quasiprobabilities``
    and its header a ``final_measurement_mapping`` (one entry per measured qubit).
    """

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> RunnerResult:
        """Build the result from the JSON the server returns (``Result.to_dict()`` form)."""
        return cls.from_dict(data)  # type: ignore[no-any-return]

    def get_quasiprobabilities(
        self, experiment: int | str | QuantumCircuit | None = None
    ) -> QuasiDistribution | list[QuasiDistribution]:
        """Return the mitigated quasi-probabilities of one or every experiment.

        Bitstrings are zero-padded to the number of measured qubits (the length of the
        header's ``final_measurement_mapping``) and the distribution's ``shots`` is set.

        Args:
            experiment: an index, a name or a circuit; ``None`` means every experiment.

        Returns:
            One distribution when one experiment is concerned, else a list.

        Raises:
            QiskitError: an experiment has no quasi-probabilities (mitigation did not run)
                or does not exist.
        """
        if experiment is None:
            indices = list(range(len(self.results)))
        else:
            indices = [self.results.index(self._get_experiment(experiment))]
        distributions = []
        for index in indices:
            exp = self.results[index]
            quasi = self.data(index).get("quasiprobabilities")
            if quasi is None:
                raise QiskitError(
                    f"No quasiprobabilities for experiment {index}: measurement error "
                    f"mitigation did not run (pass measurement_error_mitigation=True)."
                )
            header = exp.header if isinstance(exp.header, dict) else vars(exp.header or {})
            mapping = header.get("final_measurement_mapping")
            if mapping is not None:
                width = len(mapping)
            else:
                width = max((len(format(int(k, 16), "b")) for k in quasi), default=1)
            values = {_hex_to_bin(key, width): float(value) for key, value in quasi.items()}
            distribution = QuasiDistribution(values, shots=exp.shots)
            distribution.shots = exp.shots
            distributions.append(distribution)
        return distributions[0] if len(distributions) == 1 else distributions
