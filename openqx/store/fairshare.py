"""The store's side of fair share: read what ``core.fairshare`` needs from one connection.

Every read runs inside the caller's transaction, so the claim's pick and its update see the
same state (on PostgreSQL two replicas compute the same order; the row lock with ``SKIP
LOCKED`` keeps them from taking the same job). A device's state for fair share:

- the queued projects and each one's first job (``heads``), or all its queued jobs (``queue``);
- usage per project: ``usage_seconds`` of the jobs that finished within the window, plus the
  device's mean usage per job for each job running now (its usage is not known before it
  ends, and a device running several jobs at once would otherwise hand the same project
  every free slot);
- shares: ``hubs.share``, ``hub_groups.share`` and the project's share on the device
  (``project_devices.share`` where the project has a grant for it, else ``projects.share``);
- the active reservation (``reservations.py``), which leaves only its instance's jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from openqx.core.fairshare import QueuedJob, Shares
from openqx.core.status import JobStatus
from openqx.store import device_schedule
from openqx.store.models import Hub, HubGroup, Job, Project, ProjectDevice

__all__ = [
    "DeviceQueue",
    "head_job",
    "merge_shares",
    "read_queue",
    "read_shares",
    "queue_version",
    "usage_in_window",
]

jobs = cast(sa.Table, Job.__table__)
hubs = cast(sa.Table, Hub.__table__)
hub_groups = cast(sa.Table, HubGroup.__table__)
projects = cast(sa.Table, Project.__table__)
project_devices = cast(sa.Table, ProjectDevice.__table__)

DEFAULT_JOB_SECONDS = 1.0
"""Usage assumed for a job on a device that has finished none within the window."""


@dataclass(frozen=True, slots=True)
class DeviceQueue:
    """What fair share reads about one device at one moment."""

    heads: dict[str, QueuedJob]
    """Each queued project's first job (all of them for ``read_queue(full=False)``)."""
    jobs: list[QueuedJob]
    """Every queued job (``full=True`` only)."""
    usage: dict[str, float]
    shares: Shares
    mean_job_seconds: float
    """The device's mean usage per finished job in the window (an estimate per job)."""


def _queued(backend: str, instance: str | None) -> list[Any]:
    conditions = [jobs.c.backend == backend, jobs.c.status == JobStatus.QUEUED.value]
    if instance is not None:
        conditions.append(jobs.c.instance == instance)
    return conditions


def read_queue(
    conn: sa.Connection,
    backend: str,
    now: datetime,
    window: timedelta,
    *,
    full: bool = False,
    only_instance: str | None = None,
) -> DeviceQueue:
    """Read the fair-share state of ``backend`` (``only_instance``: a reservation's)."""
    where = _queued(backend, only_instance)
    heads: dict[str, QueuedJob] = {}
    queue: list[QueuedJob] = []
    if full:
        listed = conn.execute(
            sa.select(jobs.c.id, jobs.c.instance, jobs.c.priority, jobs.c.created_at).where(*where)
        ).all()
        queue = [QueuedJob(r.id, r.instance, int(r.priority), r.created_at) for r in listed]
        for job in queue:
            if job.instance not in heads or job.key < heads[job.instance].key:
                heads[job.instance] = job
    else:
        # Across projects only the oldest queued job matters (ties); the job a project runs
        # (its highest priority, then oldest) is read by ``head_job``.
        rows = conn.execute(
            sa.select(jobs.c.instance, sa.func.min(jobs.c.created_at).label("created_at"))
            .where(*where)
            .group_by(jobs.c.instance)
        ).all()
        heads = {r.instance: QueuedJob("", r.instance, 0, r.created_at) for r in rows}
    usage, mean = usage_in_window(conn, backend, now, window)
    return DeviceQueue(heads, queue, usage, read_shares(conn, backend, heads), mean)


def usage_in_window(
    conn: sa.Connection, backend: str, now: datetime, window: timedelta
) -> tuple[dict[str, float], float]:
    """Usage per project in the window (running jobs charged the mean) and the mean."""
    finished = conn.execute(
        sa.select(
            jobs.c.instance,
            sa.func.sum(jobs.c.usage_seconds).label("seconds"),
            sa.func.count(jobs.c.usage_seconds).label("n"),
        )
        .where(
            jobs.c.backend == backend,
            jobs.c.finished_at >= now - window,
            jobs.c.usage_seconds.is_not(None),
        )
        .group_by(jobs.c.instance)
    ).all()
    usage = {r.instance: float(r.seconds or 0.0) for r in finished}
    count = sum(int(r.n) for r in finished)
    mean = sum(usage.values()) / count if count else DEFAULT_JOB_SECONDS
    mean = mean if mean > 0 else DEFAULT_JOB_SECONDS
    running = conn.execute(
        sa.select(jobs.c.instance, sa.func.count().label("n"))
        .where(jobs.c.backend == backend, jobs.c.status == JobStatus.RUNNING.value)
        .group_by(jobs.c.instance)
    ).all()
    for r in running:
        usage[r.instance] = usage.get(r.instance, 0.0) + mean * int(r.n)
    return usage, mean


def merge_shares(first: Shares, second: Shares) -> Shares:
    """The shares of both (``second`` wins where both name a unit)."""
    return Shares(
        hubs={**first.hubs, **second.hubs},
        groups={**first.groups, **second.groups},
        projects={**first.projects, **second.projects},
    )


def read_shares(conn: sa.Connection, backend: str, instances: Iterable[str]) -> Shares:
    """The shares of the given projects on ``backend`` and of their groups and hubs (one
    query; units without a row count 1)."""
    instances = sorted(set(instances))
    if not instances:
        return Shares()
    grant = sa.and_(
        project_devices.c.instance == projects.c.instance, project_devices.c.backend == backend
    )
    group_of = sa.and_(
        hub_groups.c.hub == projects.c.hub, hub_groups.c.name == projects.c.hub_group
    )
    rows = conn.execute(
        sa.select(
            projects.c.instance,
            projects.c.share.label("project_share"),
            project_devices.c.share.label("device_share"),
            hub_groups.c.share.label("group_share"),
            hubs.c.share.label("hub_share"),
        )
        .select_from(projects)
        .outerjoin(project_devices, grant)
        .outerjoin(hub_groups, group_of)
        .outerjoin(hubs, hubs.c.name == projects.c.hub)
        .where(projects.c.instance.in_(instances))
    ).all()
    hub_share: dict[str, float] = {}
    group_share: dict[str, float] = {}
    project_share: dict[str, float] = {}
    for r in rows:
        hub, group, _ = r.instance.split("/", 2)
        if r.hub_share is not None:
            hub_share[hub] = float(r.hub_share)
        if r.group_share is not None:
            group_share[f"{hub}/{group}"] = float(r.group_share)
        share = r.device_share if r.device_share is not None else r.project_share
        project_share[r.instance] = float(share)
    return Shares(hubs=hub_share, groups=group_share, projects=project_share)


def head_job(backend: str, instance: str) -> sa.Select[Any]:
    """The first QUEUED job of one project on ``backend`` (priority desc, oldest), locked on
    PostgreSQL, skipping rows another claimer holds."""
    return (
        sa.select(jobs.c.id, jobs.c.time_per_step, jobs.c.attempts)
        .where(*_queued(backend, instance))
        .order_by(jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


VERSION_STEP_SECONDS = 5
"""Queue positions computed for a queue state are kept at most this long: usage leaves the
window and reservations begin with time alone."""


def queue_version(conn: sa.Connection, backend: str, now: datetime) -> tuple[Any, ...]:
    """What changes when ``backend``'s fair-share order may change: its queued and running
    jobs (counts), its last job end, the reservation in force, and the current
    ``VERSION_STEP_SECONDS`` step (share changes show within one step)."""
    counts: dict[str, int] = dict(
        conn.execute(
            sa.select(jobs.c.status, sa.func.count())
            .where(
                jobs.c.backend == backend,
                jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
            )
            .group_by(jobs.c.status)
        ).all()
    )
    last_end = conn.execute(
        sa.select(sa.func.max(jobs.c.finished_at)).where(jobs.c.backend == backend)
    ).scalar_one()
    reserved = device_schedule.active_reservation(conn, backend, now)
    step = int(now.timestamp() // VERSION_STEP_SECONDS)
    return (counts.get("QUEUED", 0), counts.get("RUNNING", 0), last_end, reserved, step)
