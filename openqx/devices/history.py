"""A device's calibration history: real snapshots, and the recalibrations generated between them.

The series is piecewise. Each *anchor* (the snapshot shipped with the device, or one an
administrator imported) starts a segment; with a drift model, recalibration ``k`` of a segment
is dated ``anchor + k * period`` and exists while that date is before the next anchor and not
after now. Nothing is generated until asked for, and each generated snapshot is a pure
function of its anchor, the model and ``k`` (see ``openqx.devices.drift``), so:

* its id, ``"<anchor id>.<model fingerprint>.<k>"``, is enough to rebuild exactly that
  snapshot later, in any process (a job records the id it ran with); the fingerprint names
  the model's version too, and ids of every version in ``drift.MODEL_VERSIONS`` resolve;
* real snapshots keep their content-hash ids (``CalibrationSnapshot.from_properties``).

Time rules: ``snapshot_at(t)`` is the snapshot in force at ``t`` (the newest dated at or before
``t``); ``snapshot_before(t)`` the newest dated strictly before ``t`` (what the seed's
``properties(datetime=t)`` returns). Both answer ``None`` before the first snapshot, and never
return a snapshot dated after now.
"""

from __future__ import annotations

import functools
import math
import threading
from bisect import bisect_right, insort
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from openqx.core import errors
from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices import drift
from openqx.devices.properties_check import check_properties
from openqx.devices.snapshots import CalibrationSnapshot, parse_datetime

__all__ = ["GENERATED_CACHE_SIZE", "CalibrationHistory", "SnapshotConflictError"]

GENERATED_CACHE_SIZE = 64
"""Generated snapshots kept per history (each is a few hundred kB for a 156-qubit device)."""

_ONE_US = timedelta(microseconds=1)


class SnapshotConflictError(errors.InvalidInputError, ValueError):
    """A different snapshot with the same date is already in the history."""

    code = "invalid_input"


class CalibrationHistory:
    """The calibration snapshots of one device over time.

    Args:
        device_name: the device (part of the drift seed).
        anchors: real snapshots; kept sorted by date in place (the device shares this list).
        model: the drift model; ``None`` for a history of real snapshots only.
        clock: what "now" is (snapshots dated after now do not exist yet).
        num_qubits: when given, imported snapshots must describe this many qubits.
    """

    def __init__(
        self,
        device_name: str,
        anchors: list[CalibrationSnapshot],
        model: drift.DriftModel | None = None,
        clock: Clock = SYSTEM_CLOCK,
        num_qubits: int | None = None,
    ) -> None:
        self.device_name = device_name
        self.model = model
        self.clock = clock
        self.num_qubits = num_qubits
        anchors.sort(key=lambda s: s.last_update_date)
        self._anchors = anchors
        self._built = {a.id for a in anchors}
        self._lock = threading.RLock()
        self._generated: OrderedDict[str, CalibrationSnapshot] = OrderedDict()
        self._parsed: dict[str, drift.AnchorData] = {}

    # ----------------------------------------------------------------------------- queries

    @property
    def anchors(self) -> list[CalibrationSnapshot]:
        """The real snapshots, oldest first (a copy)."""
        with self._lock:
            return list(self._anchors)

    def current(self) -> CalibrationSnapshot | None:
        """The snapshot in force now; ``None`` only when the history is empty.

        When now is before the first real snapshot (a clock set in the past, a snapshot from
        the future), the first real snapshot is current: a device with calibration data always
        runs with some calibration. ``snapshot_at`` keeps the strict rule.
        """
        found = self.snapshot_at(self.clock.now())
        if found is None:
            with self._lock:
                return self._anchors[0] if self._anchors else None
        return found

    def snapshot_at(self, when: datetime | str) -> CalibrationSnapshot | None:
        """The snapshot in force at ``when``: the newest dated at or before it (naive = UTC)."""
        with self._lock:
            found = self._locate(when)
            if found is None:
                return None
            anchor, step = found
            return anchor if step == 0 else self._generate(anchor, step)

    def snapshot_id_at(self, when: datetime | str) -> str | None:
        """The id of ``snapshot_at(when)``, without generating the snapshot."""
        with self._lock:
            found = self._locate(when)
        if found is None:
            return None
        anchor, step = found
        return anchor.id if step == 0 else self._generated_id(anchor, step)

    def current_id(self) -> str | None:
        """The id of ``current()``, without generating the snapshot (cheap listings)."""
        found = self.snapshot_id_at(self.clock.now())
        if found is None:
            with self._lock:
                return self._anchors[0].id if self._anchors else None
        return found

    def snapshot_before(self, when: datetime | str) -> CalibrationSnapshot | None:
        """The newest snapshot dated strictly before ``when`` (the seed's ``properties(datetime)``
        rule; naive = UTC)."""
        moment = parse_datetime(when)
        if moment - datetime.min.replace(tzinfo=UTC) < _ONE_US:
            return None  # nothing is dated before the first moment of year 1
        return self.snapshot_at(moment - _ONE_US)

    def snapshots_between(
        self, start: datetime | str, end: datetime | str
    ) -> list[CalibrationSnapshot]:
        """Every snapshot dated in ``[start, end]`` (and not after now), oldest first."""
        first = parse_datetime(start)
        last = min(parse_datetime(end), self.clock.now())
        found: list[CalibrationSnapshot] = []
        with self._lock:
            for index, anchor in enumerate(self._anchors):
                if first <= anchor.last_update_date <= last:
                    found.append(anchor)
                if self.model is None or anchor.last_update_date > last:
                    continue
                period = self.model.period
                low = max(1, math.ceil((first - anchor.last_update_date) / period))
                high = min(
                    math.floor((last - anchor.last_update_date) / period), self._last_step(index)
                )
                found.extend(self._generate(anchor, step) for step in range(low, high + 1))
        return found

    def ids_between(
        self, start: datetime | str, end: datetime | str, limit: int | None = None
    ) -> list[tuple[str, datetime]]:
        """``(id, date)`` of every snapshot dated in ``[start, end]`` (and not after now),
        oldest first, at most ``limit`` of them, without generating any snapshot."""
        first = parse_datetime(start)
        last = min(parse_datetime(end), self.clock.now())
        found: list[tuple[str, datetime]] = []
        with self._lock:
            for index, anchor in enumerate(self._anchors):
                if limit is not None and len(found) >= limit:
                    break
                if first <= anchor.last_update_date <= last:
                    found.append((anchor.id, anchor.last_update_date))
                if self.model is None or anchor.last_update_date > last:
                    continue
                period = self.model.period
                low = max(1, math.ceil((first - anchor.last_update_date) / period))
                high = min(
                    math.floor((last - anchor.last_update_date) / period), self._last_step(index)
                )
                if limit is not None:
                    high = min(high, low + limit - len(found) - 1)
                found.extend(
                    (self._generated_id(anchor, step), anchor.last_update_date + step * period)
                    for step in range(low, high + 1)
                )
        return found if limit is None else found[:limit]

    def get(self, snapshot_id: str) -> CalibrationSnapshot | None:
        """The snapshot with id ``snapshot_id``, real or generated, or ``None``.

        A generated id resolves whether or not its date is still in the series (an anchor
        imported later may have cut its segment short): a job gets back exactly the snapshot
        it ran with.
        """
        with self._lock:
            for anchor in self._anchors:
                if anchor.id == snapshot_id:
                    return anchor
            parsed = _parse_generated_id(snapshot_id)
            if parsed is None or self.model is None:
                return None
            anchor_id, fingerprint, step = parsed
            version = self.model.version_of(fingerprint)
            if version is None:
                return None
            for anchor in self._anchors:
                if anchor.id == anchor_id:
                    return self._generate(anchor, step, version)
        return None

    def anchor_of(self, snapshot_id: str) -> CalibrationSnapshot | None:
        """The real snapshot ``snapshot_id`` is (or was generated from), or ``None``."""
        anchor_id = snapshot_id.split(".", 1)[0]
        with self._lock:
            return next((a for a in self._anchors if a.id == anchor_id), None)

    def is_imported(self, snapshot_id: str) -> bool:
        """Whether real snapshot ``snapshot_id`` was imported (not built with the device)."""
        with self._lock:
            return snapshot_id not in self._built and any(
                a.id == snapshot_id for a in self._anchors
            )

    # ----------------------------------------------------------------------------- import

    def import_properties(self, properties: dict[str, Any]) -> CalibrationSnapshot:
        """Validate a real ``BackendProperties`` JSON dict and add it as an anchor.

        The snapshot is stored under this device's name. Importing the same content twice
        returns the stored snapshot.

        Raises:
            InvalidPropertiesError: a field is missing or malformed (the message names it);
                nothing is stored.
            SnapshotConflictError: a different real snapshot has the same date.
        """
        checked = check_properties(properties, num_qubits=self.num_qubits)
        checked["backend_name"] = self.device_name
        snapshot = CalibrationSnapshot.from_properties(checked)
        with self._lock:
            for anchor in self._anchors:
                if anchor.id == snapshot.id:
                    return anchor
                if anchor.last_update_date == snapshot.last_update_date:
                    raise SnapshotConflictError(
                        f"Backend {self.device_name!r} already has a calibration snapshot dated "
                        f"{snapshot.last_update_date.isoformat()} (id {anchor.id}).",
                        field="last_update_date",
                    )
            insort(self._anchors, snapshot, key=lambda s: s.last_update_date)
        return snapshot

    # ----------------------------------------------------------------------------- internals

    def _locate(self, when: datetime | str) -> tuple[CalibrationSnapshot, int] | None:
        """The anchor and recalibration step in force at ``when`` (capped at now)."""
        moment = min(parse_datetime(when), self.clock.now())
        index = bisect_right([a.last_update_date for a in self._anchors], moment) - 1
        if index < 0:
            return None
        anchor = self._anchors[index]
        if self.model is None:
            return anchor, 0
        step = math.floor((moment - anchor.last_update_date) / self.model.period)
        return anchor, max(0, min(step, self._last_step(index)))

    def _generated_id(
        self, anchor: CalibrationSnapshot, step: int, version: int = drift.MODEL_VERSION
    ) -> str:
        assert self.model is not None
        return f"{anchor.id}.{self.model.fingerprints[version]}.{step}"

    def _last_step(self, index: int) -> int:
        """The last recalibration of segment ``index`` (before the next anchor)."""
        if index + 1 >= len(self._anchors) or self.model is None:
            return 2**62
        gap = self._anchors[index + 1].last_update_date - self._anchors[index].last_update_date
        return math.ceil(gap / self.model.period) - 1

    def _generate(
        self, anchor: CalibrationSnapshot, step: int, version: int = drift.MODEL_VERSION
    ) -> CalibrationSnapshot:
        """Recalibration ``step`` of ``anchor``'s segment, generated with model ``version``."""
        assert self.model is not None
        model = self.model
        snapshot_id = self._generated_id(anchor, step, version)
        cached = self._generated.get(snapshot_id)
        if cached is not None:
            self._generated.move_to_end(snapshot_id)
            return cached
        parsed = self._parsed.get(anchor.id)
        if parsed is None:
            parsed = self._parsed[anchor.id] = drift.AnchorData(anchor.properties)
        when = anchor.last_update_date + step * model.period
        properties = drift.generate_properties(
            anchor.properties,
            parsed,
            model,
            model.device_seed(self.device_name, anchor.id),
            step,
            when,
            version,
        )
        snapshot = CalibrationSnapshot(id=snapshot_id, last_update_date=when, properties=properties)
        self._generated[snapshot_id] = snapshot
        if len(self._generated) > GENERATED_CACHE_SIZE:
            self._generated.popitem(last=False)
        return snapshot

    def known_ids(self) -> Iterable[str]:
        """Ids of the real snapshots and of the generated ones cached now (for messages)."""
        with self._lock:
            return [*(a.id for a in self._anchors), *self._generated]


@functools.lru_cache(maxsize=1024)
def _parse_generated_id(snapshot_id: str) -> tuple[str, str, int] | None:
    parts = snapshot_id.split(".")
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    step = int(parts[2])
    return (parts[0], parts[1], step) if step >= 1 else None
