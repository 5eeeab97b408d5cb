"""Noise models rewritten so that Aer converts them cheaply: one Kraus channel per error.

``NoiseModel.from_backend`` writes each gate error as a mixture of circuits (a depolarizing
Pauli times a thermal-relaxation Kraus map: 144 circuits for a CX). Aer converts the whole
model again on every ``run`` (in C++, after ``to_dict``), and for a density-matrix simulation
turns every error into a superoperator: for ``fake_manila`` (28 errors, 158 kB of JSON) that
is ~90 % of a GHZ-5 run. The same channel written as one ``kraus`` instruction is a tenth of
the JSON and converts in a fraction of the time, with the same density matrix, so the same
distribution (to floating-point rounding; equal counts for a given seed in practice).

Only density-matrix simulations use the compact form: a trajectory (statevector) simulation
samples a mixture's circuit per shot, cheaper than the norms of up to 16 Kraus operators.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from qiskit_aer.noise import NoiseModel, QuantumError

__all__ = ["COMPACT_CACHE_SIZE", "compact_error", "compact_noise_model", "error_superop"]

_RESET_KRAUS = (
    np.array([[1, 0], [0, 0]], dtype=complex),
    np.array([[0, 1], [0, 0]], dtype=complex),
)

Matrix = NDArray[np.complex128]


def _kron(a: Matrix, b: Matrix) -> Matrix:
    """``np.kron`` of two matrices, without its generic-shape overhead."""
    rows, cols = a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]
    return (a[:, None, :, None] * b[None, :, None, :]).reshape(rows, cols)


def _expand(matrix: Matrix, positions: list[int], num_qubits: int) -> Matrix:
    """``matrix`` on ``positions`` (qiskit order: the first is its least significant qubit),
    as an operator on ``num_qubits`` qubits."""
    k = len(positions)
    if k == num_qubits and positions == list(range(k)):
        return matrix
    others = [q for q in range(num_qubits) if q not in positions]
    big = _kron(np.eye(2 ** len(others), dtype=complex), matrix)
    order = positions + others  # virtual qubit v is actual qubit order[v]
    n = num_qubits
    axis_of_virtual = {order[v]: n - 1 - v for v in range(n)}
    perm = [axis_of_virtual[n - 1 - axis] for axis in range(n)]
    tensor = big.reshape([2] * (2 * n)).transpose(perm + [n + p for p in perm])
    return tensor.reshape(2**n, 2**n)


def _kraus_of(operation: Any) -> tuple[Matrix, ...]:
    """The Kraus operators of one instruction of an error's circuit."""
    name = operation.name
    if name == "kraus":
        return tuple(np.asarray(m, dtype=complex) for m in operation.params)
    if name == "reset":
        return _RESET_KRAUS
    return (_unitary(operation),)


def _unitary(operation: Any) -> Matrix:
    if operation.name == "pauli":
        return _pauli(str(operation.params[0]))
    from qiskit.quantum_info import Operator

    return np.asarray(Operator(operation).data, dtype=complex)


@functools.cache
def _pauli(label: str) -> Matrix:
    from qiskit.quantum_info import Pauli

    return np.asarray(Pauli(label).to_matrix(), dtype=complex)


def _superop(kraus: tuple[Matrix, ...]) -> Matrix:
    """Column-stacking superoperator of a Kraus map (qiskit's ``SuperOp`` convention)."""
    out = _kron(kraus[0].conj(), kraus[0])
    for k in kraus[1:]:
        out += _kron(k.conj(), k)
    return out


def error_superop(error: QuantumError) -> Matrix:
    """The superoperator (qiskit ``SuperOp`` convention) of ``error``'s channel."""
    n = error.num_qubits
    dim = 4**n
    total = np.zeros((dim, dim), dtype=complex)
    for circuit, probability in zip(error.circuits, error.probabilities, strict=True):
        channel = np.eye(dim, dtype=complex)
        for instruction in circuit.data:
            positions = [circuit.find_bit(q).index for q in instruction.qubits]
            kraus = tuple(_expand(k, positions, n) for k in _kraus_of(instruction.operation))
            channel = _superop(kraus) @ channel
        total += float(probability) * channel
    return total


def compact_error(error: QuantumError) -> QuantumError:
    """``error`` as one Kraus channel (a single ``kraus`` instruction); the same channel."""
    from qiskit.quantum_info import Kraus, SuperOp
    from qiskit_aer.noise import QuantumError

    if len(error.circuits) == 1 and [i.operation.name for i in error.circuits[0].data] == ["kraus"]:
        return error
    return QuantumError(Kraus(SuperOp(error_superop(error))))


def compact_noise_model(model: NoiseModel, readout: bool = True) -> NoiseModel:
    """A copy of ``model`` with every quantum error compacted (``compact_error``); its readout
    errors (left out with ``readout=False``), basis gates and noise passes kept."""
    from qiskit_aer.noise import NoiseModel

    compact = NoiseModel(basis_gates=model.basis_gates)
    for name, by_qubits in model._local_quantum_errors.items():
        for qubits, error in by_qubits.items():
            compact.add_quantum_error(_cached_compact(error), name, qubits, warnings=False)
    for name, error in model._default_quantum_errors.items():
        compact.add_all_qubit_quantum_error(_cached_compact(error), name, warnings=False)
    if readout:
        for qubits, readout_error in model._local_readout_errors.items():
            compact.add_readout_error(readout_error, qubits, warnings=False)
        if model._default_readout_error is not None:
            compact.add_all_qubit_readout_error(model._default_readout_error, warnings=False)
    compact._custom_noise_passes = list(model._custom_noise_passes)
    return compact


COMPACT_CACHE_SIZE = 4096
"""Compacted errors kept per process, by the error's id (one per error of the full models a
process holds: a 127-qubit device has ~600)."""

_compacted: OrderedDict[str, QuantumError] = OrderedDict()
_lock = threading.Lock()


def _cached_compact(error: QuantumError) -> QuantumError:
    with _lock:
        found = _compacted.get(error.id)
        if found is not None:
            _compacted.move_to_end(error.id)
            return found
    compact = compact_error(error)
    with _lock:
        _compacted[error.id] = compact
        if len(_compacted) > COMPACT_CACHE_SIZE:
            _compacted.popitem(last=False)
    return compact
