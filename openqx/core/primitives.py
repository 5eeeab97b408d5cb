"""The ``sampler`` and ``estimator`` programs' wire format, shared by client and server.

A primitive job is a runtime job (``POST /v1/runtime/jobs``) whose ``params`` are JSON:

- ``pubs``: a list of PUB objects. Each has ``circuit`` (base64 QPY of one circuit),
  ``parameter_values`` (nested lists of floats whose last axis runs over
  ``parameter_names``, or ``null`` for a circuit without parameters) and ``parameter_names``.
  Sampler PUBs add ``shots``; estimator PUBs add ``observables`` (nested lists, the PUB's
  observable shape, of ``{Pauli string: real coefficient}``) and ``precision``.
- ``shots`` (sampler) or ``precision`` (estimator): the run's default for PUBs without one.
- ``options``: the primitive's options, only the names in ``SAMPLER_OPTIONS`` and
  ``ESTIMATOR_OPTIONS``.

The result blob holds ``encode_result(PrimitiveResult)``: numbers and strings as JSON,
``BitArray`` and numpy arrays as tagged objects. Nothing here unpickles anything.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import (
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.primitives.containers.sampler_pub import SamplerPub

from openqx.core import circuit_payload

__all__ = [
    "DEFAULT_PRECISION",
    "DEFAULT_SHOTS",
    "ESTIMATOR_OPTIONS",
    "ESTIMATOR_PROGRAM",
    "PRIMITIVE_PROGRAMS",
    "RESILIENCE_LEVELS",
    "SAMPLER_OPTIONS",
    "SAMPLER_PROGRAM",
    "decode_estimator_pubs",
    "decode_result",
    "decode_sampler_pubs",
    "encode_estimator_pub",
    "encode_result",
    "encode_sampler_pub",
    "shots_for_precision",
]

SAMPLER_PROGRAM = "sampler"
ESTIMATOR_PROGRAM = "estimator"
PRIMITIVE_PROGRAMS = frozenset({SAMPLER_PROGRAM, ESTIMATOR_PROGRAM})

DEFAULT_SHOTS = 4096
"""Shots of a sampler PUB when neither the PUB, ``run`` nor ``default_shots`` give them
(qiskit-ibm-runtime's default)."""
DEFAULT_PRECISION = 0.015625
"""Target precision of an estimator PUB when none is given (qiskit-ibm-runtime's default;
``1 / precision**2`` = 4096 shots)."""
RESILIENCE_LEVELS = (0, 1)
"""Estimator resilience levels: 0 none, 1 readout-error mitigation."""

SAMPLER_OPTIONS = frozenset({"default_shots", "seed_simulator"})
"""Sampler options the server accepts."""
ESTIMATOR_OPTIONS = frozenset({"default_precision", "resilience_level", "seed_simulator"})
"""Estimator options the server accepts."""

_PARAMS = {
    SAMPLER_PROGRAM: frozenset({"pubs", "shots", "options"}),
    ESTIMATOR_PROGRAM: frozenset({"pubs", "precision", "options"}),
}
_SAMPLER_PUB_KEYS = frozenset({"circuit", "parameter_values", "parameter_names", "shots"})
_ESTIMATOR_PUB_KEYS = frozenset(
    {"circuit", "observables", "parameter_values", "parameter_names", "precision"}
)


def shots_for_precision(precision: float) -> int:
    """Shots that reach ``precision`` as a standard error (``ceil(1 / precision**2)``).

    Raises:
        ValueError: ``precision`` is not a positive finite number, or is so fine that its
            shot count is beyond a float (below about 1e-154).
    """
    if not (math.isfinite(precision) and precision > 0):
        raise ValueError(f"precision must be a positive finite number, not {precision!r}.")
    if precision >= 1:
        return 1
    squared = precision * precision
    shots = 1.0 / squared if squared > 0 else math.inf
    if not math.isfinite(shots):
        raise ValueError(
            f"precision {precision!r} is too fine: it would need more than 1e308 shots."
        )
    return max(1, math.ceil(shots))


# --- PUBs -------------------------------------------------------------------------------


def _bindings(circuit: QuantumCircuit, values: BindingsArray) -> dict[str, Any]:
    if circuit.num_parameters == 0:
        return {"parameter_values": None, "parameter_names": []}
    array = values.as_array(circuit.parameters)
    return {
        "parameter_values": np.asarray(array, dtype=float).tolist(),
        "parameter_names": [p.name for p in circuit.parameters],
    }


def encode_sampler_pub(pub: SamplerPub) -> dict[str, Any]:
    """A coerced ``SamplerPub`` as the JSON object the server decodes."""
    return {
        "circuit": circuit_payload.encode_circuits([pub.circuit]),
        **_bindings(pub.circuit, pub.parameter_values),
        "shots": pub.shots,
    }


def encode_estimator_pub(pub: EstimatorPub) -> dict[str, Any]:
    """A coerced ``EstimatorPub`` as the JSON object the server decodes."""
    return {
        "circuit": circuit_payload.encode_circuits([pub.circuit]),
        "observables": _observables_list(pub.observables),
        **_bindings(pub.circuit, pub.parameter_values),
        "precision": pub.precision,
    }


def _observables_list(observables: ObservablesArray) -> Any:
    def real(item: Any) -> Any:
        if isinstance(item, list):
            return [real(i) for i in item]
        return {pauli: float(np.real(coeff)) for pauli, coeff in item.items()}

    return real(observables.tolist())


class PubError(ValueError):
    """A PUB or a primitive's params are not valid; the message names the PUB."""


def _check_params(program: str, params: Mapping[str, Any], options: frozenset[str]) -> None:
    unknown = sorted(set(params) - _PARAMS[program])
    if unknown:
        raise PubError(
            f"Unknown {program} input(s) {', '.join(map(repr, unknown))}; known inputs: "
            f"{', '.join(sorted(_PARAMS[program]))}."
        )
    given = params.get("options") or {}
    if not isinstance(given, Mapping):
        raise PubError(f"The {program} 'options' must be an object.")
    unknown = sorted(set(given) - options)
    if unknown:
        raise PubError(
            f"Unknown {program} option(s) {', '.join(map(repr, unknown))}; supported options: "
            f"{', '.join(sorted(options))}."
        )
    pubs = params.get("pubs")
    if not isinstance(pubs, list) or not pubs:
        raise PubError(f"The {program} 'pubs' must be a non-empty list.")


def _positive_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise PubError(f"{name} must be a positive integer, not {value!r}.")
    return value


def _precision(value: Any, name: str) -> float | None:
    """A given precision as a float whose shot count (``shots_for_precision``) exists."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise PubError(f"{name} must be a positive number, not {_short(value)}.")
    try:
        precision = float(value)
        shots_for_precision(precision)
    except (OverflowError, ValueError) as exc:
        raise PubError(
            f"{name} must be a positive finite number whose shot count (1 / precision**2) "
            f"can be computed, not {_short(value)}."
        ) from exc
    return precision


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _pub_circuit_and_values(
    index: int, pub: Any, keys: frozenset[str]
) -> tuple[QuantumCircuit, BindingsArray]:
    if not isinstance(pub, Mapping):
        raise PubError(f"PUB {index} must be an object.")
    unknown = sorted(set(pub) - keys)
    if unknown:
        raise PubError(f"PUB {index} has unknown field(s) {', '.join(map(repr, unknown))}.")
    text = pub.get("circuit")
    if not isinstance(text, str):
        raise PubError(f"PUB {index}: 'circuit' must be base64 QPY text.")
    try:
        circuits = circuit_payload.decode_circuits(text, source=f"PUB {index} 'circuit'")
    except ValueError as exc:
        raise PubError(str(exc)) from exc
    if len(circuits) != 1:
        raise PubError(f"PUB {index}: 'circuit' must hold exactly one circuit.")
    circuit = circuits[0]
    values = pub.get("parameter_values")
    names = pub.get("parameter_names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PubError(f"PUB {index}: 'parameter_names' must be a list of names.")
    expected = [p.name for p in circuit.parameters]
    if values is None:
        if expected:
            raise PubError(
                f"PUB {index}: the circuit has {len(expected)} parameter(s) "
                f"({', '.join(expected)}) but no parameter values were given."
            )
        return circuit, BindingsArray()
    if names != expected:
        raise PubError(
            f"PUB {index}: 'parameter_names' {names} do not match the circuit's parameters "
            f"{expected}."
        )
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise PubError(
            f"PUB {index}: 'parameter_values' must be a rectangular array of numbers."
        ) from exc
    if array.ndim == 0 or array.shape[-1] != len(expected) or not np.all(np.isfinite(array)):
        raise PubError(
            f"PUB {index}: parameter values of shape {list(array.shape)} do not fit the "
            f"circuit's {len(expected)} parameter(s): the last axis must have "
            f"{len(expected)} finite values."
        )
    return circuit, BindingsArray({tuple(circuit.parameters): array})


def decode_sampler_pubs(params: Mapping[str, Any]) -> list[SamplerPub]:
    """Check a sampler job's params and return its PUBs, each with its shots resolved.

    Raises:
        PubError: unknown inputs or options, a PUB that does not decode, parameter values
            that do not fit the circuit, a circuit without measurements (message names the PUB).
    """
    _check_params(SAMPLER_PROGRAM, params, SAMPLER_OPTIONS)
    options = params.get("options") or {}
    default = (
        _positive_int(params.get("shots"), "shots")
        or _positive_int(options.get("default_shots"), "default_shots")
        or DEFAULT_SHOTS
    )
    _seed(options.get("seed_simulator"))
    pubs: list[SamplerPub] = []
    for index, pub in enumerate(params["pubs"]):
        circuit, values = _pub_circuit_and_values(index, pub, _SAMPLER_PUB_KEYS)
        shots = _positive_int(pub.get("shots"), f"PUB {index}: shots") or default
        if circuit.num_clbits == 0:
            raise PubError(f"PUB {index}: the circuit has no classical registers to sample.")
        try:
            pubs.append(SamplerPub(circuit, values, shots))
        except (TypeError, ValueError) as exc:
            raise PubError(f"PUB {index}: {exc}") from exc
    return pubs


def decode_estimator_pubs(params: Mapping[str, Any]) -> list[EstimatorPub]:
    """Check an estimator job's params and return its PUBs, each with its precision resolved.

    Raises:
        PubError: unknown inputs or options, a resilience level other than 0 and 1, a PUB
            that does not decode, observables on another number of qubits than the circuit,
            observable and parameter shapes that do not broadcast (message names the PUB).
    """
    _check_params(ESTIMATOR_PROGRAM, params, ESTIMATOR_OPTIONS)
    options = params.get("options") or {}
    level = options.get("resilience_level", 1)
    if isinstance(level, bool) or level not in RESILIENCE_LEVELS:
        raise PubError(f"resilience_level must be 0 or 1, not {level!r}.")
    default = (
        _precision(params.get("precision"), "precision")
        or _precision(options.get("default_precision"), "default_precision")
        or DEFAULT_PRECISION
    )
    _seed(options.get("seed_simulator"))
    pubs: list[EstimatorPub] = []
    for index, pub in enumerate(params["pubs"]):
        circuit, values = _pub_circuit_and_values(index, pub, _ESTIMATOR_PUB_KEYS)
        precision = _precision(pub.get("precision"), f"PUB {index}: precision") or default
        observables = _observables(index, pub.get("observables"))
        try:
            pubs.append(EstimatorPub(circuit, observables, values, precision, validate=True))
        except (TypeError, ValueError) as exc:
            raise PubError(f"PUB {index}: {exc}") from exc
    return pubs


def _observables(index: int, value: Any) -> ObservablesArray:
    def check(item: Any) -> Any:
        if isinstance(item, list):
            return [check(i) for i in item]
        if not isinstance(item, Mapping) or not item:
            raise PubError(f"PUB {index}: each observable must be a non-empty {{Pauli: coeff}}.")
        for pauli, coeff in item.items():
            if not isinstance(pauli, str) or not pauli or set(pauli) - set("IXYZ"):
                raise PubError(f"PUB {index}: {pauli!r} is not a Pauli string of I, X, Y, Z.")
            if (
                isinstance(coeff, bool)
                or not isinstance(coeff, int | float)
                or not math.isfinite(coeff)
            ):
                raise PubError(f"PUB {index}: coefficient of {pauli} must be a finite number.")
            if len(pauli) != len(next(iter(item))):
                raise PubError(f"PUB {index}: the Pauli strings of an observable differ in length.")
        return dict(item)

    if value is None:
        raise PubError(f"PUB {index}: 'observables' are required.")
    try:
        return ObservablesArray(check(value))
    except (TypeError, ValueError) as exc:
        raise PubError(f"PUB {index}: observables are not a rectangular array: {exc}") from exc


def _seed(value: Any) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63
    ):
        raise PubError(f"seed_simulator must be an integer in 0..2**63-1, not {value!r}.")


# --- results ----------------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    if isinstance(value, BitArray):
        return {
            "__bitarray__": {
                "num_bits": value.num_bits,
                "shape": list(value.array.shape),
                "data": base64.b64encode(value.array.tobytes()).decode("ascii"),
            }
        }
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": {
                "dtype": str(value.dtype),
                "shape": list(value.shape),
                "data": value.ravel().tolist(),
            }
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _encode_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_value(v) for v in value]
    return value


_DTYPES = frozenset({"float64", "float32", "int64", "int32", "bool", "complex128"})


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "__bitarray__" in value:
            body = value["__bitarray__"]
            raw = np.frombuffer(base64.b64decode(body["data"]), dtype=np.uint8)
            return BitArray(raw.reshape(body["shape"]).copy(), int(body["num_bits"]))
        if "__ndarray__" in value:
            body = value["__ndarray__"]
            if body["dtype"] not in _DTYPES:
                raise ValueError(f"unsupported array dtype {body['dtype']!r}")
            return np.asarray(body["data"], dtype=body["dtype"]).reshape(body["shape"])
        return {k: _decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def encode_result(result: PrimitiveResult[Any]) -> dict[str, Any]:
    """A ``PrimitiveResult`` of ``SamplerPubResult`` or ``PubResult`` as JSON."""
    pubs = []
    for pub in result:
        pubs.append(
            {
                "type": "SamplerPubResult" if isinstance(pub, SamplerPubResult) else "PubResult",
                "shape": list(pub.data.shape),
                "fields": {key: _encode_value(pub.data[key]) for key in pub.data},
                "metadata": _encode_value(pub.metadata),
            }
        )
    return {
        "primitive_result": pubs,
        "metadata": _encode_value(result.metadata),
        "success": True,
    }


def decode_result(data: Mapping[str, Any]) -> PrimitiveResult[Any]:
    """``encode_result``'s JSON back to the ``PrimitiveResult`` with Qiskit's containers.

    Raises:
        ValueError: ``data`` is not such a result.
    """
    pubs: list[Any] = []
    for entry in data["primitive_result"]:
        fields = {key: _decode_value(value) for key, value in entry["fields"].items()}
        bin_ = DataBin(**fields, shape=tuple(entry["shape"]))
        cls = SamplerPubResult if entry["type"] == "SamplerPubResult" else PubResult
        pubs.append(cls(bin_, metadata=_decode_value(entry["metadata"])))
    return PrimitiveResult(pubs, metadata=_decode_value(data.get("metadata") or {}))


def pub_count(params: Mapping[str, Any]) -> int:
    """The number of PUBs in a primitive job's params (0 when not a list)."""
    pubs = params.get("pubs")
    return len(pubs) if isinstance(pubs, Sequence) and not isinstance(pubs, str) else 0
