"""Aer simulators per device, snapshot and active-qubit set, cached in the process.

Building a noisy simulator costs the noise-model build (once per snapshot, see
``openqx.devices.noise``); a cached simulator then runs with a model that covers only the
job's active qubits, so each ``run`` converts a small model, and for a density matrix one
whose errors are single Kraus channels (``compact_noise``), which Aer converts ~10x faster.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from openqx.devices import noise
from openqx.devices.device import Device
from openqx.execution import circuits as circuit_tools
from openqx.execution import compact_noise

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit
    from qiskit_aer import AerSimulator

__all__ = [
    "DENSITY_MATRIX_MAX_QUBITS",
    "SIMULATOR_CACHE_SIZE",
    "SINGLE_THREAD_MAX_QUBITS",
    "noisy_method",
    "readout_free_simulator",
    "simulator_for",
    "threads_for",
    "threads_for_circuits",
]

SIMULATOR_CACHE_SIZE = 128
"""Simulators kept per process."""

DENSITY_MATRIX_MAX_QUBITS = 12
"""Up to this many active qubits a noisy job runs as a density matrix, above it as trajectories
on a statevector. Measured on fake_kolkata GHZ, 2000 shots: 10 active qubits 160 ms as density
matrix vs 379 ms as statevector; a 12-qubit density matrix is 256 MiB, a 13-qubit one 1 GiB."""

SINGLE_THREAD_MAX_QUBITS = 7
"""Up to this many active qubits a simulation runs on one thread (noisy simulators and ideal
runs without user options): Aer does not split so small a state across threads (its
``statevector_parallel_threshold`` is 14 amplitude qubits, a 7-qubit density matrix), yet its
idle OpenMP threads spin and, on a machine busy with other workers, wait for cores. Measured
on 2 cores at load ~8, median (minimum): fake_manila GHZ-5 62.6 ms (3.2) with Aer's default
threads, 15.8 ms (3.2) with one; the ideal simulator's GHZ-5 18.8 ms (1.6) and 9.8 ms (1.8)."""

_lock = threading.Lock()


def _frozen(model: Any) -> Any:
    """Return ``model`` as a noise model whose serialised form is computed once.

    Aer serialises the noise model on every ``run`` (``to_dict(serializable=True)``: a walk of
    every error and a JSON round trip), more than half of a small noisy run. A cached
    simulator's model never changes, so the dict is kept; a copy or a pickle (Aer deep-copies
    the model when circuits carry their own errors) is a plain, mutable ``NoiseModel`` again.
    """
    cls: Any = _frozen_class()
    frozen = cls.__new__(cls)
    frozen.__dict__.update(model.__dict__)
    frozen._serialised = {}
    return frozen


def _plain_noise_model(state: dict[str, Any]) -> Any:
    from qiskit_aer.noise import NoiseModel

    plain = NoiseModel.__new__(NoiseModel)
    plain.__dict__.update(state)
    return plain


@functools.cache
def _frozen_class() -> type:
    from qiskit_aer.noise import NoiseModel

    class FrozenNoiseModel(NoiseModel):  # type: ignore[misc]
        _serialised: dict[bool, Any]

        def to_dict(self, serializable: bool = False) -> Any:
            if serializable not in self._serialised:
                self._serialised[serializable] = super().to_dict(serializable)
            return self._serialised[serializable]

        def _state(self) -> dict[str, Any]:
            return {k: v for k, v in self.__dict__.items() if k != "_serialised"}

        def __deepcopy__(self, memo: dict[int, Any]) -> Any:
            return _plain_noise_model(copy.deepcopy(self._state(), memo))

        def __copy__(self) -> Any:
            return _plain_noise_model(dict(self._state()))

        def __reduce__(self) -> Any:
            return (_plain_noise_model, (self._state(),))

    return FrozenNoiseModel


def noisy_method(num_active: int) -> str:
    """Return the Aer method for a noisy job with ``num_active`` active qubits."""
    return "density_matrix" if num_active <= DENSITY_MATRIX_MAX_QUBITS else "statevector"


def simulator_for(device: Device, snapshot_id: str | None, active: frozenset[int]) -> AerSimulator:
    """Return the (cached) simulator for a job on ``device``.

    Ideal simulators run with the device's Aer method; emulated devices with the snapshot's
    noise model reduced to ``active``.

    Raises:
        NotFoundError: ``snapshot_id`` names no snapshot of the device.
    """
    snapshot = device.resolve_snapshot(snapshot_id)
    if snapshot is None:
        return _cached(device, None, frozenset())
    return _cached(device, snapshot.id, frozenset(active))


@functools.lru_cache(maxsize=SIMULATOR_CACHE_SIZE)
def _cached(device: Device, snapshot_id: str | None, active: frozenset[int]) -> AerSimulator:
    from qiskit_aer import AerSimulator

    with _lock:
        if snapshot_id is None:
            return AerSimulator(method=device.simulation_method or "automatic")
        method = noisy_method(len(active))
        model = _for_method(noise.reduced_noise_model(device, snapshot_id, active), method)
        return AerSimulator(method=method, noise_model=_frozen(model), **threads_for(active))


def readout_free_simulator(
    device: Device, snapshot_id: str, active: frozenset[int]
) -> AerSimulator:
    """Return the (cached) simulator of an emulated device's snapshot without readout errors.

    Jobs on emulated devices measure ideally in Aer and apply the snapshot's (asymmetric)
    readout afterwards (``openqx.execution.readout``), so the true post-measurement outcomes
    stay known (``init_qubits=False`` needs them) and kerneled readout has something to blur.

    Raises:
        NotFoundError: ``snapshot_id`` names no snapshot of the device.
    """
    snapshot = device.resolve_snapshot(snapshot_id)
    if snapshot is None:
        return _cached(device, None, frozenset())
    return _cached_readout_free(device, snapshot.id, frozenset(active))


@functools.lru_cache(maxsize=SIMULATOR_CACHE_SIZE)
def _cached_readout_free(device: Device, snapshot_id: str, active: frozenset[int]) -> AerSimulator:
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    with _lock:
        reduced = noise.reduced_noise_model(device, snapshot_id, active)
        method = noisy_method(len(active))
        if method == "density_matrix":
            model = compact_noise.compact_noise_model(reduced, readout=False)
        else:
            model = NoiseModel(basis_gates=reduced.basis_gates)
            # The same private dicts noise.reduced_noise_model walks; readout errors left out.
            for name, by_qubits in reduced._local_quantum_errors.items():
                for qubits, error in by_qubits.items():
                    model.add_quantum_error(error, name, qubits, warnings=False)
            for name, error in reduced._default_quantum_errors.items():
                model.add_all_qubit_quantum_error(error, name, warnings=False)
            model._custom_noise_passes = list(reduced._custom_noise_passes)
        return AerSimulator(method=method, noise_model=_frozen(model), **threads_for(active))


def threads_for(active: frozenset[int]) -> dict[str, Any]:
    """Aer's thread options for a simulation of circuits on ``active`` qubits: one thread up
    to ``SINGLE_THREAD_MAX_QUBITS``, Aer's default (every core) above."""
    if len(active) <= SINGLE_THREAD_MAX_QUBITS:
        return {"max_parallel_threads": 1}
    return {}


def threads_for_circuits(circuits: Iterable[QuantumCircuit]) -> dict[str, Any]:
    """``threads_for`` the qubits ``circuits`` act on, read only until more than
    ``SINGLE_THREAD_MAX_QUBITS`` are found (``circuits.active_qubits``' ``beyond``)."""
    return threads_for(circuit_tools.active_qubits(circuits, beyond=SINGLE_THREAD_MAX_QUBITS))


def _for_method(model: Any, method: str) -> Any:
    """``model`` in the form Aer converts fastest for ``method``: one Kraus channel per error
    for a density matrix (``compact_noise``), the mixtures as built for trajectories."""
    if method == "density_matrix":
        return compact_noise.compact_noise_model(model)
    return model
