"""``scheduler.estimates``: queue-time arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openqx.scheduler.estimates import DEFAULT_RUN_SECONDS, QueueEstimate, estimate_queue

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_first_in_line_starts_now_and_takes_the_mean() -> None:
    assert estimate_queue(position=1, mean_run_seconds=30.0, slots=1, now=NOW) == QueueEstimate(
        position=1, start=NOW, complete=NOW + timedelta(seconds=30)
    )


def test_jobs_ahead_share_the_slots() -> None:
    estimate = estimate_queue(position=5, mean_run_seconds=10.0, slots=2, now=NOW)
    assert estimate.position == 5
    assert estimate.start == NOW + timedelta(seconds=4 * 10.0 / 2)
    assert estimate.complete == estimate.start + timedelta(seconds=10)


@pytest.mark.parametrize("mean", [None, 0.0])
def test_an_unmeasured_backend_assumes_the_default_run_time(mean: float | None) -> None:
    estimate = estimate_queue(position=3, mean_run_seconds=mean, slots=1, now=NOW)
    assert estimate.start == NOW + timedelta(seconds=2 * DEFAULT_RUN_SECONDS)
    assert estimate.complete == estimate.start + timedelta(seconds=DEFAULT_RUN_SECONDS)


@pytest.mark.parametrize("position", [None, 0])
def test_an_unknown_position_counts_as_first(position: int | None) -> None:
    estimate = estimate_queue(position=position, mean_run_seconds=5.0, slots=3, now=NOW)
    assert estimate.position == 1
    assert estimate.start == NOW


@pytest.mark.parametrize("slots", [0, -2])
def test_no_slots_counts_as_one(slots: int) -> None:
    estimate = estimate_queue(position=2, mean_run_seconds=8.0, slots=slots, now=NOW)
    assert estimate.start == NOW + timedelta(seconds=8)
