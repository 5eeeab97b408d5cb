"""The store's side of fair share: read what ``core.fairshare`` needs from one connection.

Every read runs inside the caller's transaction, so the claim's pick and its update see the
same state (on PostgreSQL two replicas compute the same order; the row lock with ``SKIP
LOCKED`` keeps them from taking the same job). A device's state for fair share, read in one
statement (``read_state``):

- whether the device is under maintenance, and the instance it is reserved for now
  (``device_schedule``);
- the queued projects and each one's oldest queued job;
- usage per project: ``usage_seconds`` of the jobs that finished within the window, plus the
  device's mean usage per job for each job running now (its usage is not known before it
  ends, and a device running several jobs at once would otherwise hand the same project
  every free slot). Finished usage is summed per hour in ``device_usage`` as jobs finish
  (``record_usage``): the window's whole hours are read from there, the jobs that finished
  in its first, partial hour from ``jobs``, so the sum is exact without reading every job;
- shares: ``hubs.share``, ``hub_groups.share`` and the project's share on the device
  (``project_devices.share`` where the project has a grant for it, else ``projects.share``).

The statements are built once (bound parameters), so a claim pays no query construction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from openqx.core.fairshare import QueuedJob, Shares
from openqx.core.status import JobStatus
from openqx.store import device_schedule, queries
from openqx.store.models import DeviceUsage, Hub, HubGroup, Job, Project, ProjectDevice
from openqx.store.sqltypes import UTCDateTime

__all__ = [
    "DEFAULT_JOB_SECONDS",
    "HEAD_JOB",
    "DeviceState",
    "QueueColumns",
    "merge_shares",
    "queue_version",
    "read_queue",
    "read_shares",
    "read_state",
    "rebuild_usage",
    "record_usage",
    "rename_usage",
    "usage_in_window",
]

jobs = cast(sa.Table, Job.__table__)
hubs = cast(sa.Table, Hub.__table__)
hub_groups = cast(sa.Table, HubGroup.__table__)
projects = cast(sa.Table, Project.__table__)
project_devices = cast(sa.Table, ProjectDevice.__table__)
device_usage = cast(sa.Table, DeviceUsage.__table__)

DEFAULT_JOB_SECONDS = 1.0
"""Usage assumed for a job on a device that has finished none within the window."""

_BACKEND = sa.bindparam("backend", type_=sa.String())
_NOW = sa.bindparam("now", type_=UTCDateTime())
_SINCE = sa.bindparam("since", type_=UTCDateTime())
_EDGE = sa.bindparam("edge", type_=UTCDateTime())
_QUEUED = jobs.c.status == JobStatus.QUEUED.value
_RUNNING = jobs.c.status == JobStatus.RUNNING.value

_RESERVED = device_schedule.reservation_at(_BACKEND, _NOW).scalar_subquery()
_OFFLINE = device_schedule.maintenance_at(_BACKEND, _NOW).exists()


def _row(kind: str, instance: Any, first_at: Any = None, *numbers: Any) -> sa.Select[Any]:
    """One part of the state statement: ``(kind, instance, first_at, a, b, c, d)``."""
    values = [*numbers, *([None] * (4 - len(numbers)))]
    return sa.select(
        sa.literal(kind, sa.String()).label("kind"),
        sa.type_coerce(instance, sa.String()).label("instance"),
        (sa.cast(sa.null(), UTCDateTime()) if first_at is None else first_at).label("first_at"),
        *(
            (sa.cast(sa.null(), sa.Float()) if v is None else sa.cast(v, sa.Float())).label(n)
            for v, n in zip(values, "abcd", strict=True)
        ),
    )


def _state_statement() -> sa.CompoundSelect[Any]:
    """The device's state as tagged rows (simple parts, cheap to plan):

    - ``q``: a queued project: ``first_at`` its oldest queued job; its shares: ``a`` its own,
      ``b`` its grant's on the device, ``c`` its group's, ``d`` its hub's (None: no row);
    - ``h``: a project's usage in the window's whole hours (``a`` seconds, ``b`` jobs);
    - ``e``: the same for the jobs that finished in the window before its first whole hour;
    - ``r``: a project's running jobs (``a``);
    - ``x``: one row: the reserved instance (``instance``), maintenance now (``a`` 1).
    """
    hours = _row(
        "h",
        device_usage.c.instance,
        None,
        sa.func.sum(device_usage.c.seconds),
        sa.func.sum(device_usage.c.jobs),
    ).where(device_usage.c.backend == _BACKEND, device_usage.c.hour >= _EDGE)
    edge = _row(
        "e",
        jobs.c.instance,
        None,
        sa.func.sum(jobs.c.usage_seconds),
        sa.func.count(jobs.c.usage_seconds),
    ).where(
        jobs.c.backend == _BACKEND,
        jobs.c.finished_at >= _SINCE,
        jobs.c.finished_at < _EDGE,
        jobs.c.usage_seconds.is_not(None),
    )
    running = _row("r", jobs.c.instance, None, sa.func.count()).where(
        jobs.c.backend == _BACKEND, _RUNNING
    )
    heads = (
        sa.select(jobs.c.instance, sa.func.min(jobs.c.created_at).label("first_at"))
        .where(jobs.c.backend == _BACKEND, _QUEUED)
        .group_by(jobs.c.instance)
        .subquery("heads")
    )
    grant = sa.and_(
        project_devices.c.instance == heads.c.instance, project_devices.c.backend == _BACKEND
    )
    group_of = sa.and_(
        hub_groups.c.hub == projects.c.hub, hub_groups.c.name == projects.c.hub_group
    )
    queued = _row(
        "q",
        heads.c.instance,
        heads.c.first_at,
        projects.c.share,
        project_devices.c.share,
        hub_groups.c.share,
        hubs.c.share,
    ).select_from(
        heads.outerjoin(projects, projects.c.instance == heads.c.instance)
        .outerjoin(project_devices, grant)
        .outerjoin(hub_groups, group_of)
        .outerjoin(hubs, hubs.c.name == projects.c.hub)
    )
    device = _row("x", _RESERVED, None, sa.case((_OFFLINE, 1), else_=0))
    return sa.union_all(
        queued,
        hours.group_by(device_usage.c.instance),
        edge.group_by(jobs.c.instance),
        running.group_by(jobs.c.instance),
        device,
    )


_STATE = _state_statement()

_QUEUE = (
    sa.select(
        jobs.c.id,
        jobs.c.instance,
        jobs.c.priority,
        sa.type_coerce(jobs.c.created_at, sa.String()).label("created_at"),  # equality only
    )
    .where(jobs.c.backend == _BACKEND, _QUEUED)
    .order_by(jobs.c.created_at, jobs.c.id)
)
"""A device's queued jobs, oldest first (``ix_jobs_fairshare_queue`` holds every column), the
time as the driver gives it: the rank is all the order needs."""

HEAD_JOB: sa.Select[Any] = (
    queries.select_jobs()
    .where(jobs.c.backend == _BACKEND, _QUEUED, jobs.c.instance == sa.bindparam("instance"))
    .order_by(jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id)
    .limit(1)
    .with_for_update(of=jobs, skip_locked=True)
)
"""The first QUEUED job of one project on a device (parameters ``backend``, ``instance``):
priority desc, then oldest; the whole job (``queries.select_jobs()``), its row locked on
PostgreSQL, skipping rows another claimer holds."""

_VERSION = sa.select(
    sa.select(sa.func.count())
    .select_from(jobs)
    .where(jobs.c.backend == _BACKEND, _QUEUED)
    .scalar_subquery(),
    sa.select(sa.func.count())
    .select_from(jobs)
    .where(jobs.c.backend == _BACKEND, _RUNNING)
    .scalar_subquery(),
    sa.select(sa.func.max(jobs.c.finished_at)).where(jobs.c.backend == _BACKEND).scalar_subquery(),
    _RESERVED,
)


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What fair share reads about one device at one moment."""

    offline: bool
    """The device is under maintenance: nothing starts."""
    reserved: str | None
    """The instance the device is reserved for now."""
    heads: dict[str, QueuedJob]
    """Each queued project's oldest queued job (its time only)."""
    usage: dict[str, float]
    """Device seconds per project in the window, running jobs charged the mean."""
    shares: Shares
    mean_job_seconds: float
    """The device's mean usage per finished job in the window (an estimate per job)."""


@dataclass(frozen=True, slots=True)
class QueueColumns:
    """A device's QUEUED jobs as columns, each project's in its run order."""

    ids: list[str]
    instances: list[str]
    queued: list[int]
    """Each job's queue time as a rank (equal times, equal ranks; older, lower)."""

    def only(self, instance: str) -> QueueColumns:
        """The jobs of one project."""
        return self._where(lambda name: name == instance)

    def without(self, instance: str) -> QueueColumns:
        """The jobs of every project but one."""
        return self._where(lambda name: name != instance)

    def _where(self, keep: Callable[[str], bool]) -> QueueColumns:
        rows = [i for i, name in enumerate(self.instances) if keep(name)]
        return QueueColumns(
            [self.ids[i] for i in rows],
            [self.instances[i] for i in rows],
            [self.queued[i] for i in rows],
        )


def read_state(conn: sa.Connection, backend: str, now: datetime, window: timedelta) -> DeviceState:
    """Read the fair-share state of ``backend`` at ``now`` (one statement)."""
    since = now - window
    params = {"backend": backend, "now": now, "since": since, "edge": _next_hour(since)}
    heads: dict[str, QueuedJob] = {}
    finished: dict[str, list[float]] = {}
    running: dict[str, int] = {}
    tables: _ShareTables = ({}, {}, {})
    reserved: str | None = None
    offline = False
    for kind, instance, first_at, a, b, c, d in conn.execute(_STATE, params).all():
        if kind == "q":
            heads[instance] = QueuedJob("", instance, 0, first_at)
            _add_shares(tables, instance, a, b, c, d)
        elif kind in "he":
            total = finished.setdefault(instance, [0.0, 0.0])
            total[0] += float(a or 0.0)
            total[1] += float(b)
        elif kind == "r":
            running[instance] = int(a)
        else:
            reserved, offline = instance, bool(a)
    usage = {instance: seconds for instance, (seconds, _) in finished.items()}
    count = sum(jobs for _, jobs in finished.values())
    mean = sum(usage.values()) / count if count else DEFAULT_JOB_SECONDS
    mean = mean if mean > 0 else DEFAULT_JOB_SECONDS
    for instance, jobs_running in running.items():
        usage[instance] = usage.get(instance, 0.0) + mean * jobs_running
    return DeviceState(offline, reserved, heads, usage, Shares(*tables), mean)


def read_queue(conn: sa.Connection, backend: str) -> QueueColumns:
    """Every QUEUED job of ``backend`` (one statement, no object per job), each project's in
    its run order: highest ``priority``, then oldest (ties: the id)."""
    rows = conn.execute(_QUEUE, {"backend": backend}).all()
    if not rows:
        return QueueColumns([], [], [])
    ids, instances, priorities, created = (list(column) for column in zip(*rows, strict=True))
    queued: list[int] = []
    rank, previous = -1, None
    for when in created:
        if when != previous:
            rank, previous = rank + 1, when
        queued.append(rank)
    if any(priorities):  # rare: put higher priorities first, keeping the time order
        order = sorted(range(len(ids)), key=lambda i: -priorities[i])
        return QueueColumns(
            [ids[i] for i in order], [instances[i] for i in order], [queued[i] for i in order]
        )
    return QueueColumns(ids, instances, queued)


def usage_in_window(
    conn: sa.Connection, backend: str, now: datetime, window: timedelta
) -> tuple[dict[str, float], float]:
    """Usage per project in the window (running jobs charged the mean) and the mean."""
    state = read_state(conn, backend, now, window)
    return state.usage, state.mean_job_seconds


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
    names: Sequence[str] = sorted(set(instances))
    if not names:
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
        .where(projects.c.instance.in_(names))
    ).all()
    tables: _ShareTables = ({}, {}, {})
    for r in rows:
        _add_shares(tables, r.instance, r.project_share, r.device_share, r.group_share, r.hub_share)
    return Shares(*tables)


_ShareTables = tuple[dict[str, float], dict[str, float], dict[str, float]]


def _add_shares(
    tables: _ShareTables,
    instance: str,
    project: float | None,
    grant: float | None,
    group: float | None,
    hub: float | None,
) -> None:
    """Enter into ``(hubs, groups, projects)`` one project's share on the device (its
    grant's, else its own) and its group's and hub's (None: no row, the default 1)."""
    hubs_share, groups_share, projects_share = tables
    hub_name, group_name, _ = instance.split("/", 2)
    if hub is not None:
        hubs_share[hub_name] = float(hub)
    if group is not None:
        groups_share[f"{hub_name}/{group_name}"] = float(group)
    if project is not None:
        projects_share[instance] = float(grant if grant is not None else project)


VERSION_STEP_SECONDS = 5
"""Queue positions computed for a queue state are kept at most this long: usage leaves the
window and reservations begin with time alone."""


def queue_version(conn: sa.Connection, backend: str, now: datetime) -> tuple[Any, ...]:
    """What changes when ``backend``'s fair-share order may change: its queued and running
    jobs (counts), its last job end, the reservation in force, and the current
    ``VERSION_STEP_SECONDS`` step (share changes show within one step). One statement."""
    queued, running, last_end, reserved = conn.execute(
        _VERSION, {"backend": backend, "now": now}
    ).one()
    step = int(now.timestamp() // VERSION_STEP_SECONDS)
    return (int(queued), int(running), last_end, reserved, step)


def _hour(at: datetime) -> datetime:
    """The start of the hour ``at`` falls in."""
    return at.replace(minute=0, second=0, microsecond=0)


def _next_hour(at: datetime) -> datetime:
    """``at`` when it starts an hour, else the start of the next hour."""
    start = _hour(at)
    return start if start == at else start + timedelta(hours=1)


def record_usage(
    conn: sa.Connection,
    backend: str,
    instance: str,
    finished_at: datetime,
    seconds: float,
    jobs: int = 1,
) -> None:
    """Add the usage of ``jobs`` jobs (one by default) that finished at ``finished_at`` to
    their device, project and hour (``device_usage``); the caller records each job's
    ``usage_seconds`` in the same transaction."""
    conn.execute(
        _add_usage(conn.dialect.name),
        {
            "backend": backend,
            "hour": _hour(finished_at),
            "instance": instance,
            "seconds": seconds,
            "jobs": jobs,
        },
    )


@functools.cache
def _add_usage(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE`` adding to a project's hour on a device, in
    ``dialect``'s words (built once per dialect)."""
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(device_usage)
    return insert.on_conflict_do_update(
        index_elements=[device_usage.c.backend, device_usage.c.hour, device_usage.c.instance],
        set_={
            "seconds": device_usage.c.seconds + insert.excluded.seconds,
            "jobs": device_usage.c.jobs + insert.excluded.jobs,
        },
    )


def rename_usage(conn: sa.Connection, old: str, new: str) -> None:
    """Move the usage recorded for project ``old`` to ``new`` (a project renamed or moved,
    its jobs with it), adding to what ``new`` has in the same hours."""
    rows = conn.execute(sa.select(device_usage).where(device_usage.c.instance == old)).all()
    conn.execute(sa.delete(device_usage).where(device_usage.c.instance == old))
    for r in rows:
        added = conn.execute(
            sa.update(device_usage)
            .where(
                device_usage.c.backend == r.backend,
                device_usage.c.hour == r.hour,
                device_usage.c.instance == new,
            )
            .values(seconds=device_usage.c.seconds + r.seconds, jobs=device_usage.c.jobs + r.jobs)
        )
        if added.rowcount == 0:
            conn.execute(
                sa.insert(device_usage).values(
                    backend=r.backend, hour=r.hour, instance=new, seconds=r.seconds, jobs=r.jobs
                )
            )


def rebuild_usage(conn: sa.Connection) -> None:
    """Recompute ``device_usage`` from the jobs (after jobs were written behind the store's
    back: a bulk load, a restore)."""
    totals: dict[tuple[str, datetime, str], list[float]] = {}
    finished = conn.execute(
        sa.select(jobs.c.backend, jobs.c.instance, jobs.c.finished_at, jobs.c.usage_seconds).where(
            jobs.c.finished_at.is_not(None), jobs.c.usage_seconds.is_not(None)
        )
    )
    for backend, instance, finished_at, seconds in finished:
        total = totals.setdefault((backend, _hour(finished_at), instance), [0.0, 0])
        total[0] += float(seconds)
        total[1] += 1
    conn.execute(sa.delete(device_usage))
    if totals:
        conn.execute(
            sa.insert(device_usage),
            [
                {"backend": b, "hour": h, "instance": i, "seconds": s, "jobs": int(n)}
                for (b, h, i), (s, n) in totals.items()
            ],
        )
