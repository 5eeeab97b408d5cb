"""Which Aer device (``CPU`` or ``GPU``) a simulator job may run on, on this worker.

The ``device`` run option of an ideal simulator (``backend.run(circuits, device="GPU")``) asks
Aer for its GPU simulator, which exists only where ``qiskit-aer-gpu`` is installed on a machine
with a CUDA GPU. The server cannot know what its workers have (they may be Dask workers on
other machines), so the worker checks: a job asking for a device its Aer does not offer fails
with ``device_unavailable`` and a message that says what to install, instead of Aer's own error
or a silent fall back to the CPU.

``qiskit-aer-gpu`` lists ``GPU`` among its devices also where no CUDA GPU can be reached (no
card, no driver), and a job then fails inside Aer ("No CUDA device available!"). So a worker
whose Aer lists ``GPU`` runs one 1-qubit shot on it, once per process, before it believes it.
"""

from __future__ import annotations

import functools

from openqx.execution.port import ExecutionError

__all__ = ["DEVICE_UNAVAILABLE", "available_aer_devices", "check_aer_device", "gpu_problem"]

DEVICE_UNAVAILABLE = "device_unavailable"
"""``ExecutionError.code`` of a job asking for an Aer device this worker does not have."""


@functools.cache
def _listed_devices() -> tuple[str, ...]:
    """The devices this Aer was built with (``AerSimulator().available_devices()``)."""
    from qiskit_aer import AerSimulator

    return tuple(str(d) for d in AerSimulator().available_devices())


@functools.cache
def available_aer_devices() -> tuple[str, ...]:
    """The devices Aer offers in this process, e.g. ``("CPU",)`` or ``("CPU", "GPU")``:
    those it was built with, without ``GPU`` when its simulator cannot run here
    (``gpu_problem``)."""
    listed = _listed_devices()
    if "GPU" in listed and gpu_problem() is not None:
        return tuple(d for d in listed if d != "GPU")
    return listed


@functools.cache
def gpu_problem() -> str | None:
    """Why a GPU job cannot run in this process (Aer's words when its GPU simulator failed a
    1-qubit circuit), or None when it can."""
    if "GPU" not in _listed_devices():
        return "this worker's Aer has no GPU simulator (qiskit-aer, not qiskit-aer-gpu)"
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    probe = QuantumCircuit(1)
    probe.h(0)
    probe.measure_all()
    try:
        result = AerSimulator(method="statevector", device="GPU").run(probe, shots=1).result()
    except Exception as error:  # Aer's own errors, whatever kept it from the GPU
        return str(error) or type(error).__name__
    return None if result.success else str(result.status)


def check_aer_device(device: str) -> None:
    """Refuse ``device`` unless this worker's Aer offers it.

    Raises:
        ExecutionError: ``device_unavailable``, naming the device and what is available.
    """
    available = available_aer_devices()
    if device in available:
        return
    hint = ""
    if device == "GPU":
        hint = (
            f" (its qiskit-aer-gpu cannot reach a GPU: {gpu_problem()})"
            if "GPU" in _listed_devices()
            else " (install qiskit-aer-gpu instead of qiskit-aer on a worker with an NVIDIA GPU "
            "and CUDA, and start that Dask worker with --resources GPU=1)"
        )
    raise ExecutionError(
        f"Aer device {device!r} is not available on this worker: it offers "
        f"{', '.join(available)}{hint}.",
        DEVICE_UNAVAILABLE,
    )
