from __future__ import annotations

from collections import Counter

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.random import random_circuit
from qiskit.transpiler import Target

from openqx.core import errors
from openqx.devices import default_catalog
from openqx.devices.validation import check_circuits


def _ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name="ghz")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure_all()
    return qc


def test_transpiled_circuit_passes() -> None:
    device = default_catalog().get("fake_manila")
    check_circuits([transpile(_ghz(3), target=device.target(), seed_transpiler=1)], device)


def test_too_many_qubits() -> None:
    device = default_catalog().get("fake_manila")
    with pytest.raises(errors.InvalidCircuitError, match=r"has 6 qubits .* has only 5"):
        check_circuits([_ghz(6)], device)


def test_unsupported_instruction_names_it() -> None:
    device = default_catalog().get("fake_manila")
    with pytest.raises(errors.InvalidCircuitError) as info:
        check_circuits([_ghz(2)], device)
    message = str(info.value)
    assert "Instruction 'h' on qubits (0,) is not supported by backend 'fake_manila'" in message
    assert "qiskit.transpile(circuit, backend)" in message


def test_uncoupled_two_qubit_gate() -> None:
    device = default_catalog().get("fake_manila")
    qc = QuantumCircuit(5)
    qc.cx(0, 4)
    with pytest.raises(errors.InvalidCircuitError, match=r"'cx' on qubits \(0, 4\).*not coupled"):
        check_circuits([qc], device)


def test_control_flow_blocks_are_checked_with_their_qubits() -> None:
    device = default_catalog().get("fake_manila")
    good = QuantumCircuit(5, 1)
    good.measure(0, 0)
    with good.if_test((good.clbits[0], 1)):
        good.cx(0, 1)
    good.barrier()
    check_circuits([good], device)
    bad = QuantumCircuit(5, 1)
    bad.measure(0, 0)
    with bad.if_test((bad.clbits[0], 1)):
        bad.cx(2, 4)
    with pytest.raises(errors.InvalidCircuitError, match=r"\(2, 4\)"):
        check_circuits([bad], device)


def test_ideal_simulator_checks_only_width_and_names() -> None:
    device = default_catalog().get("simulator_statevector")
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 2)
    qc.measure_all()
    check_circuits([qc], device)
    stabilizer = default_catalog().get("simulator_stabilizer")
    qc.t(1)
    with pytest.raises(errors.InvalidCircuitError, match=r"'t' on qubits \(1,\)"):
        check_circuits([qc], stabilizer)


def test_ideal_simulator_checks_names_inside_control_flow_blocks() -> None:
    # A simulator's circuits pass on their names alone (count_ops) unless they hold control
    # flow: then the blocks are walked, and a name only found inside one is refused.
    stabilizer = default_catalog().get("simulator_stabilizer")
    qc = QuantumCircuit(3, 1)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(2)
    check_circuits([qc], stabilizer)
    with qc.if_test((qc.clbits[0], 1)):
        qc.t(2)
    with pytest.raises(errors.InvalidCircuitError, match=r"'t' on qubits \(2,\)"):
        check_circuits([qc], stabilizer)


def test_not_a_circuit() -> None:
    with pytest.raises(errors.InvalidCircuitError, match="not a QuantumCircuit"):
        check_circuits(["x"], default_catalog().get("fake_manila"))


def test_validation_asks_the_target_once_per_instruction_and_qubits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Target.instruction_supported is the costly part of validation on a large device;
    # check_circuits remembers its answers, so a job of many circuits asks once per distinct
    # (instruction, qubits) pair rather than once per instruction.
    device = default_catalog().get("fake_sherbrooke")
    circuits = [random_circuit(5, 12, max_operands=2, seed=i, measure=True) for i in range(100)]
    isa = transpile(circuits, target=device.target(), seed_transpiler=1, optimization_level=0)
    asked: Counter[tuple[str, tuple[int, ...]]] = Counter()
    original = Target.instruction_supported

    def counting(self: Target, operation_name: str, qargs: tuple[int, ...]) -> bool:
        asked[(operation_name, tuple(qargs))] += 1
        return bool(original(self, operation_name, qargs))

    monkeypatch.setattr(Target, "instruction_supported", counting)
    check_circuits(isa, device)

    used = [
        (instruction.name, tuple(circuit.find_bit(q).index for q in instruction.qubits))
        for circuit in isa
        for instruction in circuit.data
        if instruction.name != "barrier"
    ]
    assert set(asked) == set(used)
    assert max(asked.values()) == 1
    assert len(asked) < len(used) / 5  # the memo is what keeps validation cheap here
