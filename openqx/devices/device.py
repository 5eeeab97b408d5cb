"""One device of the catalog: configuration, calibration history and the targets built from them."""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from openqx.core import errors
from openqx.devices.snapshots import CalibrationSnapshot, parse_datetime

if TYPE_CHECKING:
    from qiskit.transpiler import Target

__all__ = ["Device"]


@dataclass(eq=False)
class Device:
    """A backend openqx can run jobs on: an ideal simulator or an emulated device.

    Devices compare and hash by identity (process-wide caches key on them).

    Attributes:
        name: catalog name (also ``configuration["backend_name"]``).
        configuration: IBM ``BackendConfiguration`` JSON.
        simulator: True for ideal simulators (no calibration, no noise).
        simulation_method: Aer method for simulators; ``None`` for emulated devices.
        snapshots: calibration history, oldest first; empty for ideal simulators.
        default_job_limit: active jobs allowed per user, ``None`` for no limit.
    """

    name: str
    configuration: dict[str, Any]
    simulator: bool
    simulation_method: str | None = None
    snapshots: list[CalibrationSnapshot] = field(default_factory=list)
    default_job_limit: int | None = None
    _targets: dict[str | None, Target] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.configuration["backend_name"] = self.name
        self.snapshots.sort(key=lambda s: s.last_update_date)

    @property
    def num_qubits(self) -> int:
        """Number of qubits of the device."""
        return int(self.configuration["n_qubits"])

    @property
    def max_shots(self) -> int:
        """Largest ``shots`` a job may ask for."""
        return int(self.configuration.get("max_shots") or 100_000)

    @property
    def max_experiments(self) -> int:
        """Largest number of circuits in one job."""
        return int(self.configuration.get("max_experiments") or 300)

    def current_snapshot(self) -> CalibrationSnapshot | None:
        """Return the newest calibration snapshot (``None`` for ideal simulators)."""
        return self.snapshots[-1] if self.snapshots else None

    def snapshot(self, snapshot_id: str) -> CalibrationSnapshot:
        """Return the snapshot with id ``snapshot_id``.

        Raises:
            NotFoundError: the device has no such snapshot.
        """
        for snap in self.snapshots:
            if snap.id == snapshot_id:
                return snap
        known = ", ".join(s.id for s in self.snapshots) or "none"
        raise errors.NotFoundError(
            f"Backend {self.name!r} has no calibration snapshot {snapshot_id!r} "
            f"(known snapshots: {known}).",
            backend=self.name,
            snapshot_id=snapshot_id,
        )

    def snapshot_before(self, when: datetime | str) -> CalibrationSnapshot | None:
        """Return the newest snapshot dated strictly before ``when``, or ``None``.

        Naive datetimes are taken to be UTC.
        """
        moment = parse_datetime(when)
        dates = [s.last_update_date for s in self.snapshots]
        index = bisect_left(dates, moment)
        return self.snapshots[index - 1] if index > 0 else None

    def target(self, snapshot_id: str | None = None) -> Target:
        """Return the (cached) qiskit ``Target`` for a snapshot (default: the current one).

        Raises:
            NotFoundError: ``snapshot_id`` names no snapshot of this device.
        """
        snap = self.resolve_snapshot(snapshot_id)
        key = snap.id if snap else None
        with self._lock:
            cached = self._targets.get(key)
            if cached is None:
                # Imported here: it pulls in qiskit, and listing the catalog must stay cheap.
                from openqx.core import targets as core_targets

                props = snap.properties if snap else None
                cached = core_targets.build_target(self.configuration, props)
                self._targets[key] = cached
        return cached

    def resolve_snapshot(self, snapshot_id: str | None) -> CalibrationSnapshot | None:
        """Return the snapshot a job with ``snapshot_id`` runs with (``None``: the current one).

        Ideal simulators always answer ``None``.

        Raises:
            NotFoundError: ``snapshot_id`` names no snapshot of this device.
        """
        if self.simulator:
            return None
        if snapshot_id is None:
            return self.current_snapshot()
        return self.snapshot(snapshot_id)
