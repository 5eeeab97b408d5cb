"""The device catalog: every backend by name, each built lazily on first access."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from openqx.core import errors
from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices import fake_import, simulators
from openqx.devices.device import Device
from openqx.devices.drift import DriftModel
from openqx.devices.snapshots import CalibrationSnapshot

__all__ = [
    "DEFAULT_DEVICE_JOB_LIMIT",
    "DEFAULT_DRIFT",
    "EMULATED_DEVICES",
    "CalibrationSnapshot",
    "Device",
    "DeviceCatalog",
    "add_fake_devices",
    "add_simulators",
    "default_catalog",
]

# One device per family, the ones tests and benchmarks name (the catalog serves every device of
# the fake provider: ``fake_import.fake_device_folders()``).
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
DEFAULT_DRIFT = DriftModel()
"""The drift model of emulated devices: daily recalibrations (``docs/devices.md``)."""


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

    def add(self, device: Device) -> None:
        """Register an already built device under its name."""
        with self._lock:
            self._devices[device.name] = device
            self._loaders.pop(device.name, None)

    def remove(self, name: str) -> None:
        """Forget device ``name`` (no error when it is not there)."""
        with self._lock:
            self._devices.pop(name, None)
            self._loaders.pop(name, None)

    def is_loaded(self, name: str) -> bool:
        """Whether device ``name`` has been built (``False`` while only its loader is known)."""
        return name in self._devices

    def __contains__(self, name: object) -> bool:
        return name in self._devices or name in self._loaders


def add_simulators(catalog: DeviceCatalog) -> None:
    """Register the ideal cloud simulators (lazily)."""
    for spec in simulators.SIMULATOR_SPECS:
        catalog.add_lazy(spec.name, functools.partial(simulators.simulator_device, spec))


def add_fake_devices(
    catalog: DeviceCatalog,
    folders: dict[str, str] | None = None,
    drift: DriftModel | None = DEFAULT_DRIFT,
    clock: Clock = SYSTEM_CLOCK,
    job_limits: dict[str, int | None] | None = None,
) -> None:
    """Register devices of qiskit-ibm-runtime's fake provider (lazily: no JSON is read).

    Args:
        catalog: where to register them.
        folders: ``{name: folder}`` to register (default: every device of the fake provider).
        drift: the drift model of their histories (``None``: real snapshots only).
        clock: what "now" is for their histories.
        job_limits: per-device active job limit (default ``DEFAULT_DEVICE_JOB_LIMIT``).
    """
    chosen = fake_import.fake_device_folders() if folders is None else folders
    limits = job_limits or {}
    for name, folder in chosen.items():
        catalog.add_lazy(
            name,
            functools.partial(
                fake_import.load_fake_device,
                name,
                folder,
                limits.get(name, DEFAULT_DEVICE_JOB_LIMIT),
                drift,
                clock,
            ),
        )


@functools.cache
def default_catalog() -> DeviceCatalog:
    """Return the process-wide catalog: the ideal simulators and every emulated device of
    qiskit-ibm-runtime's fake provider, with daily drift (``DEFAULT_DRIFT``)."""
    catalog = DeviceCatalog()
    add_simulators(catalog)
    add_fake_devices(catalog)
    return catalog
