"""Which calibration a job runs with: the snapshot in force when it starts.

The dispatcher asks ``JobCalibration.snapshot_id(backend)`` right before it claims a job, and
the store records that id on the job in the claim's transaction, so ``job.properties()`` is
exactly the snapshot the job ran with (not the one in force at submission). ``setup`` is what
travels to the worker so that it resolves the same id (``devices.worker_setup``).
"""

from __future__ import annotations

import logging

from openqx.core import errors
from openqx.devices.catalog import DeviceCatalog
from openqx.devices.catalog_config import CatalogConfig
from openqx.devices.worker_setup import DeviceSetup

__all__ = ["JobCalibration"]

logger = logging.getLogger(__name__)


class JobCalibration:
    """The snapshot a job starts with, and the device setup its worker needs.

    Args:
        catalog: the server's devices.
        config: the configuration the catalog was built from; ``None`` when workers use a
            catalog of their own (tests, the process-wide default catalog).
    """

    def __init__(self, catalog: DeviceCatalog, config: CatalogConfig | None = None) -> None:
        self.catalog = catalog
        self.config = config

    def snapshot_id(self, backend: str) -> str | None:
        """The id of ``backend``'s snapshot in force now (``None``: simulator or unknown
        device; the job then keeps what it was submitted with)."""
        try:
            return self.catalog.get(backend).current_snapshot_id()
        except errors.BackendNotFoundError:
            return None

    def setup(self, backend: str, snapshot_id: str | None) -> DeviceSetup | None:
        """What a worker needs to run ``backend`` with ``snapshot_id`` (``None`` when workers
        use their own catalog)."""
        if self.config is None:
            return None
        if snapshot_id is not None and backend in self.catalog:
            history = self.catalog.get(backend).history
            anchor = history.anchor_of(snapshot_id)
            if anchor is not None and history.is_imported(anchor.id):
                return DeviceSetup(self.config, anchor.properties, anchor.id)
        return DeviceSetup(self.config)
