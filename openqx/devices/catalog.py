"""The device catalog: every backend by name, each built lazily on first access."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from openqx.core import errors
from openqx.devices import fake_import, simulators
from openqx.devices.device import Device
from openqx.devices.snapshots import CalibrationSnapshot

__all__ = [
    "DEFAULT_DEVICE_JOB_LIMIT",
    "EMULATED_DEVICES",
    "CalibrationSnapshot",
    "Device",
    "DeviceCatalog",
    "default_catalog",
]

# catalog name -> folder under qiskit_ibm_runtime/fake_provider/backends
EMULATED_DEVICES: dict[str, str] = {
    "fake_manila": "manila",  # 5 q, Falcon, cx
    "fake_perth": "perth",  # 7 q, Falcon r5.11H, cx
    "fake_kolkata": "kolkata",  # 27 q, Falcon r5.11, cx
    "fake_sherbrooke": "sherbrooke",  # 127 q, Eagle r3, ecr
    "fake_torino": "torino",  # 133 q, Heron r1, cz
    "fake_fez": "fez",  # 156 q, Heron r2, cz
}
DEFAULT_DEVICE_JOB_LIMIT = 5
"""Active jobs per user on an emulated device (simulators have no limit)."""


class DeviceCatalog:
    """Devices by name; a device given as a loader is built on its first ``get``."""

    def __init__(self) -> None:
        self._loaders: dict[str, Callable[[], Device]] = {}
        self._devices: dict[str, Device] = {}
        self._lock = threading.Lock()

    def add_lazy(self, name: str, loader: Callable[[], Device]) -> None:
        """Register ``loader`` to build device ``name`` on first access."""
        with self._lock:
            self._loaders[name] = loader
            self._devices.pop(name, None)

    def get(self, name: str) -> Device:
        """Return device ``name``.

        Raises:
            BackendNotFoundError: no device has that name.
        """
        device = self._devices.get(name)
        if device is not None:
            return device
        with self._lock:
            device = self._devices.get(name)
            if device is None:
                loader = self._loaders.get(name)
                if loader is None:
                    raise errors.BackendNotFoundError(name)
                device = loader()
                self._devices[name] = device
                del self._loaders[name]
        return device

    def names(self) -> list[str]:
        """Return every device name, sorted, without loading any device."""
        return sorted({*self._devices, *self._loaders})

    def devices(self) -> list[Device]:
        """Return every device (loading those not loaded yet), sorted by name."""
        return [self.get(name) for name in self.names()]


@functools.cache
def default_catalog() -> DeviceCatalog:
    """Return the process-wide catalog: the ideal simulators and the emulated devices."""
    catalog = DeviceCatalog()
    for spec in simulators.SIMULATOR_SPECS:
        catalog.add_lazy(spec.name, functools.partial(simulators.simulator_device, spec))
    for name, folder in EMULATED_DEVICES.items():
        catalog.add_lazy(
            name,
            functools.partial(fake_import.load_fake_device, name, folder, DEFAULT_DEVICE_JOB_LIMIT),
        )
    return catalog
