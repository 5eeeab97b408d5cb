"""The ``sampler`` and ``estimator`` programs: Qiskit's V2 primitives run on the worker.

Both run on the device's cached simulator (``aer_cache``: the snapshot's noise reduced to
the active qubits), so an emulated device samples with its calibrated noise.

- ``sampler``: each PUB through ``qiskit.primitives.BackendSamplerV2`` on that simulator:
  no twirling, no dynamical decoupling, no mitigation (qiskit-ibm-runtime's defaults for
  ``SamplerV2``); the result holds one ``BitArray`` per classical register.
- ``estimator``: each distinct Pauli string of a PUB's observables is measured in its own
  circuit (basis change by ``rz``/``sx``, measurement of the string's support) with
  ``ceil(1 / precision**2)`` shots per parameter set. At resilience level 0 the parity of the
  counts is the expectation value; at level 1 the counts are first corrected for readout
  errors with mthree, calibrated on the same qubits through the same noisy simulator (the
  calibration is cached per device, snapshot and qubits). ``stds`` combine the terms'
  standard errors.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from openqx.core import errors
from openqx.core import primitives as wire
from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.devices.device import Device
from openqx.execution import aer_cache
from openqx.execution import circuits as circuit_tools
from openqx.execution.port import ExecutionError, ExecutionRequest

__all__ = ["run_primitive_request"]


def run_primitive_request(
    request: ExecutionRequest, catalog: DeviceCatalog | None = None
) -> dict[str, Any]:
    """Run a ``sampler`` or ``estimator`` job and return its encoded ``PrimitiveResult``.

    Raises:
        ExecutionError: the backend, snapshot or params are not valid, or Aer failed.
    """
    try:
        device = (catalog or default_catalog()).get(request.backend)
    except errors.BackendNotFoundError as exc:
        raise ExecutionError(exc.message, "backend_not_found") from exc
    try:
        params = json.loads(request.payload)
        options = params.get("options") or {}
        if request.program_id == wire.SAMPLER_PROGRAM:
            pubs: list[Any] = wire.decode_sampler_pubs(params)
        elif request.program_id == wire.ESTIMATOR_PROGRAM:
            pubs = wire.decode_estimator_pubs(params)
        else:
            raise ExecutionError(f"unknown program {request.program_id!r}", "bad_request")
    except ValueError as exc:
        raise ExecutionError(f"params are not valid: {exc}", "bad_payload") from exc
    try:
        snapshot = device.resolve_snapshot(request.snapshot_id)
    except errors.NotFoundError as exc:
        raise ExecutionError(exc.message, "snapshot_not_found") from exc
    snapshot_id = snapshot.id if snapshot else None
    seed = options.get("seed_simulator")
    try:
        if request.program_id == wire.SAMPLER_PROGRAM:
            result = _sample(device, snapshot_id, pubs, seed)
        else:
            level = int(options.get("resilience_level", 1))
            result = _estimate(device, snapshot_id, pubs, level, seed)
    except ExecutionError:
        raise
    except Exception as exc:
        raise ExecutionError(f"simulation failed: {exc}", "simulation_failed") from exc
    return wire.encode_result(result)


def _simulator(device: Device, snapshot_id: str | None, circuits: list[Any]) -> Any:
    active = frozenset() if device.simulator else circuit_tools.active_qubits(circuits)
    return aer_cache.simulator_for(device, snapshot_id, active)


def _sample(device: Device, snapshot_id: str | None, pubs: list[Any], seed: int | None) -> Any:
    from qiskit.primitives import BackendSamplerV2, PrimitiveResult

    results = []
    for pub in pubs:
        simulator = _simulator(device, snapshot_id, [pub.circuit])
        options: dict[str, Any] = {}
        if seed is not None:
            options["seed_simulator"] = seed
        sampler = BackendSamplerV2(backend=simulator, options=options)
        results.append(sampler.run([pub]).result()[0])
    return PrimitiveResult(results, metadata={"version": 2})


def _basis_measurement(circuit: Any, pauli: str) -> tuple[Any, tuple[int, ...]]:
    """``circuit`` followed by the change to ``pauli``'s basis and the measurement of its
    support (physical qubits, ascending, clbit i ← i-th qubit of the support)."""
    from qiskit import ClassicalRegister

    width = len(pauli)
    support = tuple(q for q in range(width) if pauli[width - 1 - q] != "I")
    measured = circuit.copy()
    register = ClassicalRegister(len(support), "meas_pauli")
    measured.add_register(register)
    for bit, qubit in enumerate(support):
        letter = pauli[width - 1 - qubit]
        if letter == "X":  # H up to a final rz
            measured.rz(math.pi / 2, qubit)
            measured.sx(qubit)
        elif letter == "Y":  # H·S† up to a final rz
            measured.sx(qubit)
        measured.measure(qubit, register[bit])
    return measured, support


def _parity(counts: dict[str, int]) -> tuple[float, float]:
    shots = sum(counts.values())
    total = sum((-1 if key.count("1") % 2 else 1) * n for key, n in counts.items())
    value = total / shots
    return value, math.sqrt(max(0.0, 1.0 - value**2) / shots)


def _estimate(
    device: Device, snapshot_id: str | None, pubs: list[Any], level: int, seed: int | None
) -> Any:
    from qiskit.primitives import DataBin, PrimitiveResult, PubResult

    results = []
    for pub in pubs:
        shots = wire.shots_for_precision(pub.precision)
        base = pub.circuit.remove_final_measurements(inplace=False)
        bound = pub.parameter_values.bind_all(base)  # ndarray of circuits, parameter shape
        strings = sorted(
            {
                pauli
                for _, observable in np.ndenumerate(pub.observables)
                for pauli in observable
                if set(pauli) != {"I"}
            }
        )
        experiments: list[Any] = []
        supports: list[tuple[int, ...]] = []
        keys: list[tuple[tuple[int, ...], str]] = []
        for index, circuit in np.ndenumerate(bound):
            for pauli in strings:
                measured, support = _basis_measurement(circuit, pauli)
                experiments.append(measured)
                supports.append(support)
                keys.append((index, pauli))
        terms: dict[tuple[tuple[int, ...], str], tuple[float, float]] = {}
        if experiments:
            simulator = _simulator(device, snapshot_id, experiments)
            run_options: dict[str, Any] = {"shots": shots}
            if seed is not None:
                run_options["seed_simulator"] = int(seed)
            aer_result = simulator.run(experiments, **run_options).result()
            for position, key in enumerate(keys):
                counts = aer_result.get_counts(position)
                terms[key] = _expectation(counts, supports[position], device, snapshot_id, level)
        evs = np.zeros(pub.shape)
        stds = np.zeros(pub.shape)
        param_shape = bound.shape
        for index in np.ndindex(*pub.shape):
            observable = pub.observables[_broadcast(index, pub.observables.shape)]
            param_index = _broadcast(index, param_shape)
            value = 0.0
            variance = 0.0
            for pauli, coeff in observable.items():
                if set(pauli) == {"I"}:
                    value += coeff
                    continue
                ev, std = terms[(param_index, pauli)]
                value += coeff * ev
                variance += (coeff * std) ** 2
            evs[index] = value
            stds[index] = math.sqrt(variance)
        data = DataBin(evs=evs, stds=stds, ensemble_standard_error=stds.copy(), shape=pub.shape)
        metadata = {
            "target_precision": float(pub.precision),
            "shots": shots,
            "circuit_metadata": dict(pub.circuit.metadata or {}),
            "resilience_level": level,
            "readout_mitigation": level >= 1,
        }
        results.append(PubResult(data, metadata=metadata))
    return PrimitiveResult(results, metadata={"version": 2})


def _broadcast(index: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The element of an array of ``shape`` that ``index`` of the broadcast shape reads."""
    tail = index[len(index) - len(shape) :] if shape else ()
    return tuple(0 if size == 1 else i for i, size in zip(tail, shape, strict=True))


def _expectation(
    counts: dict[str, int],
    support: tuple[int, ...],
    device: Device,
    snapshot_id: str | None,
    level: int,
) -> tuple[float, float]:
    if level == 0:
        return _parity(counts)
    from openqx.execution.circuit_runner import readout_mitigator

    mitigator = readout_mitigator(device, snapshot_id, support)
    quasi = mitigator.apply_correction(counts, list(support), return_mitigation_overhead=True)
    value, std = quasi.expval_and_stddev()
    return float(value), float(std)
