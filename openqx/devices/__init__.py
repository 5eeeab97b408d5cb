"""openqx.devices: the device catalog, calibration snapshots, targets, validation, noise.

Knows no HTTP or SQL. Importing the catalog is cheap (no qiskit import); devices load their
JSON on first access.
"""

from __future__ import annotations

from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.devices.device import Device
from openqx.devices.snapshots import CalibrationSnapshot

__all__ = ["CalibrationSnapshot", "Device", "DeviceCatalog", "default_catalog"]
