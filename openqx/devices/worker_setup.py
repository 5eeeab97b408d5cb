"""The devices a worker process needs to run a job exactly as the server planned it.

A server builds its catalog from a ``CatalogConfig`` (``build_catalog``) and may hold
calibration snapshots an administrator imported. A worker is another interpreter (or another
machine): it rebuilds the same catalog from the same configuration (picklable, cached per
process) and adds the imported snapshot the job's calibration comes from, so the snapshot id
the job recorded at its start resolves to the same numbers there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from openqx.devices.catalog import DeviceCatalog
from openqx.devices.catalog_config import CatalogConfig, build_catalog
from openqx.devices.device import Device

__all__ = ["WORKER_CATALOG_CACHE_SIZE", "DeviceSetup", "worker_catalog", "worker_device"]

WORKER_CATALOG_CACHE_SIZE = 4
"""Catalogs a worker process keeps, one per distinct configuration (normally one)."""

_catalogs: dict[str, DeviceCatalog] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class DeviceSetup:
    """What travels with a job to its worker.

    Attributes:
        config: the server's catalog configuration.
        imported: the ``BackendProperties`` JSON of the imported real snapshot the job's
            calibration derives from (``None`` when it is one the catalog builds itself).
        imported_id: that snapshot's id: a worker that already holds it does not validate
            and import it again (~0.1 s per job for a 127-qubit device).
    """

    config: CatalogConfig
    imported: dict[str, Any] | None = None
    imported_id: str | None = None


def worker_catalog(config: CatalogConfig) -> DeviceCatalog:
    """The catalog built from ``config`` in this process (built once, then reused)."""
    key = repr(config)
    with _lock:
        catalog = _catalogs.get(key)
        if catalog is None:
            catalog = build_catalog(config)
            if len(_catalogs) >= WORKER_CATALOG_CACHE_SIZE:
                _catalogs.pop(next(iter(_catalogs)))
            _catalogs[key] = catalog
    return catalog


def worker_device(setup: DeviceSetup, backend: str) -> Device:
    """Device ``backend`` of ``setup``'s catalog, with ``setup.imported`` in its history.

    Raises:
        BackendNotFoundError: the catalog has no such device.
        InvalidPropertiesError: the imported snapshot does not fit the device.
    """
    device = worker_catalog(setup.config).get(backend)
    if setup.imported is not None and not device.simulator and not _holds(device, setup):
        device.import_properties(setup.imported)  # idempotent: same content, same snapshot
    return device


def _holds(device: Device, setup: DeviceSetup) -> bool:
    """Whether ``device`` already has the imported snapshot (ids are content hashes)."""
    if setup.imported_id is None:
        return False
    anchor = device.history.anchor_of(setup.imported_id)
    return anchor is not None and anchor.id == setup.imported_id
