"""User noise models on the ideal simulators: the one check of their bounds, and decoding.

A job on a simulator may carry ``options["noise_model"]``: a qiskit-aer ``NoiseModel`` as its
dict (``NoiseModel.to_dict(serializable=True)``), as the seed's ``IBMQSimulator.run`` took it.
The server calls ``check_noise_model`` before it stores the job, so that a model which is too
large, names qubits the simulator does not have, or does not decode is refused with a 400;
the worker calls ``noise_model_from_dict`` to run with it.

Bounds: the JSON size (``MAX_NOISE_MODEL_BYTES``), the number of error entries
(``MAX_NOISE_ERRORS``), qubits per error (``MAX_ERROR_QUBITS``: a k-qubit error carries
2^k × 2^k matrices), terms per error (``MAX_ERROR_TERMS``) and every qubit index within the
simulator. They are checked on the plain dict before Aer sees it, because Aer allocates a
circuit as wide as the largest qubit index it reads.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qiskit_aer.noise import NoiseModel

__all__ = [
    "MAX_ERROR_QUBITS",
    "MAX_ERROR_TERMS",
    "MAX_NOISE_ERRORS",
    "MAX_NOISE_MODEL_BYTES",
    "check_noise_model",
    "noise_model_from_dict",
]

MAX_NOISE_MODEL_BYTES = 8 * 2**20
"""Largest noise model, as compact JSON (a 27-qubit device's model is about 1 MiB)."""
MAX_NOISE_ERRORS = 20_000
"""Most error entries (``errors`` items) in one noise model."""
MAX_ERROR_QUBITS = 3
"""Most qubits one error acts on."""
MAX_ERROR_TERMS = 4**MAX_ERROR_QUBITS * 4
"""Most terms (circuits with a probability) in one quantum error."""
_ERROR_TYPES = ("qerror", "roerror")


def check_noise_model(data: object, num_qubits: int) -> NoiseModel:
    """Check a user noise model for a simulator of ``num_qubits`` qubits and decode it.

    Args:
        data: the noise model dict as the job carries it.
        num_qubits: the simulator's qubit count.

    Returns:
        The decoded noise model.

    Raises:
        ValueError: the model is too large, malformed, names a qubit the simulator lacks, or
            qiskit-aer cannot decode it; the message says which.
    """
    if not isinstance(data, Mapping):
        raise ValueError("noise_model needs to be a NoiseModel dict.")
    size = len(json.dumps(data, separators=(",", ":")))
    if size > MAX_NOISE_MODEL_BYTES:
        raise ValueError(
            f"noise_model is {size} bytes of JSON; at most {MAX_NOISE_MODEL_BYTES} are accepted."
        )
    unknown = set(data) - {"errors", "x90_gates"}
    if unknown:
        raise ValueError(f"noise_model has unknown fields: {', '.join(sorted(map(str, unknown)))}.")
    errors = data.get("errors", [])
    if not isinstance(errors, list):
        raise ValueError("noise_model['errors'] needs to be a list.")
    if len(errors) > MAX_NOISE_ERRORS:
        raise ValueError(
            f"noise_model has {len(errors)} errors; at most {MAX_NOISE_ERRORS} are accepted."
        )
    for index, error in enumerate(errors):
        _check_error(error, f"noise_model['errors'][{index}]", num_qubits)
    return noise_model_from_dict(data)


def noise_model_from_dict(data: Mapping[str, Any]) -> NoiseModel:
    """Decode a noise model dict (checked by ``check_noise_model`` first).

    Raises:
        ValueError: qiskit-aer refused it.
    """
    from qiskit_aer.noise import NoiseModel

    try:
        with warnings.catch_warnings():
            # NoiseModel.from_dict is deprecated in qiskit-aer 0.15 without a successor for
            # the dict format; that format is what the seed's users send, so it is decoded
            # with it.
            warnings.simplefilter("ignore", DeprecationWarning)
            return NoiseModel.from_dict(_with_complex_matrices(data))
    except Exception as exc:  # NoiseError, KeyError, TypeError... from arbitrary input
        raise ValueError(f"noise_model is not a valid NoiseModel dict: {exc}") from exc


def _with_complex_matrices(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` whose ``kraus``/``unitary`` matrices are complex arrays again.

    ``to_dict(serializable=True)`` writes each complex entry as ``[real, imag]``;
    ``from_dict`` expects complex matrices.
    """
    import numpy as np

    decoded = dict(data)
    errors = []
    for error in data.get("errors", []):
        if error.get("type") == "qerror":
            error = {
                **error,
                "instructions": [
                    [_complex_params(instruction, np) for instruction in term]
                    for term in error["instructions"]
                ],
            }
        errors.append(error)
    decoded["errors"] = errors
    return decoded


def _complex_params(instruction: Mapping[str, Any], np: Any) -> Mapping[str, Any]:
    """``kraus`` and ``unitary`` params as complex arrays (``[re, im]`` pairs decoded)."""
    if instruction.get("name") not in ("kraus", "unitary"):
        return instruction
    array = np.asarray(instruction.get("params"), dtype=float)
    # params is a list of d × d matrices; a trailing axis of 2 holds [real, imag].
    if array.ndim == 4 and array.shape[-1] == 2:
        array = array[..., 0] + 1j * array[..., 1]
    return {**instruction, "params": list(array)}


def _check_error(error: object, path: str, num_qubits: int) -> None:
    """One ``errors`` entry: its type, operations, gate qubits and the qubits of its terms."""
    if not isinstance(error, Mapping):
        raise ValueError(f"{path} needs to be a dict.")
    kind = error.get("type")
    if kind not in _ERROR_TYPES:
        raise ValueError(f"{path}['type'] needs to be 'qerror' or 'roerror', not {kind!r}.")
    operations = error.get("operations")
    if not isinstance(operations, list) or not all(isinstance(op, str) for op in operations):
        raise ValueError(f"{path}['operations'] needs to be a list of instruction names.")
    gate_qubits = error.get("gate_qubits")
    if gate_qubits is not None:
        if not isinstance(gate_qubits, list):
            raise ValueError(f"{path}['gate_qubits'] needs to be a list of qubit lists.")
        for qubits in gate_qubits:
            _check_qubits(qubits, f"{path}['gate_qubits']", num_qubits, "the simulator has")
    probabilities = error.get("probabilities")
    if not isinstance(probabilities, list):
        raise ValueError(f"{path}['probabilities'] needs to be a list.")
    if kind == "roerror":
        if len(probabilities) > 2**MAX_ERROR_QUBITS:
            raise ValueError(f"{path} is a readout error on more than {MAX_ERROR_QUBITS} qubits.")
        return
    terms = error.get("instructions")
    if not isinstance(terms, list) or len(terms) != len(probabilities):
        raise ValueError(
            f"{path}['instructions'] needs to be a list with one term per probability."
        )
    if len(terms) > MAX_ERROR_TERMS:
        raise ValueError(f"{path} has {len(terms)} terms; at most {MAX_ERROR_TERMS} are accepted.")
    for term in terms:
        if not isinstance(term, list) or not term:
            raise ValueError(f"{path}['instructions'] needs to hold non-empty instruction lists.")
        for instruction in term:
            if not isinstance(instruction, Mapping) or not isinstance(instruction.get("name"), str):
                raise ValueError(f"{path}: every instruction needs a 'name'.")
            _check_qubits(
                instruction.get("qubits"),
                f"{path}['instructions']",
                MAX_ERROR_QUBITS,
                "an error acts on at most",
            )


def _check_qubits(qubits: object, path: str, limit: int, what: str) -> None:
    """A non-empty list of distinct qubit indices below ``limit``."""
    if (
        not isinstance(qubits, Sequence)
        or isinstance(qubits, str)
        or not qubits
        or not all(isinstance(q, int) and not isinstance(q, bool) for q in qubits)
    ):
        raise ValueError(f"{path} needs non-empty lists of qubit indices, got {qubits!r}.")
    if len(qubits) > MAX_ERROR_QUBITS:
        raise ValueError(f"{path}: an error acts on at most {MAX_ERROR_QUBITS} qubits.")
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"{path}: qubits {list(qubits)} repeat a qubit.")
    for qubit in qubits:
        if not 0 <= qubit < limit:
            raise ValueError(f"{path}: qubit {qubit} is out of range ({what} {limit} qubits).")
