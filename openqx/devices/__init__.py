"""openqx.devices: the device catalog, calibration histories, targets, validation, noise.

Knows no HTTP or SQL. Importing the catalog is cheap (no qiskit or numpy import); devices load
their JSON on first access, and calibration snapshots are generated when asked for.
"""

from __future__ import annotations

from openqx.devices.backend_devices import ENTRY_POINT_GROUP, load_entry_point_devices
from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.devices.catalog_config import CatalogConfig, build_catalog
from openqx.devices.custom import DeviceConfigError, load_custom_device
from openqx.devices.device import Device
from openqx.devices.drift import DriftModel
from openqx.devices.history import CalibrationHistory, SnapshotConflictError
from openqx.devices.properties_check import InvalidPropertiesError
from openqx.devices.pulse_defaults import PulseDefaults, honest_configuration
from openqx.devices.snapshots import CalibrationSnapshot

__all__ = [
    "ENTRY_POINT_GROUP",
    "CalibrationHistory",
    "CalibrationSnapshot",
    "CatalogConfig",
    "Device",
    "DeviceCatalog",
    "DeviceConfigError",
    "DriftModel",
    "InvalidPropertiesError",
    "PulseDefaults",
    "SnapshotConflictError",
    "build_catalog",
    "default_catalog",
    "honest_configuration",
    "load_custom_device",
    "load_entry_point_devices",
]
