"""Hierarchical fair share: which project's job runs next on a device, pure arithmetic.

A device has one queue. The projects (``hub/group/project``) with queued jobs compete; at
each level of the tree (hubs, then the groups of the chosen hub, then the projects of the
chosen group) the unit whose device usage over the rolling window, divided by its share, is
lowest wins, and the chosen project's oldest job runs (its highest ``priority`` first). Ties
go to the unit whose oldest queued job is older. Only ratios between siblings matter, so each
level is normalised on its own: a hub's share weighs it against the other hubs, a group's
share only against the groups of its hub, a project's only against its group's projects.

The priority reported per level is Slurm's classic fair-share factor ``2 ** (-U / S)``, with
``U`` the unit's fraction of its siblings' usage and ``S`` its fraction of their shares
(siblings: the units with queued jobs on the device, and the unit itself): 1.0 for a unit that
used nothing, 0.5 for one that used exactly its share, lower for one over its share.

``fair_order`` plays the policy forward to give the whole queue's order: after each pick it
adds an estimated usage (the device's mean per job) to the chosen project, as the real pick
will once that job has run. Its first element is what ``pick`` chooses now.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "Priorities",
    "QueuedJob",
    "Shares",
    "fair_order",
    "pick_order",
    "priorities",
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


def _ratio(used: float, share: float) -> float:
    if share <= 0:
        return float("inf")
    return used / share


class _Tree:
    """Usage per unit (hub, group, project) and the queued projects under each unit."""

    def __init__(self, instances: Iterable[str], usage: Mapping[str, float]) -> None:
        self.used: dict[str, float] = {}
        for instance, seconds in usage.items():
            if instance.count("/") == 2:
                self.add(instance, seconds)
        self.children: dict[str, set[str]] = {"": set()}
        for instance in instances:
            hub, group, project = _parents(instance)
            self.children[""].add(hub)
            self.children.setdefault(hub, set()).add(group)
            self.children.setdefault(group, set()).add(project)

    def add(self, instance: str, seconds: float) -> None:
        for unit in _parents(instance):
            self.used[unit] = self.used.get(unit, 0.0) + seconds

    def remove(self, instance: str) -> None:
        """The project has no queued job left: drop it (and emptied parents)."""
        hub, group, project = _parents(instance)
        self.children[group].discard(project)
        if not self.children[group]:
            self.children[hub].discard(group)
            if not self.children[hub]:
                self.children[""].discard(hub)


def _choose(tree: _Tree, shares: Shares, oldest: Mapping[str, tuple[int, datetime, str]]) -> str:
    """The queued project the policy picks now (``oldest``: each unit's first job key)."""
    unit = ""
    for _ in range(3):
        unit = min(
            tree.children[unit],
            key=lambda u: (_ratio(tree.used.get(u, 0.0), shares.of(u)), oldest[u]),
        )
    return unit


def _oldest_per_unit(heads: Mapping[str, QueuedJob]) -> dict[str, tuple[int, datetime, str]]:
    oldest: dict[str, tuple[int, datetime, str]] = {}
    for instance, job in heads.items():
        for unit in _parents(instance):
            if unit not in oldest or job.key < oldest[unit]:
                oldest[unit] = job.key
    return oldest


def pick_order(
    heads: Mapping[str, QueuedJob], shares: Shares, usage: Mapping[str, float]
) -> list[str]:
    """The queued projects in the order the policy would try them now (no usage added).

    The first is the pick; the others are the fallbacks a claimer tries when another
    claimer holds the first project's jobs.

    Args:
        heads: each queued project's first job.
        shares: the units' shares.
        usage: device seconds each project used in the window.
    """
    tree = _Tree(heads, usage)
    oldest = _oldest_per_unit(heads)
    order: list[str] = []
    while tree.children[""]:
        chosen = _choose(tree, shares, oldest)
        order.append(chosen)
        tree.remove(chosen)
    return order


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
    will. With ``stop_at`` the walk ends once that job is placed.
    """
    queues: dict[str, list[tuple[tuple[int, datetime, str], QueuedJob]]] = {}
    for job in jobs:
        queues.setdefault(job.instance, []).append((job.key, job))
    for queue in queues.values():
        heapq.heapify(queue)
    tree = _Tree(queues, usage)
    oldest = _oldest_per_unit({i: q[0][1] for i, q in queues.items()})
    order: list[str] = []
    while tree.children[""]:
        chosen = _choose(tree, shares, oldest)
        _, job = heapq.heappop(queues[chosen])
        order.append(job.id)
        if job.id == stop_at:
            break
        tree.add(chosen, estimate_seconds)
        if queues[chosen]:
            oldest[chosen] = queues[chosen][0][0]
        else:
            del queues[chosen]
            tree.remove(chosen)
        hub, group, _ = _parents(chosen)
        for unit in (group, hub):  # a parent's oldest job is its oldest child's
            if tree.children.get(unit):
                oldest[unit] = min(oldest[child] for child in tree.children[unit])
    return order


def priorities(
    instance: str, competing: Iterable[str], shares: Shares, usage: Mapping[str, float]
) -> Priorities:
    """Fair-share factors of ``instance`` and its group and hub among ``competing`` projects
    (those with queued jobs on the device; ``instance`` is added)."""
    tree = _Tree({*competing, instance}, usage)
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
