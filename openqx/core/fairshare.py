"""Hierarchical fair share: which project's job runs next on a device, pure arithmetic.

A device has one queue. The projects (``hub/group/project``) with queued jobs compete; at
each level of the tree (hubs, then the groups of the chosen hub, then the projects of the
chosen group) the unit whose device usage over the rolling window, divided by its share, is
lowest wins, and the chosen project's oldest job runs (its highest ``priority`` first). Ties
go to the unit whose oldest queued job is older (jobs have equal priorities through the
API), then to the unit whose name sorts first. Only ratios between siblings matter, so each
level is normalised on its own: a hub's share weighs it against the other hubs, a group's
share only against the groups of its hub, a project's only against its group's projects.

The priority reported per level is Slurm's classic fair-share factor ``2 ** (-U / S)``, with
``U`` the unit's fraction of its siblings' usage and ``S`` its fraction of their shares
(siblings: the units with queued jobs on the device, and the unit itself): 1.0 for a unit that
used nothing, 0.5 for one that used exactly its share, lower for one over its share.

``fair_order`` plays the policy forward to give the whole queue's order: after each pick it
adds an estimated usage (the device's mean per job) to the chosen project, as the real pick
will once that job has run. Its first element is what ``pick_order`` chooses now. It is
computed level by level, not job by job (``core.fairshare_play``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from openqx.core.fairshare_play import Level, play, ratio

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "Priorities",
    "QueuedJob",
    "Shares",
    "fair_order",
    "fair_order_columns",
    "pick_order",
    "priorities",
    "unit_usage",
]

DEFAULT_WINDOW_DAYS = 28.0
"""Usage counts over this rolling window (days), IBM Quantum's window."""


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A queued job as fair share sees it."""

    id: str
    instance: str
    """``hub/group/project``."""
    priority: int
    created_at: datetime

    @property
    def key(self) -> tuple[int, datetime, str]:
        """Order within its project: higher ``priority`` first, then oldest."""
        return (-self.priority, self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class Shares:
    """Shares of the units (missing units count 1; a share of 0 runs only when alone)."""

    hubs: Mapping[str, float] = field(default_factory=dict)
    groups: Mapping[str, float] = field(default_factory=dict)
    """Keyed ``hub/group``."""
    projects: Mapping[str, float] = field(default_factory=dict)
    """Keyed ``hub/group/project``; the project's share on this device."""

    def of(self, unit: str) -> float:
        """The share of a unit named ``hub``, ``hub/group`` or ``hub/group/project``."""
        table = (self.hubs, self.groups, self.projects)[unit.count("/")]
        return float(table.get(unit, 1.0))


@dataclass(frozen=True, slots=True)
class Priorities:
    """Fair-share factors (``2 ** (-U/S)``, in (0, 1]) of a project and its parents."""

    hub: float
    group: float
    project: float


def _parents(instance: str) -> tuple[str, str, str]:
    hub, group, _ = instance.split("/", 2)
    return hub, f"{hub}/{group}", instance


_Key = tuple[float, datetime, str]


def unit_usage(usage: Mapping[str, float]) -> dict[str, float]:
    """The usage of every project, group and hub from the projects' usage."""
    used: dict[str, float] = {}
    for instance, seconds in usage.items():
        if instance.count("/") == 2:
            for unit in _parents(instance):
                used[unit] = used.get(unit, 0.0) + seconds
    return used


class _Tree:
    """The queued projects under each unit, each unit's usage and its sort key
    ``(usage / share, its oldest queued job's time, its name)``; ``pick_order`` removes the
    projects it has yielded."""

    def __init__(
        self,
        heads: Mapping[str, QueuedJob],
        usage: Mapping[str, float],
        shares: Shares,
    ) -> None:
        self.used = unit_usage(usage)
        self.children: dict[str, set[str]] = {"": set()}
        self.parents: dict[str, tuple[str, str, str]] = {}
        self.oldest: dict[str, datetime] = {}
        """Per unit: when the first job of its projects' next jobs was queued (ties)."""
        for instance, job in heads.items():
            chain = self.parents[instance] = _parents(instance)
            hub, group, project = chain
            self.children[""].add(hub)
            self.children.setdefault(hub, set()).add(group)
            self.children.setdefault(group, set()).add(project)
            for unit in chain:
                if unit not in self.oldest or job.created_at < self.oldest[unit]:
                    self.oldest[unit] = job.created_at
        self.share = {unit: shares.of(unit) for unit in self.oldest}
        self.keys: dict[str, _Key] = {
            unit: (ratio(self.used.get(unit, 0.0), share), self.oldest[unit], unit)
            for unit, share in self.share.items()
        }

    def choose(self) -> str:
        """The queued project the policy picks now."""
        unit = ""
        for _ in range(3):
            unit = min(self.children[unit], key=self.keys.__getitem__)
        return unit

    def _rekey(self, unit: str) -> None:
        used = ratio(self.used.get(unit, 0.0), self.share[unit])
        self.keys[unit] = (used, self.oldest[unit], unit)

    def remove(self, instance: str) -> None:
        """The project has no queued job left: drop it (and emptied parents)."""
        hub, group, project = self.parents[instance]
        self.children[group].discard(project)
        if not self.children[group]:
            self.children[hub].discard(group)
            if not self.children[hub]:
                self.children[""].discard(hub)
        self._refresh_parents(group, hub)

    def _refresh_parents(self, group: str, hub: str) -> None:
        for unit in (group, hub):  # a parent's oldest job is its oldest child's
            children = self.children.get(unit)
            if children:
                self.oldest[unit] = min(self.oldest[child] for child in children)
                self._rekey(unit)


def pick_order(
    heads: Mapping[str, QueuedJob], shares: Shares, usage: Mapping[str, float]
) -> Iterator[str]:
    """The queued projects in the order the policy would try them now (no usage added),
    lazily: the first is the pick; the others are the fallbacks a claimer tries when another
    claimer holds the first project's jobs.

    Args:
        heads: each queued project's first job.
        shares: the units' shares.
        usage: device seconds each project used in the window.
    """
    tree = _Tree(heads, usage, shares)
    while tree.children[""]:
        chosen = tree.choose()
        yield chosen
        tree.remove(chosen)


def fair_order(
    jobs: Sequence[QueuedJob],
    shares: Shares,
    usage: Mapping[str, float],
    *,
    estimate_seconds: float,
    stop_at: str | None = None,
) -> list[str]:
    """Ids of the queued ``jobs`` in the order fair share will run them.

    Each pick adds ``estimate_seconds`` to the chosen project's usage, as running that job
    will. With ``stop_at`` the order ends with that job.
    """
    ordered = sorted(jobs, key=lambda job: job.key)
    times = sorted({job.created_at for job in ordered})
    rank = {when: i for i, when in enumerate(times)}
    return fair_order_columns(
        [job.id for job in ordered],
        [job.instance for job in ordered],
        [rank[job.created_at] for job in ordered],
        shares,
        usage,
        estimate_seconds=estimate_seconds,
        stop_at=stop_at,
    )


def fair_order_columns(
    ids: Sequence[str],
    instances: Sequence[str],
    queued: Sequence[int],
    shares: Shares,
    usage: Mapping[str, float],
    *,
    estimate_seconds: float,
    stop_at: str | None = None,
) -> list[str]:
    """``fair_order`` of jobs given as columns (as a store reads them, no object per job).

    Args:
        ids: the job ids; the jobs of each project in its run order (highest priority, then
            oldest), the projects in any order.
        instances: each job's project.
        queued: each job's queue time as a rank (equal times, equal ranks; older, lower).
        shares: the units' shares.
        usage: device seconds each project used in the window.
        estimate_seconds: the usage each pick adds to the chosen project.
        stop_at: end the order with this job.
    """
    if not ids:
        return []
    names, project = np.unique(np.asarray(instances, dtype=str), return_inverse=True)
    projects = [str(name) for name in names]
    groups = sorted({_parents(p)[1] for p in projects})
    hubs = sorted({_parents(p)[0] for p in projects})
    group_index = {g: i for i, g in enumerate(groups)}
    hub_index = {h: i for i, h in enumerate(hubs)}
    used = unit_usage(usage)

    def level(units: list[str], parent: list[int]) -> Level:
        return Level(
            parent=np.asarray(parent, dtype=np.int64),
            used=np.asarray([used.get(u, 0.0) for u in units], dtype=np.float64),
            share=np.asarray([shares.of(u) for u in units], dtype=np.float64),
            name_rank=np.arange(len(units), dtype=np.int64),
        )

    levels = [
        level(projects, [group_index[_parents(p)[1]] for p in projects]),
        level(groups, [hub_index[g.split("/", 1)[0]] for g in groups]),
        level(hubs, [0] * len(hubs)),
    ]
    order = play(project.ravel(), queued, levels, estimate_seconds)
    result: list[str] = np.asarray(ids, dtype=object)[order].tolist()
    if stop_at is not None and stop_at in result:
        del result[result.index(stop_at) + 1 :]
    return result


def priorities(
    instance: str, competing: Iterable[str], shares: Shares, usage: Mapping[str, float]
) -> Priorities:
    """Fair-share factors of ``instance`` and its group and hub among ``competing`` projects
    (those with queued jobs on the device; ``instance`` is added)."""
    placeholder = QueuedJob("", "", 0, datetime.min.replace(tzinfo=UTC))
    tree = _Tree(dict.fromkeys({*competing, instance}, placeholder), usage, shares)
    factors: list[float] = []
    parent = ""
    for unit in _parents(instance):
        siblings = tree.children[parent]
        total_use = sum(tree.used.get(u, 0.0) for u in siblings)
        total_share = sum(shares.of(u) for u in siblings)
        used = tree.used.get(unit, 0.0) / total_use if total_use > 0 else 0.0
        share = shares.of(unit) / total_share if total_share > 0 else 0.0
        factors.append(0.0 if share <= 0 and used > 0 else 2.0 ** (-used / share) if share else 1.0)
        parent = unit
    return Priorities(hub=factors[0], group=factors[1], project=factors[2])
