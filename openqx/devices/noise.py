"""Noise models built from calibration snapshots, full and reduced to a job's active qubits.

Converting a noise model is the dominant cost of a noisy Aer run and it grows with the qubits
the model covers (performance-notes §1-2): a 127-qubit model costs ~1.1 s per ``run`` call, the
same model reduced to 5 active qubits ~26 ms, with the same distribution. So each process builds
the full model once per snapshot and derives cached reduced models per active-qubit set.

Models follow the calibration history: each is keyed by its snapshot's id, so a job that runs
with a generated (drifted) or imported snapshot gets that snapshot's noise, and the caches are
bounded because a long-running process sees a new snapshot per device per recalibration.

The full model is ``NoiseModel.from_backend`` on a minimal ``BackendV2`` wrapping the device's
target, i.e. exactly what ``AerSimulator.from_backend(FakeXxxV2())`` builds: depolarizing +
thermal relaxation gate errors, readout errors, and the relaxation pass for delays.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from openqx.devices.device import Device
from openqx.devices.snapshots import CalibrationSnapshot

if TYPE_CHECKING:
    from qiskit.transpiler import Target
    from qiskit_aer.noise import NoiseModel

__all__ = [
    "FULL_CACHE_SIZE",
    "REDUCED_CACHE_SIZE",
    "full_noise_model",
    "reduced_noise_model",
    "target_backend",
]

REDUCED_CACHE_SIZE = 256
"""Reduced noise models kept per process (one per snapshot and active-qubit set)."""

FULL_CACHE_SIZE = 16
"""Full noise models kept per process (one per snapshot; up to ~2 s to build for 127 qubits)."""

_full_models: OrderedDict[str, NoiseModel] = OrderedDict()
_full_lock = threading.Lock()


def target_backend(target: Target, name: str) -> Any:
    """Return a minimal qiskit ``BackendV2`` exposing ``target`` (no ``run``)."""
    from qiskit.providers import BackendV2, Options

    class _TargetBackend(BackendV2):  # type: ignore[misc]
        @property
        def target(self) -> Target:
            return target

        @property
        def max_circuits(self) -> None:
            return None

        @classmethod
        def _default_options(cls) -> Options:
            return Options()

        def run(self, run_input: Any, **options: Any) -> Any:
            raise NotImplementedError("a target holder cannot run circuits")

    return _TargetBackend(name=name)


def _noisy_snapshot(device: Device, snapshot_id: str | None) -> CalibrationSnapshot:
    """The snapshot a noise model is built from (default: current).

    Raises:
        ValueError: the device is an ideal simulator.
        NotFoundError: ``snapshot_id`` names no snapshot of the device.
    """
    snapshot = device.resolve_snapshot(snapshot_id)
    if snapshot is None:
        if device.backend is not None:
            raise ValueError(
                f"backend {device.name!r} runs on its own qiskit backend: openqx builds no "
                "noise model for it"
            )
        raise ValueError(f"backend {device.name!r} is an ideal simulator: it has no noise model")
    return snapshot


def full_noise_model(device: Device, snapshot_id: str | None = None) -> NoiseModel:
    """Return the device's noise model for a snapshot (default: current), built once per process.

    Raises:
        ValueError: the device is an ideal simulator.
        NotFoundError: ``snapshot_id`` names no snapshot of the device.
    """
    snapshot = _noisy_snapshot(device, snapshot_id)
    key = f"{device.name}/{snapshot.id}"
    with _full_lock:
        model = _full_models.get(key)
        if model is not None:
            _full_models.move_to_end(key)
            return model
        from qiskit_aer.noise import NoiseModel

        backend = target_backend(device.target(snapshot.id), device.name)
        model = NoiseModel.from_backend(backend)
        _full_models[key] = model
        if len(_full_models) > FULL_CACHE_SIZE:
            _full_models.popitem(last=False)
    return model


def reduced_noise_model(
    device: Device, snapshot_id: str | None, active_qubits: frozenset[int]
) -> NoiseModel:
    """Return the device's noise model keeping only errors on ``active_qubits``.

    A gate or readout error stays when all of its qubits are active. The basis gates and the
    delay relaxation pass are kept. Results are cached (LRU, ``REDUCED_CACHE_SIZE`` entries)
    per (snapshot, active set); treat the returned model as read-only.

    Raises:
        ValueError: the device is an ideal simulator.
        NotFoundError: ``snapshot_id`` names no snapshot of the device.
    """
    return _reduced(device, _noisy_snapshot(device, snapshot_id).id, frozenset(active_qubits))


@functools.lru_cache(maxsize=REDUCED_CACHE_SIZE)
def _reduced(device: Device, snapshot_id: str, active: frozenset[int]) -> NoiseModel:
    from qiskit_aer.noise import NoiseModel

    full = full_noise_model(device, snapshot_id)
    reduced = NoiseModel(basis_gates=full.basis_gates)
    # NoiseModel has no public iterator over its per-qubit errors; these two dicts
    # ({name: {qubits: QuantumError}} and {qubits: ReadoutError}) are what to_dict() walks.
    for name, by_qubits in full._local_quantum_errors.items():
        for qubits, error in by_qubits.items():
            if active.issuperset(qubits):
                reduced.add_quantum_error(error, name, qubits, warnings=False)
    for qubits, readout in full._local_readout_errors.items():
        if active.issuperset(qubits):
            reduced.add_readout_error(readout, qubits, warnings=False)
    for name, error in full._default_quantum_errors.items():
        reduced.add_all_qubit_quantum_error(error, name, warnings=False)
    if full._default_readout_error is not None:
        reduced.add_all_qubit_readout_error(full._default_readout_error, warnings=False)
    reduced._custom_noise_passes = list(full._custom_noise_passes)
    return reduced
