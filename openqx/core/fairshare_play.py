"""The fair-share policy played forward over a whole queue at once (numpy), and the ratio
rounding the step-by-step pick shares with it.

``core.fairshare`` picks one project at a time; playing that pick job by job over a queue of
thousands costs a Python loop per job. Because each unit's state (its usage and its oldest
queued job) changes only when that unit itself is chosen, the order a unit hands out its jobs
does not depend on when its parent chooses it. So the order is computed level by level:

1. each project's jobs in their run order (highest ``priority``, then oldest);
2. each group merges its projects' sequences, always taking the project with the lowest key
   ``(usage / share, oldest remaining job, name)``, its usage grown by one estimate per job
   it handed out;
3. each hub merges its groups' sequences the same way; 4. the root merges the hubs'.

A unit's keys never decrease as it hands out jobs (its usage only grows, its oldest remaining
job only gets younger), so a merge that always takes the lowest key is a sort by key: one
``lexsort`` per level, whatever the queue length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["RATIO_BITS", "Level", "play", "ratio", "ratios"]

RATIO_BITS = 30
"""``usage / share`` keeps this many bits of mantissa (about 9 significant digits): sums of
the same usages in another order (the store's, the played-forward order's) must tie, and then
the oldest job decides. Rounded in binary so that the scalar and the array forms are equal to
the bit."""

_SCALE = float(2**RATIO_BITS)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def ratio(used: float, share: float) -> float:
    """``used / share`` rounded to ``RATIO_BITS`` bits (infinite for a share of 0 or less)."""
    if share <= 0:
        return math.inf
    mantissa, exponent = math.frexp(used / share)
    return math.ldexp(round(mantissa * _SCALE) / _SCALE, exponent)


def ratios(used: Floats, share: Floats) -> Floats:
    """``ratio`` of each pair, equal to the bit to the scalar form."""
    positive = share > 0
    quotient = np.divide(used, share, out=np.full_like(used, np.inf), where=positive)
    mantissa, exponent = np.frexp(quotient)
    return np.asarray(np.ldexp(np.rint(mantissa * _SCALE) / _SCALE, exponent), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Level:
    """The units of one level of the tree (projects, groups or hubs), by index."""

    parent: Ints
    """Each unit's parent: its index in the next level up (0 for hubs: the root)."""
    used: Floats
    """Each unit's usage in the window before the walk."""
    share: Floats
    name_rank: Ints
    """Each unit's place among its level's names (the last tie-break)."""


def _segments(child: Ints) -> tuple[Ints, Ints]:
    """For an array of contiguous runs: each element's run number and place in its run."""
    n = len(child)
    starts = np.flatnonzero(np.concatenate(([True], child[1:] != child[:-1])))
    run = np.cumsum(np.concatenate(([False], child[1:] != child[:-1]))).astype(np.int64)
    place = np.arange(n, dtype=np.int64) - starts[run]
    return run, place


def _suffix_min(values: Ints, run: Ints) -> Ints:
    """Within each run, the minimum of each element and those after it."""
    span = int(values.max()) + 1
    shifted = (values + run * span)[::-1]
    return np.asarray((np.minimum.accumulate(shifted) - run[::-1] * span)[::-1], dtype=np.int64)


def play(
    unit: Sequence[int] | Ints,
    queued: Sequence[int] | Ints,
    levels: Sequence[Level],
    estimate: float,
) -> Ints:
    """The jobs in the order the policy runs them, as indices into the inputs.

    Args:
        unit: each job's project (index into ``levels[0]``); jobs of one project must come in
            that project's run order (the projects may interleave).
        queued: each job's queue time as a rank (equal times, equal ranks).
        levels: projects, groups, hubs (each ``parent`` indexing the next level).
        estimate: the usage each handed-out job adds to its units.
    """
    units = np.asarray(unit, dtype=np.int64)
    times = np.asarray(queued, dtype=np.int64)
    items = np.argsort(units, kind="stable").astype(np.int64)
    if len(items) == 0:
        return items
    child = units[items]
    for level in levels:
        run, place = _segments(child)
        oldest = _suffix_min(times[items], run)
        key = ratios(level.used[child] + place * estimate, level.share[child])
        parent = level.parent[child]
        # Stable: a unit's equal keys keep its own order.
        merged = np.lexsort((level.name_rank[child], oldest, key, parent))
        items, child = items[merged], parent[merged]
    return items
