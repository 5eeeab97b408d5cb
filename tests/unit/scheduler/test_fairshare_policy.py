"""``core.fairshare``: the hierarchical pick, the played-forward order and the factors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openqx.core.fairshare import QueuedJob, Shares, fair_order, pick_order, priorities

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _jobs(instance: str, count: int, start: int = 0) -> list[QueuedJob]:
    return [
        QueuedJob(f"{instance}#{i}", instance, 0, T0 + timedelta(seconds=start + i))
        for i in range(count)
    ]


def test_the_lowest_usage_per_share_goes_first_level_by_level() -> None:
    heads = {j.instance: j for j in _jobs("h1/g/a", 1) + _jobs("h1/g/b", 1) + _jobs("h2/g/c", 1)}
    # h1 used 10 s (all by a), h2 nothing: h2 first; inside h1, b (unused) before a.
    assert list(pick_order(heads, Shares(), {"h1/g/a": 10.0})) == ["h2/g/c", "h1/g/b", "h1/g/a"]
    # A hub share of 100 puts h1 (10/100) before h2 once h2 has used 1 s (1/1).
    usage = {"h1/g/a": 10.0, "h2/g/c": 1.0}
    assert next(pick_order(heads, Shares(hubs={"h1": 100}), usage)) == "h1/g/b"


def test_ties_go_to_the_oldest_job_and_zero_share_runs_last() -> None:
    heads = {j.instance: j for j in _jobs("h/g/b", 1, start=5) + _jobs("h/g/a", 1, start=9)}
    assert list(pick_order(heads, Shares(), {})) == ["h/g/b", "h/g/a"]
    zero = Shares(projects={"h/g/b": 0})
    assert list(pick_order(heads, zero, {})) == ["h/g/a", "h/g/b"]


def test_fair_order_interleaves_by_share() -> None:
    jobs = _jobs("h/g/a", 30) + _jobs("h/g/b", 30, start=100)
    order = fair_order(jobs, Shares(projects={"h/g/a": 3}), {}, estimate_seconds=1.0)
    first = [job_id.split("#")[0] for job_id in order[:20]]
    assert first.count("h/g/a") == 15 and first.count("h/g/b") == 5
    assert sorted(order) == sorted(j.id for j in jobs)
    # Within a project: higher priority, then oldest.
    urgent = QueuedJob("urgent", "h/g/a", 5, T0 + timedelta(hours=1))
    with_urgent = fair_order([*jobs, urgent], Shares(), {}, estimate_seconds=1.0)
    assert [j for j in with_urgent if j.startswith(("h/g/a", "urgent"))][0] == "urgent"


def test_fair_order_stops_at_the_job_asked_for() -> None:
    jobs = _jobs("h/g/a", 10) + _jobs("h/g/b", 10)
    full = fair_order(jobs, Shares(), {}, estimate_seconds=1.0)
    part = fair_order(jobs, Shares(), {}, estimate_seconds=1.0, stop_at=full[6])
    assert part == full[:7]


def test_priorities_follow_slurms_factor() -> None:
    usage = {"h/g/a": 3.0, "h/g/b": 1.0}
    shares = Shares(projects={"h/g/a": 1, "h/g/b": 1})
    a = priorities("h/g/a", ["h/g/b"], shares, usage)
    assert a.project == pytest.approx(2 ** -(0.75 / 0.5))
    assert a.hub == a.group == pytest.approx(0.5)  # the only hub/group used all of its share
    fresh = priorities("h/g/c", ["h/g/a", "h/g/b"], shares, usage)
    assert fresh.project == 1.0
