"""Which Aer device (``CPU`` or ``GPU``) a simulator job may run on, on this worker.

The ``device`` run option of an ideal simulator (``backend.run(circuits, device="GPU")``) asks
Aer for its GPU simulator, which exists only where ``qiskit-aer-gpu`` is installed on a machine
with a CUDA GPU. The server cannot know what its workers have (they may be Dask workers on
other machines), so the worker checks: a job asking for a device its Aer does not offer fails
with ``device_unavailable`` and a message that says what to install, instead of Aer's own error
or a silent fall back to the CPU.
"""

from __future__ import annotations

import functools

from openqx.execution.port import ExecutionError

__all__ = ["DEVICE_UNAVAILABLE", "available_aer_devices", "check_aer_device"]

DEVICE_UNAVAILABLE = "device_unavailable"
"""``ExecutionError.code`` of a job asking for an Aer device this worker does not have."""


@functools.cache
def available_aer_devices() -> tuple[str, ...]:
    """The devices Aer offers in this process (``AerSimulator().available_devices()``),
    e.g. ``("CPU",)`` or ``("CPU", "GPU")``."""
    from qiskit_aer import AerSimulator

    return tuple(str(d) for d in AerSimulator().available_devices())


def check_aer_device(device: str) -> None:
    """Refuse ``device`` unless this worker's Aer offers it.

    Raises:
        ExecutionError: ``device_unavailable``, naming the device and what is available.
    """
    available = available_aer_devices()
    if device in available:
        return
    hint = (
        " (install qiskit-aer-gpu instead of qiskit-aer on a worker with an NVIDIA GPU and "
        "CUDA, and start that Dask worker with --resources GPU=1)"
        if device == "GPU"
        else ""
    )
    raise ExecutionError(
        f"Aer device {device!r} is not available on this worker: it offers "
        f"{', '.join(available)}{hint}.",
        DEVICE_UNAVAILABLE,
    )
