from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openqx.core import errors
from openqx.core.clock import ManualClock
from openqx.devices import Device
from openqx.devices.drift import DriftModel
from openqx.devices.history import SnapshotConflictError
from openqx.devices.properties_check import InvalidPropertiesError
from openqx.devices.snapshots import CalibrationSnapshot
from tests.unit.devices.factories import small_configuration, small_properties

START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _device(
    model: DriftModel | None = None, now: datetime = START + 30 * DAY, num_qubits: int = 2
) -> Device:
    return Device(
        name="small",
        configuration=small_configuration(num_qubits),
        simulator=False,
        snapshots=[CalibrationSnapshot.from_properties(small_properties(num_qubits))],
        drift=model or DriftModel(),
        clock=ManualClock(now),
    )


def _qubit(props: dict[str, Any], q: int, name: str) -> float:
    return float(next(p["value"] for p in props["qubits"][q] if p["name"] == name))


def _gate(props: dict[str, Any], gate: str, qubits: list[int]) -> float:
    found = next(g for g in props["gates"] if g["gate"] == gate and g["qubits"] == qubits)
    return float(next(p["value"] for p in found["parameters"] if p["name"] == "gate_error"))


def test_snapshot_in_force_follows_the_recalibration_dates() -> None:
    device = _device()
    anchor = device.snapshots[0]
    assert device.snapshot_at(START - timedelta(seconds=1)) is None  # before the first: None
    assert device.snapshot_at(START) is anchor
    assert device.snapshot_at(START + DAY - timedelta(seconds=1)) is anchor
    first = device.snapshot_at(START + DAY)
    assert first is not None and first is not anchor
    assert first.last_update_date == START + DAY
    assert first.properties["last_update_date"] == (START + DAY).isoformat()
    assert device.snapshot_at(START + 1.5 * DAY) is first
    # the seed's properties(datetime) rule: strictly before
    assert device.snapshot_before(START + DAY) is anchor
    assert device.snapshot_before(START) is None
    assert device.snapshot_before(datetime(2026, 1, 2, 0, 0, 1)) is first  # naive = UTC


def test_nothing_after_now_and_the_current_snapshot_moves_with_the_clock() -> None:
    clock = ManualClock(START + 10.5 * DAY)
    device = Device(
        name="small",
        configuration=small_configuration(),
        simulator=False,
        snapshots=[CalibrationSnapshot.from_properties(small_properties())],
        drift=DriftModel(),
        clock=clock,
    )
    current = device.current_snapshot()
    assert current is not None and current.last_update_date == START + 10 * DAY
    assert device.current_snapshot_id() == current.id
    assert device.snapshot_at(START + 400 * DAY) is current  # the future is not calibrated yet
    clock.advance(DAY.total_seconds())
    moved = device.current_snapshot()
    assert moved is not None and moved.last_update_date == START + 11 * DAY


def test_generation_is_deterministic_and_independent_of_access_order() -> None:
    one, two = _device(), _device()
    late_first = two.snapshot_at(START + 20 * DAY)
    for day in (3, 20, 7):
        a = one.snapshot_at(START + day * DAY)
        b = two.snapshot_at(START + day * DAY)
        assert a is not None and b is not None
        assert a.id == b.id and a.properties == b.properties
    day_20 = one.snapshot_at(START + 20 * DAY)
    assert late_first is not None and day_20 is not None
    assert late_first.properties == day_20.properties
    other_seed = _device(DriftModel(seed=1)).snapshot_at(START + 3 * DAY)
    same = one.snapshot_at(START + 3 * DAY)
    assert other_seed is not None and same is not None
    assert other_seed.id != same.id
    assert _qubit(other_seed.properties, 0, "T1") != _qubit(same.properties, 0, "T1")


def test_generated_ids_resolve_to_exactly_that_snapshot_in_a_fresh_device() -> None:
    ran_with = _device().snapshot_at(START + 5 * DAY)
    assert ran_with is not None
    fresh = _device()
    again = fresh.snapshot(ran_with.id)
    assert again.properties == ran_with.properties
    assert again.last_update_date == ran_with.last_update_date
    assert fresh.resolve_snapshot(ran_with.id).id == ran_with.id  # type: ignore[union-attr]
    with pytest.raises(errors.NotFoundError, match="no calibration snapshot"):
        _device(DriftModel(seed=9)).snapshot(ran_with.id)  # another model: another series
    with pytest.raises(errors.NotFoundError):
        fresh.snapshot("nope.nope.3")


def test_snapshots_between_agrees_with_snapshot_at() -> None:
    device = _device(now=START + 6.5 * DAY)
    found = device.snapshots_between(START + 2 * DAY, START + 100 * DAY)
    assert [s.last_update_date for s in found] == [START + d * DAY for d in range(2, 7)]
    for snapshot in found:
        assert device.snapshot_at(snapshot.last_update_date) is snapshot
    everything = device.snapshots_between(START - 3 * DAY, START + DAY)
    assert [s.last_update_date for s in everything] == [START, START + DAY]


def test_without_drift_the_history_is_the_real_snapshots() -> None:
    device = Device(
        name="small",
        configuration=small_configuration(),
        simulator=False,
        snapshots=[CalibrationSnapshot.from_properties(small_properties())],
        clock=ManualClock(START + 30 * DAY),
    )
    assert device.current_snapshot() is device.snapshots[0]
    assert device.snapshots_between(START, START + 30 * DAY) == device.snapshots


def _series(model: DriftModel, days: int) -> list[dict[str, Any]]:
    device = _device(model, now=START + days * DAY)
    return [s.properties for s in device.snapshots_between(START + DAY, START + days * DAY)]


def test_t1_wanders_around_the_anchor_with_drops_that_recover() -> None:
    model = DriftModel()
    series = _series(model, 150)
    anchor = small_properties()
    ratios = [_qubit(p, 0, "T1") / _qubit(anchor, 0, "T1") for p in series]
    logs = [math.log(r) for r in ratios]
    # Mean reversion: the series stays around the anchor (median within ~one sigma) and its
    # spread is of the model's size, not a free random walk's.
    assert abs(statistics.median(logs)) < model.t1_sigma
    assert 0.5 * model.t1_sigma < statistics.pstdev(logs) < 3 * model.t1_sigma
    assert max(abs(x) for x in logs) < 8 * model.t1_sigma
    # Day-to-day changes are correlated (a slow process), not fresh draws each day.
    steps = [b - a for a, b in zip(logs, logs[1:], strict=False)]
    assert statistics.pstdev(steps) < statistics.pstdev(logs)


def test_a_tls_drop_is_sharp_and_recovers() -> None:
    # Only TLS drops, no slow wander: every dip below the anchor is a defect event.
    model = DriftModel(t1_sigma=1e-9, tls_rate_per_day=0.05)
    anchor_t1 = _qubit(small_properties(), 0, "T1")
    ratios = [_qubit(p, 0, "T1") / anchor_t1 for p in _series(model, 200)]
    drops = [i for i in range(1, len(ratios)) if ratios[i] < 0.65 * ratios[i - 1]]
    assert drops, "no TLS drop in 200 days at 5 % per day"
    day = drops[0]
    assert ratios[day] <= model.tls_depth[1] + 1e-6
    assert ratios[min(day + 12, len(ratios) - 1)] > ratios[day]  # recovering afterwards


def test_t2_never_exceeds_twice_t1_even_from_an_anchor_that_does() -> None:
    props = small_properties(t1_us=50.0, t2_us=140.0)  # the anchor itself has T2 > 2 T1
    device = Device(
        name="small",
        configuration=small_configuration(),
        simulator=False,
        snapshots=[CalibrationSnapshot.from_properties(props)],
        drift=DriftModel(tls_rate_per_day=0.2),
        clock=ManualClock(START + 120 * DAY),
    )
    for snapshot in device.snapshots_between(START + DAY, START + 120 * DAY):
        for q in range(2):
            t1 = _qubit(snapshot.properties, q, "T1")
            t2 = _qubit(snapshot.properties, q, "T2")
            assert 0 < t2 <= 2 * t1


def test_errors_follow_t1_and_frequencies_move_by_khz() -> None:
    # With the control parts frozen, readout and gate errors change only through T1 (and T2,
    # which follows T1 here): a lower T1 means more errors.
    model = DriftModel(tphi_sigma=0.0, readout_sigma=0.0, gate_sigma=0.0)
    anchor = small_properties()
    t1_0 = _qubit(anchor, 0, "T1")
    for props in _series(model, 60):
        lower = _qubit(props, 0, "T1") < t1_0
        assert (_qubit(props, 0, "prob_meas0_prep1") > 0.04) == lower
        assert _qubit(props, 0, "prob_meas1_prep0") == pytest.approx(0.02)
        assert (_gate(props, "sx", [0]) > 3e-4) == lower
        assert _gate(props, "rz", [0]) == 0.0  # virtual gates stay perfect
        shift_hz = (_qubit(props, 0, "frequency") - 5.0) * 1e9
        assert 0 < abs(shift_hz) < 10 * model.frequency_sigma_hz
    errors_ = [_gate(p, "cx", [0, 1]) for p in _series(DriftModel(), 60)]
    assert len(set(errors_)) > 50 and all(0 < e < 0.5 for e in errors_)


def test_import_adds_a_real_snapshot_that_anchors_the_series() -> None:
    device = _device(now=START + 30 * DAY)
    before = device.snapshot_at(START + 12 * DAY)
    assert before is not None
    imported_props = small_properties(date="2026-01-10T12:00:00+00:00", t1_us=40.0)
    imported = device.import_properties(imported_props)
    assert imported.properties["backend_name"] == "small"
    assert device.import_properties(imported_props) is imported  # idempotent
    assert device.snapshot_at(START + 9.5 * DAY + timedelta(hours=12)) is imported
    after = device.snapshot_at(START + 12 * DAY)
    assert after is not None and after.id.startswith(imported.id + ".")
    assert _qubit(after.properties, 0, "T1") < 100  # drifts from the imported T1 of 40 us
    # A job that ran with the replaced snapshot still gets exactly it back.
    assert device.snapshot(before.id).properties == before.properties
    # Jobs before the import date are unaffected.
    unaffected, reference = (
        device.snapshot_at(START + 5 * DAY),
        _device().snapshot_at(START + 5 * DAY),
    )
    assert unaffected is not None and reference is not None and unaffected.id == reference.id
    with pytest.raises(SnapshotConflictError, match="already has a calibration snapshot"):
        device.import_properties(small_properties(date="2026-01-10T12:00:00+00:00", t1_us=41.0))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.pop("last_update_date"), "last_update_date"),
        (lambda p: p.update(last_update_date="yesterday"), "last_update_date"),
        (lambda p: p.update(qubits=p["qubits"][:1]), "qubits"),
        (lambda p: p["qubits"][1][0].update(value="long"), "qubits[1][0].value"),
        (lambda p: p["qubits"][0][0].update(value=-3.0), "qubits[0][0].value"),
        (lambda p: p["qubits"][0][5].update(value=1.5), "qubits[0][5].value"),
        (lambda p: p["qubits"][0][2].pop("unit"), "qubits[0][2].unit"),
        (lambda p: p["gates"][3].update(qubits=[7]), "gates[3].qubits[0]"),
        (
            lambda p: p["gates"][0]["parameters"][0].update(value=2.0),
            "gates[0].parameters[0].value",
        ),
        (lambda p: p.update(backend_version=3), "backend_version"),
    ],
)
def test_a_malformed_import_names_the_field_and_stores_nothing(mutate: Any, field: str) -> None:
    device = _device()
    props = small_properties(date="2026-01-05T00:00:00+00:00")
    mutate(props)
    with pytest.raises(InvalidPropertiesError) as info:
        device.import_properties(props)
    assert info.value.field == field
    assert field in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, errors.InvalidInputError)
    assert len(device.history.anchors) == 1


def test_simulators_have_no_history() -> None:
    simulator = Device(name="sim", configuration={"n_qubits": 2}, simulator=True)
    assert simulator.current_snapshot() is None
    assert simulator.defaults() is None
    with pytest.raises(errors.InvalidInputError, match="ideal simulator"):
        simulator.import_properties(small_properties())


@pytest.mark.parametrize(
    "folder",
    # one device per family and per era of the snapshot format (µs units, no frequencies, ...)
    ["manila", "perth", "kolkata", "sherbrooke", "torino", "fez", "aachen", "burlington"],
)
def test_shipped_snapshots_pass_the_import_check(folder: str) -> None:
    import json

    from openqx.devices.fake_import import fake_provider_dir
    from openqx.devices.properties_check import check_properties

    with (fake_provider_dir() / folder / f"props_{folder}.json").open() as handle:
        props = json.load(handle)
    assert check_properties(props, num_qubits=len(props["qubits"])) == props


def test_a_clock_before_the_first_snapshot_still_runs_with_the_real_calibration() -> None:
    device = _device(now=START - 10 * DAY)
    assert device.snapshot_at(START - 10 * DAY) is None  # the seed's rule for dates
    assert device.current_snapshot() is device.snapshots[0]
    assert device.current_snapshot_id() == device.snapshots[0].id
    assert device.resolve_snapshot(None) is device.snapshots[0]
