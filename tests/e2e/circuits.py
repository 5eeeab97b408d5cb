"""Circuits shared by the end-to-end tests."""

from __future__ import annotations

from qiskit import QuantumCircuit


def ghz(num_qubits: int) -> QuantumCircuit:
    """A measured GHZ state."""
    circuit = QuantumCircuit(num_qubits, name=f"ghz{num_qubits}")
    circuit.h(0)
    for qubit in range(num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def forever() -> QuantumCircuit:
    """A circuit whose ``while_loop`` never ends: the bit it tests is measured 1 every time.

    A job of it holds its worker until it is cancelled (or stopped at its time limit), however
    fast the machine is: tests that need a busy worker use it, not a merely slow circuit."""
    circuit = QuantumCircuit(1, 1, name="forever")
    circuit.x(0)
    circuit.measure(0, 0)
    with circuit.while_loop((circuit.clbits[0], 1)):
        circuit.x(0)
        circuit.x(0)
        circuit.measure(0, 0)
    return circuit


def slow_circuit(num_qubits: int = 22, layers: int = 30) -> QuantumCircuit:
    """A statevector circuit that takes a few seconds on this machine (keeps a worker busy)."""
    circuit = QuantumCircuit(num_qubits, name="slow")
    for layer in range(layers):
        for qubit in range(num_qubits):
            circuit.rx(0.1 * (layer + qubit + 1), qubit)
        for qubit in range(layer % 2, num_qubits - 1, 2):
            circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def not_clifford(num_qubits: int = 2) -> QuantumCircuit:
    """A measured GHZ state with a T gate: the server accepts it, and Aer's ``stabilizer``
    method refuses it at run time, so ``run(..., method="stabilizer")`` makes a job that
    fails on the worker."""
    circuit = QuantumCircuit(num_qubits, name=f"t-ghz{num_qubits}")
    circuit.h(0)
    circuit.t(0)
    for qubit in range(num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def statevector_circuit(n: int, layers: int = 10) -> QuantumCircuit:
    """A brick of rotations and CX layers on ``n`` qubits: statevector-bound, every outcome
    likely (the latency benchmark's heavy job at 20 qubits, the GPU check's at more)."""
    qc = QuantumCircuit(n, name=f"brick{n}")
    for layer in range(layers):
        for q in range(n):
            qc.rx(0.3 + 0.1 * q + 0.05 * layer, q)
            qc.rz(0.7 + 0.03 * q, q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc
