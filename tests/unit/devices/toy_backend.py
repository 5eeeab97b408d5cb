"""A small qiskit ``BackendV2`` a lab might serve through the ``openqx.devices`` entry point.

Three qubits on a line, rz/sx/x/cx/measure with error and duration, and a ``run`` that hands
circuits to qiskit's ``BasicSimulator`` (standing in for a lab's control stack).
"""

from __future__ import annotations

from typing import Any

from qiskit.circuit import Delay, Measure, Parameter
from qiskit.circuit.library import CXGate, RZGate, SXGate, XGate
from qiskit.providers import BackendV2, Options
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.transpiler import InstructionProperties, QubitProperties, Target

EDGES = [(0, 1), (1, 0), (1, 2), (2, 1)]


class ToyBackend(BackendV2):  # type: ignore[misc]
    """Three qubits on a line."""

    def __init__(self) -> None:
        super().__init__(name="toy", description="a three-qubit toy chip", backend_version="0.3")
        target = Target(
            num_qubits=3,
            dt=2.2e-10,
            qubit_properties=[QubitProperties(t1=1e-4, t2=8e-5, frequency=5e9) for _ in range(3)],
        )
        one = {(q,): InstructionProperties(duration=3.5e-8, error=3e-4) for q in range(3)}
        target.add_instruction(RZGate(Parameter("theta")), {(q,): None for q in range(3)})
        target.add_instruction(SXGate(), one)
        target.add_instruction(XGate(), dict(one))
        target.add_instruction(
            CXGate(), {e: InstructionProperties(duration=3e-7, error=8e-3) for e in EDGES}
        )
        target.add_instruction(
            Measure(), {(q,): InstructionProperties(duration=4e-6, error=2e-2) for q in range(3)}
        )
        target.add_instruction(Delay(Parameter("t")), {(q,): None for q in range(3)})
        self._target = target

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> int:
        return 50

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024)

    def run(self, run_input: Any, **options: Any) -> Any:
        return BasicSimulator().run(run_input, **options)


def make_toy() -> ToyBackend:
    """A factory, the other shape an entry point may take."""
    return ToyBackend()


def broken_factory() -> ToyBackend:
    """A factory whose hardware is not reachable."""
    raise ConnectionError("control rack 3 does not answer")


NOT_A_BACKEND = {"name": "toy"}


class CalibratedToyBackend(ToyBackend):  # type: ignore[misc]
    """A toy that publishes its calibration the IBM way (``properties()``)."""

    def properties(self) -> Any:
        from qiskit_ibm_runtime.models import BackendProperties

        from tests.unit.devices.factories import small_properties

        return BackendProperties.from_dict(small_properties(3))
