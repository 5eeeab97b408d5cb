"""One device of the catalog: configuration, calibration history and the targets built from them."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from openqx.core import errors
from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices.drift import DriftModel
from openqx.devices.history import CalibrationHistory
from openqx.devices.pulse_defaults import PulseDefaults, pulse_defaults
from openqx.devices.snapshots import CalibrationSnapshot

if TYPE_CHECKING:
    from qiskit.providers import BackendV2
    from qiskit.transpiler import Target

TARGET_CACHE_SIZE = 8
"""Targets kept per device (one per snapshot; a 127-qubit target takes ~2 s to build)."""

DEFAULTS_CACHE_SIZE = 32
"""Pulse defaults kept per device (one per snapshot; computing them walks the snapshot's
qubit table, ~0.1 ms on a 127-qubit device, and every emulated job reads them)."""

__all__ = ["DEFAULTS_CACHE_SIZE", "TARGET_CACHE_SIZE", "Device"]

_V = TypeVar("_V")


class _PerSnapshot(Generic[_V]):
    """Values built once per snapshot id (``None``: the current calibration), the ``size``
    used last kept; thread-safe (a value is built under the lock, once)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[str | None, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str | None, build: Callable[[], _V]) -> _V:
        """The value of ``key``, built by ``build`` when not kept."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            value = self._values[key] = build()
            if len(self._values) > self._size:
                self._values.popitem(last=False)
            return value


@dataclass(eq=False)
class Device:
    """A backend openqx can run jobs on: an ideal simulator or an emulated device.

    Devices compare and hash by identity (process-wide caches key on them).

    Attributes:
        name: catalog name (also ``configuration["backend_name"]``).
        configuration: IBM ``BackendConfiguration`` JSON.
        simulator: True for ideal simulators (no calibration, no noise).
        simulation_method: Aer method for simulators; ``None`` for emulated devices.
        snapshots: the real calibration snapshots (anchors of ``history``), oldest first;
            empty for ideal simulators. Shared with ``history``, which keeps it sorted and
            adds imported snapshots to it.
        default_job_limit: active jobs allowed per user, ``None`` for no limit.
        drift: the model generating recalibrations between and after the real snapshots;
            ``None``: the history holds the real snapshots only.
        clock: what "now" is for the history.
        backend: a foreign qiskit ``BackendV2`` that runs this device's jobs (devices served
            through the ``openqx.devices`` entry point); ``None`` for devices openqx emulates.
        history: the calibration history (built from the fields above).
    """

    name: str
    configuration: dict[str, Any]
    simulator: bool
    simulation_method: str | None = None
    snapshots: list[CalibrationSnapshot] = field(default_factory=list)
    default_job_limit: int | None = None
    drift: DriftModel | None = field(default=None, repr=False)
    clock: Clock = field(default=SYSTEM_CLOCK, repr=False)
    backend: BackendV2 | None = field(default=None, repr=False)
    history: CalibrationHistory = field(init=False, repr=False)
    _targets: _PerSnapshot[Target] = field(
        default_factory=lambda: _PerSnapshot(TARGET_CACHE_SIZE),
        init=False,
        repr=False,
        compare=False,
    )
    _defaults: _PerSnapshot[PulseDefaults | None] = field(
        default_factory=lambda: _PerSnapshot(DEFAULTS_CACHE_SIZE),
        init=False,
        repr=False,
        compare=False,
    )

    def __post_init__(self) -> None:
        self.configuration["backend_name"] = self.name
        self.history = CalibrationHistory(
            self.name,
            self.snapshots,
            model=None if self.simulator else self.drift,
            clock=self.clock,
            num_qubits=None if self.simulator else self.num_qubits,
        )

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
        """Return the snapshot in force now (``None`` for ideal simulators)."""
        return self.history.current()

    def current_snapshot_id(self) -> str | None:
        """Return the id of the snapshot in force now without generating it (cheap)."""
        return self.history.current_id()

    def snapshot(self, snapshot_id: str) -> CalibrationSnapshot:
        """Return the snapshot with id ``snapshot_id`` (real or generated).

        Raises:
            NotFoundError: the device has no such snapshot.
        """
        snap = self.history.get(snapshot_id)
        if snap is not None:
            return snap
        known = ", ".join(s.id for s in self.history.anchors) or "none"
        raise errors.NotFoundError(
            f"Backend {self.name!r} has no calibration snapshot {snapshot_id!r} "
            f"(real snapshots: {known}).",
            backend=self.name,
            snapshot_id=snapshot_id,
        )

    def snapshot_at(self, when: datetime | str) -> CalibrationSnapshot | None:
        """Return the snapshot in force at ``when`` (dated at or before it), or ``None``.

        Naive datetimes are taken to be UTC.
        """
        return self.history.snapshot_at(when)

    def snapshot_before(self, when: datetime | str) -> CalibrationSnapshot | None:
        """Return the newest snapshot dated strictly before ``when``, or ``None``.

        This is the seed's ``properties(datetime=...)`` rule. Naive datetimes are taken to be
        UTC.
        """
        return self.history.snapshot_before(when)

    def snapshots_between(
        self, start: datetime | str, end: datetime | str
    ) -> list[CalibrationSnapshot]:
        """Return every snapshot dated in ``[start, end]`` and not after now, oldest first."""
        return self.history.snapshots_between(start, end)

    def import_properties(self, properties: dict[str, Any]) -> CalibrationSnapshot:
        """Validate a real ``BackendProperties`` JSON dict and add it to the history.

        Raises:
            InvalidInputError: the device is an ideal simulator.
            InvalidPropertiesError: a field is malformed (named in the message); nothing stored.
            SnapshotConflictError: a different snapshot has the same date.
        """
        if self.simulator:
            raise errors.InvalidInputError(
                f"Backend {self.name!r} is an ideal simulator: it has no calibration history."
            )
        return self.history.import_properties(properties)

    def defaults(self, snapshot_id: str | None = None) -> PulseDefaults | None:
        """Return the pulse defaults for a snapshot (default: current); ``None`` for
        simulators and devices without frequency calibration.

        They are computed once per snapshot (``DEFAULTS_CACHE_SIZE`` kept); each call returns
        its own copy, so a caller that changes it changes nobody else's.

        Raises:
            NotFoundError: ``snapshot_id`` names no snapshot of this device.
        """
        if self.simulator:
            return None
        snap = self.resolve_snapshot(snapshot_id)
        cached = self._defaults.get(
            snap.id if snap else None,
            lambda: pulse_defaults(self.configuration, snap.properties if snap else None),
        )
        return None if cached is None else _own_copy(cached)

    def target(self, snapshot_id: str | None = None) -> Target:
        """Return the (cached) qiskit ``Target`` for a snapshot (default: the current one).

        Raises:
            NotFoundError: ``snapshot_id`` names no snapshot of this device.
        """
        if self.backend is not None:
            foreign: Target = self.backend.target
            return foreign
        snap = self.resolve_snapshot(snapshot_id)

        def build() -> Target:
            # Imported here: it pulls in qiskit, and listing the catalog must stay cheap.
            from openqx.core import targets as core_targets

            return core_targets.build_target(self.configuration, snap.properties if snap else None)

        return self._targets.get(snap.id if snap else None, build)

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


def _own_copy(defaults: PulseDefaults) -> PulseDefaults:
    """A copy of (cached) pulse defaults that shares no mutable part with them."""
    return dataclasses.replace(
        defaults,
        qubit_freq_est=list(defaults.qubit_freq_est),
        meas_freq_est=list(defaults.meas_freq_est),
        pulse_library=copy.deepcopy(defaults.pulse_library),
        cmd_def=copy.deepcopy(defaults.cmd_def),
        meas_kernel=copy.deepcopy(defaults.meas_kernel),
        discriminator=copy.deepcopy(defaults.discriminator),
    )
