"""The ``sampler`` and ``estimator`` programs: Qiskit's V2 primitives run on the worker.

Both run their circuits through ``runner.run_experiments``, the path of every job on the
device: an emulated device samples with its snapshot's noise and measures as its
``backend.run`` jobs do (``emulation``: the snapshot's asymmetric ``prob_meas1_prep0`` /
``prob_meas0_prep1``); an ideal simulator runs on its cached Aer simulator.

- ``sampler``: each PUB through ``qiskit.primitives.BackendSamplerV2`` on that path:
  no twirling, no dynamical decoupling, no mitigation (qiskit-ibm-runtime's defaults for
  ``SamplerV2``); the result holds one ``BitArray`` per classical register.
- ``estimator``: each distinct Pauli string of a PUB's observables is measured in its own
  circuit (basis change by ``rz``/``sx``, measurement of the string's support) with
  ``ceil(1 / precision**2)`` shots per parameter set. At resilience level 0 the parity of the
  counts is the expectation value; at level 1 the counts are first corrected for readout
  errors with mthree, calibrated on the same qubits through the same path (the
  calibration is cached per device, snapshot and qubits). ``stds`` combine the terms'
  standard errors.

On an emulated device each Aer call's result reports the device seconds its circuits would
take (``metadata.usage.quantum_seconds``, ``execution.usage``); the job's result reports their
sum, so a primitive job is charged device seconds like a ``backend.run`` job
(``docs/scheduling.md``). The readout calibration of level 1 is not charged: it is cached per
device, snapshot and qubits and shared by the jobs that follow.
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
from openqx.execution.port import ExecutionError, ExecutionRequest
from openqx.execution.runner import run_experiments

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
    usage = _DeviceSeconds()
    try:
        if request.program_id == wire.SAMPLER_PROGRAM:
            result = _sample(device, snapshot_id, pubs, seed, usage)
        else:
            level = int(options.get("resilience_level", 1))
            result = _estimate(device, snapshot_id, pubs, level, seed, usage)
    except ExecutionError:
        raise
    except Exception as exc:
        raise ExecutionError(f"simulation failed: {exc}", "simulation_failed") from exc
    encoded = wire.encode_result(result)
    if usage.seconds is not None:
        encoded["metadata"] = {**encoded["metadata"], "usage": {"quantum_seconds": usage.seconds}}
    return encoded


class _DeviceSeconds:
    """The sum of the device seconds the Aer calls of one job report (``None`` when none
    reports any: an ideal simulator, charged host seconds)."""

    def __init__(self) -> None:
        self.seconds: float | None = None

    def run(
        self, device: Device, snapshot_id: str | None, circuits: list[Any], **options: Any
    ) -> Any:
        """``run_experiments``, the device seconds its result reports counted."""
        result = run_experiments(device, snapshot_id, circuits, **options)
        usage = (getattr(result, "metadata", None) or {}).get("usage")
        seconds = usage.get("quantum_seconds") if isinstance(usage, dict) else None
        if isinstance(seconds, int | float):
            self.seconds = (self.seconds or 0.0) + float(seconds)
        return result


class _Finished:
    """A done job as ``BackendSamplerV2`` reads it: ``result()``."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def result(self) -> Any:
        return self._result


def _device_backend(device: Device, snapshot_id: str | None, usage: _DeviceSeconds) -> Any:
    """A ``BackendV2`` whose ``run`` is ``run_experiments`` on ``device`` at ``snapshot_id``
    (its device seconds counted in ``usage``)."""
    from qiskit.providers import BackendV2, Options

    class DeviceBackend(BackendV2):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(name=device.name)

        @property
        def target(self) -> Any:
            return device.target(snapshot_id)

        @property
        def max_circuits(self) -> None:
            return None

        @classmethod
        def _default_options(cls) -> Any:
            return Options(shots=1024, memory=True, seed_simulator=None)

        def run(self, run_input: Any, **options: Any) -> Any:
            circuits = run_input if isinstance(run_input, list) else [run_input]
            seed = options.get("seed_simulator")
            return _Finished(
                usage.run(
                    device,
                    snapshot_id,
                    circuits,
                    shots=int(options.get("shots") or 1024),
                    memory=True,
                    seed_simulator=None if seed is None else int(seed),
                )
            )

    return DeviceBackend()


def _sample(
    device: Device,
    snapshot_id: str | None,
    pubs: list[Any],
    seed: int | None,
    usage: _DeviceSeconds,
) -> Any:
    from qiskit.primitives import BackendSamplerV2, PrimitiveResult

    results = []
    backend = _device_backend(device, snapshot_id, usage)
    for pub in pubs:
        options: dict[str, Any] = {}
        if seed is not None:
            options["seed_simulator"] = seed
        sampler = BackendSamplerV2(backend=backend, options=options)
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
    device: Device,
    snapshot_id: str | None,
    pubs: list[Any],
    level: int,
    seed: int | None,
    usage: _DeviceSeconds,
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
            aer_result = usage.run(
                device,
                snapshot_id,
                experiments,
                shots=shots,
                seed_simulator=None if seed is None else int(seed),
            )
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
