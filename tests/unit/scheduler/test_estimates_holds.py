"""``scheduler.estimates``: start estimates held back by maintenance and by other projects'
reservations (a job waits for them; its estimate must not say "now")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openqx.scheduler.estimates import QueueEstimate, Window, estimate_queue, first_open

NOW = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def test_maintenance_now_moves_the_start_after_its_end_and_the_jobs_ahead() -> None:
    estimate = estimate_queue(
        position=3,
        mean_run_seconds=60.0,
        slots=1,
        now=NOW,
        running=1,
        maintenance=[(NOW - MINUTE, NOW + HOUR)],
    )
    # Nothing starts before NOW + 1 h; then the two jobs ahead, a minute each.
    assert estimate == QueueEstimate(
        position=3, start=NOW + HOUR + 2 * MINUTE, complete=NOW + HOUR + 3 * MINUTE
    )


def test_a_short_maintenance_does_not_make_the_estimate_earlier() -> None:
    plain = estimate_queue(position=4, mean_run_seconds=60.0, slots=1, now=NOW, running=1)
    held = estimate_queue(
        position=4,
        mean_run_seconds=60.0,
        slots=1,
        now=NOW,
        running=1,
        maintenance=[(NOW, NOW + timedelta(seconds=1))],
    )
    assert plain.start == NOW + 4 * MINUTE
    assert held.start == plain.start  # the running job ends after the window anyway


def test_maintenance_without_an_end_makes_the_estimate_unknown() -> None:
    estimate = estimate_queue(
        position=1, mean_run_seconds=10.0, slots=2, now=NOW, maintenance=[(NOW, None)]
    )
    assert estimate == QueueEstimate(position=1, start=None, complete=None)


def test_another_projects_reservation_holds_the_job_until_it_ends() -> None:
    estimate = estimate_queue(
        position=2,
        mean_run_seconds=30.0,
        slots=1,
        now=NOW,
        reservations=[(NOW - MINUTE, NOW + HOUR)],
    )
    assert estimate.start == NOW + HOUR
    assert estimate.complete == NOW + HOUR + timedelta(seconds=30)


def test_a_later_window_the_estimate_falls_in_moves_it_to_its_end() -> None:
    estimate = estimate_queue(
        position=11,
        mean_run_seconds=60.0,
        slots=1,
        now=NOW,
        maintenance=[(NOW + 5 * MINUTE, NOW + 20 * MINUTE)],
    )
    assert estimate.start == NOW + 20 * MINUTE


def test_windows_that_do_not_cover_the_estimate_change_nothing() -> None:
    windows: list[Window] = [(NOW + HOUR, NOW + 2 * HOUR)]
    estimate = estimate_queue(
        position=2,
        mean_run_seconds=60.0,
        slots=1,
        now=NOW,
        maintenance=windows,
        reservations=windows,
    )
    assert estimate.start == NOW + MINUTE


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        ([], NOW),
        ([(NOW + MINUTE, NOW + HOUR)], NOW),
        ([(NOW, NOW + HOUR)], NOW + HOUR),
        # back to back, listed in any order: the first moment outside both
        ([(NOW + HOUR, NOW + 2 * HOUR), (NOW - HOUR, NOW + HOUR)], NOW + 2 * HOUR),
        ([(NOW - HOUR, NOW + HOUR), (NOW + HOUR, None)], None),
    ],
)
def test_first_open(windows: list[Window], expected: datetime | None) -> None:
    assert first_open(NOW, windows) == expected
