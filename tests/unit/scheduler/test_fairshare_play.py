"""``core.fairshare_play``: the whole-queue order equals the pick played job by job."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from openqx.core.fairshare import QueuedJob, Shares, fair_order, pick_order
from openqx.core.fairshare_play import ratio, ratios

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _job_by_job(
    jobs: Sequence[QueuedJob], shares: Shares, usage: Mapping[str, float], estimate: float
) -> list[str]:
    """The definition: pick one project (its oldest queued job as its head), run its next
    job, charge it the estimate, repeat."""
    queues: dict[str, list[QueuedJob]] = {}
    for job in sorted(jobs, key=lambda j: j.key):
        queues.setdefault(job.instance, []).append(job)
    used = dict(usage)
    order: list[str] = []
    while queues:
        heads = {
            inst: QueuedJob("", inst, 0, min(j.created_at for j in queue))
            for inst, queue in queues.items()
        }
        chosen = next(pick_order(heads, shares, used))
        order.append(queues[chosen].pop(0).id)
        used[chosen] = used.get(chosen, 0.0) + estimate
        if not queues[chosen]:
            del queues[chosen]
    return order


def _case(rnd: random.Random) -> tuple[list[QueuedJob], Shares, dict[str, float], float]:
    """A random tree, shares (some 0), usage (some of idle projects), priorities and equal
    queue times; whole numbers, so sums in any order are exact."""
    hubs = [f"h{i}" for i in range(rnd.randint(1, 3))]
    groups = [f"{h}/g{i}" for h in hubs for i in range(rnd.randint(1, 3))]
    projects = [f"{g}/p{i}" for g in groups for i in range(rnd.randint(1, 4))]
    jobs = [
        QueuedJob(
            f"j{n:03d}",
            rnd.choice(projects),
            rnd.choice([0, 0, 0, 1, 2]),
            T0 + timedelta(seconds=rnd.randint(0, 40)),
        )
        for n in range(rnd.randint(1, 60))
    ]
    shares = Shares(
        hubs={h: rnd.choice([0, 1, 1, 2, 3]) for h in hubs if rnd.random() < 0.7},
        groups={g: rnd.choice([0, 1, 2, 4]) for g in groups if rnd.random() < 0.7},
        projects={p: rnd.choice([0, 1, 2, 3, 5]) for p in projects if rnd.random() < 0.7},
    )
    usage = {p: float(rnd.randint(0, 30)) for p in projects if rnd.random() < 0.6}
    return jobs, shares, usage, rnd.choice([1.0, 2.0, 3.0, 0.5])


@pytest.mark.parametrize("seed", range(400))
def test_whole_queue_order_is_the_pick_played_job_by_job(seed: int) -> None:
    jobs, shares, usage, estimate = _case(random.Random(seed))
    expected = _job_by_job(jobs, shares, usage, estimate)
    assert fair_order(jobs, shares, usage, estimate_seconds=estimate) == expected


def test_a_zero_share_project_waits_and_runs_its_urgent_job_first() -> None:
    late = QueuedJob("late", "h/g/a", 5, T0 + timedelta(seconds=50))
    jobs = [late, *(QueuedJob(f"a{i}", "h/g/a", 0, T0 + timedelta(seconds=i)) for i in range(3))]
    jobs += [QueuedJob(f"b{i}", "h/g/b", 0, T0 + timedelta(seconds=10 + i)) for i in range(3)]
    shares = Shares(projects={"h/g/a": 0})  # a runs only when b has nothing left
    expected = _job_by_job(jobs, shares, {}, 1.0)
    assert expected == ["b0", "b1", "b2", "late", "a0", "a1", "a2"]
    assert fair_order(jobs, shares, {}, estimate_seconds=1.0) == expected


def test_scalar_and_array_ratios_agree_to_the_bit() -> None:
    rnd = random.Random(7)
    used = [rnd.uniform(0, 1e7) for _ in range(2000)] + [0.0, 1.0, 3.0]
    share = [rnd.choice([0.0, 1.0, 3.0, rnd.uniform(0.1, 9)]) for _ in used]
    array = ratios(np.asarray(used), np.asarray(share))
    assert [ratio(u, s) for u, s in zip(used, share, strict=True)] == array.tolist()
    assert ratio(1.0, 0.0) == math.inf
    # Sums of the same usages in another order tie once rounded.
    parts = [rnd.uniform(0, 10) for _ in range(50)]
    assert ratio(sum(parts), 3.0) == ratio(sum(reversed(parts)), 3.0)


def test_empty_queue() -> None:
    assert fair_order([], Shares(), {}, estimate_seconds=1.0) == []
