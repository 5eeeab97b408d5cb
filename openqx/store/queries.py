"""Named statements of ``SqlJobStore``: the reads and picks that carry a rule (claim order,
leases, queue position, counts, search with its filters and keyset pages), and the table
handles the store writes to.

Each function returns a statement; it runs nothing. Every write (the inserts, and the UPDATEs
of claim, renewal, requeue, release, finish, cancel and settings) and a few one-table reads
(``count_users``, ``list_users``, ``backend_job_limit``) are built inline in ``sql_store.py``,
next to the transaction they belong to. ``tag_filters.py`` and ``db_filter.py`` build the tag
and ``db_filter`` conditions that ``search_conditions`` combines.

Claiming follows procrastinate: ``claim_pick`` selects the next QUEUED row with
``FOR UPDATE SKIP LOCKED``, so on PostgreSQL concurrent dispatchers never wait on each other;
SQLite renders no lock clause, and the store's ``BEGIN IMMEDIATE`` write transaction keeps
other writers out between the pick and the update, on both databases the same two statements.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from openqx.core.errors import InvalidFilterError
from openqx.core.status import ACTIVE_STATUSES, JobStatus
from openqx.core.wire import JobQuery
from openqx.store.cursor import Cursor
from openqx.store.db_filter import compile_regexp, parse_datetime, translate_where
from openqx.store.models import BackendSetting, Job, JobTag, User, UserInstance
from openqx.store.tag_filters import TagJobs, tag_in, tagged_jobs

__all__ = [
    "INSTANCES_OF_USER",
    "USER_BY_TOKEN_HASH",
    "backends_with_queued",
    "cancel_requested",
    "claim_pick",
    "count_active",
    "count_queued",
    "expired_leases",
    "in_chunks",
    "last_done_runs",
    "leased_jobs",
    "lock_user",
    "queue_position",
    "search_conditions",
    "search_jobs",
    "select_jobs",
    "user_instances",
    "worker_leases",
]

# Declarative ``__table__`` is typed as FromClause; these are Tables.
jobs = cast(sa.Table, Job.__table__)
job_tags = cast(sa.Table, JobTag.__table__)
users = cast(sa.Table, User.__table__)
user_instance_table = cast(sa.Table, UserInstance.__table__)
backend_settings = cast(sa.Table, BackendSetting.__table__)
_ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)
_QUEUED = JobStatus.QUEUED.value


def select_jobs() -> sa.Select[Any]:
    """Jobs with their owner's name (``owner_name``), the shape ``rows.job_record`` reads."""
    return sa.select(jobs, users.c.name.label("owner_name")).join(
        users, users.c.id == jobs.c.owner_id
    )


USER_BY_TOKEN_HASH = (
    sa.select(users, user_instance_table.c.instance, user_instance_table.c.role)
    .select_from(users.outerjoin(user_instance_table, user_instance_table.c.user_id == users.c.id))
    .where(users.c.token_hash == sa.bindparam("token_hash"))
    .order_by(user_instance_table.c.position)
)
"""The user holding a token digest (parameter ``token_hash``) with its instances, default
first: a row per instance (one with ``instance`` NULL when it has none). Built once, one
statement: every request runs it."""


def user_instances(user_ids: Sequence[int]) -> sa.Select[Any]:
    """Instances of some users, default first."""
    return (
        sa.select(user_instance_table)
        .where(user_instance_table.c.user_id.in_(user_ids))
        .order_by(user_instance_table.c.user_id, user_instance_table.c.position)
    )


INSTANCES_OF_USER = (
    sa.select(user_instance_table)
    .where(user_instance_table.c.user_id == sa.bindparam("user_id"))
    .order_by(user_instance_table.c.position)
)
"""One user's instances, default first (parameter ``user_id``; built once)."""


def in_chunks(values: Sequence[str], size: int = 1000) -> Iterator[list[str]]:
    """``values`` without repeats, ``size`` at a time: one ``IN`` list each, well under every
    database's limit of bound parameters."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def lock_user(owner_id: int) -> sa.Select[Any]:
    """PostgreSQL: lock the owner's row, serialising their submissions (job-limit check)."""
    return sa.select(users.c.id).where(users.c.id == owner_id).with_for_update()


def cancel_requested(job_ids: Sequence[str]) -> sa.Select[Any]:
    """Ids among ``job_ids`` of jobs whose cancellation was requested."""
    return sa.select(jobs.c.id).where(jobs.c.id.in_(list(job_ids)), jobs.c.cancel_requested)


def count_active(owner_id: int, backend: str) -> sa.Select[Any]:
    """Active jobs of one owner on one backend."""
    return (
        sa.select(sa.func.count())
        .select_from(jobs)
        .where(jobs.c.owner_id == owner_id, jobs.c.backend == backend)
        .where(jobs.c.status.in_(_ACTIVE))
    )


def count_queued(backend: str) -> sa.Select[Any]:
    """QUEUED jobs on a backend."""
    return (
        sa.select(sa.func.count())
        .select_from(jobs)
        .where(jobs.c.backend == backend, jobs.c.status == _QUEUED)
    )


def _claim_order() -> tuple[Any, ...]:
    return (jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id)


def claim_pick(backend: str) -> sa.Select[Any]:
    """The next QUEUED job of ``backend``; on PostgreSQL locked, skipping rows other
    claimers hold (SQLite renders no lock: its write transaction excludes other writers)."""
    return (
        sa.select(jobs.c.id, jobs.c.time_per_step, jobs.c.attempts)
        .where(jobs.c.backend == backend, jobs.c.status == _QUEUED)
        .order_by(*_claim_order())
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def backends_with_queued() -> sa.Select[Any]:
    """Backends that have QUEUED jobs."""
    return (
        sa.select(jobs.c.backend)
        .where(jobs.c.status == _QUEUED)
        .distinct()
        .order_by(jobs.c.backend)
    )


def expired_leases(now: datetime) -> sa.Select[Any]:
    """RUNNING jobs whose lease ended before ``now`` (with their cancel flag), locked on
    PostgreSQL so a finish or cancel racing with the requeue waits for it."""
    return (
        sa.select(jobs.c.id, jobs.c.cancel_requested, jobs.c.time_per_step, jobs.c.attempts)
        .where(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_expires_at < now)
        .with_for_update()
    )


def leased_jobs(job_ids: Sequence[str], worker: str) -> sa.Select[Any]:
    """Those of ``job_ids`` that are RUNNING under ``worker``'s lease (with their cancel
    flag), locked on PostgreSQL like ``expired_leases``."""
    return (
        sa.select(jobs.c.id, jobs.c.cancel_requested, jobs.c.time_per_step, jobs.c.attempts)
        .where(
            jobs.c.id.in_(list(job_ids)),
            jobs.c.status == JobStatus.RUNNING.value,
            jobs.c.lease_owner == worker,
        )
        .with_for_update()
    )


def worker_leases(worker: str) -> sa.Select[Any]:
    """Every RUNNING job under ``worker``'s lease (with its cancel flag), locked on
    PostgreSQL like ``expired_leases``: what a restarted dispatcher of that name held."""
    return (
        sa.select(jobs.c.id, jobs.c.cancel_requested, jobs.c.time_per_step, jobs.c.attempts)
        .where(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_owner == worker)
        .with_for_update()
    )


def queue_position(
    backend: str, priority: int, created_at: datetime, job_id: str
) -> sa.Select[Any]:
    """How many QUEUED jobs of ``backend`` come before the given one in claim order."""
    ahead = sa.or_(
        jobs.c.priority > priority,
        sa.and_(
            jobs.c.priority == priority,
            sa.or_(
                jobs.c.created_at < created_at,
                sa.and_(jobs.c.created_at == created_at, jobs.c.id < job_id),
            ),
        ),
    )
    return (
        sa.select(sa.func.count())
        .select_from(jobs)
        .where(jobs.c.backend == backend, jobs.c.status == _QUEUED, ahead)
    )


def last_done_runs(backend: str, last: int) -> sa.Select[Any]:
    """Start and finish times of the last ``last`` DONE jobs of ``backend``."""
    return (
        sa.select(jobs.c.started_at, jobs.c.finished_at)
        .where(
            jobs.c.backend == backend,
            jobs.c.status == JobStatus.DONE.value,
            jobs.c.started_at.is_not(None),
            jobs.c.finished_at.is_not(None),
        )
        .order_by(jobs.c.finished_at.desc())
        .limit(last)
    )


def _tags_condition(
    tags: Sequence[str], operator: str, tag_jobs: TagJobs | None
) -> ColumnElement[bool]:
    """Jobs carrying any (OR) or all (AND) of ``tags``, through ``job_tags``.

    With ``tag_jobs``, a rare tag set (OR) or the rarest tag (AND) drives the query with its
    job ids, read first; without, or when every tag is common, each tag is probed per job (see
    ``tagged_jobs``).
    """
    wanted = list(dict.fromkeys(tags))
    if operator.upper() != "AND" or len(wanted) == 1:
        return tagged_jobs(tag_in(wanted), job_ids=tag_jobs(wanted) if tag_jobs else None)
    found = {tag: tag_jobs([tag]) for tag in wanted} if tag_jobs else {}
    known = {tag: ids for tag, ids in found.items() if ids is not None}
    driver = min(known, key=lambda t: len(known[t])) if known else None
    return sa.and_(
        *(
            tagged_jobs(tag_in([tag]), job_ids=known[tag] if tag == driver else None)
            for tag in wanted
        )
    )


def search_conditions(
    query: JobQuery, owner_id: int | None, tag_jobs: TagJobs | None = None
) -> list[ColumnElement[bool]]:
    """The WHERE conditions for every filter of ``query`` (cursor excepted).

    ``tag_jobs`` reads the job ids of tags (see ``TagJobs``) to pick how tag filters run.

    Raises:
        InvalidFilterError: bad regular expression or ``db_filter``.
    """
    conditions: list[ColumnElement[bool]] = []
    if owner_id is not None:
        conditions.append(jobs.c.owner_id == owner_id)
    if query.backend is not None:
        conditions.append(jobs.c.backend == query.backend)
    if query.kind is not None:
        conditions.append(jobs.c.kind == query.kind)
    if query.status:
        statuses = sorted({JobStatus(s).value for s in query.status})
        conditions.append(
            jobs.c.status == statuses[0] if len(statuses) == 1 else jobs.c.status.in_(statuses)
        )
    if query.name is not None:
        conditions.append(jobs.c.name.regexp_match(compile_regexp(query.name, "name")))
    # parse_datetime: a date that overflows when converted to UTC is a filter error.
    if query.start_datetime is not None:
        start = parse_datetime(query.start_datetime, "start_datetime")
        conditions.append(jobs.c.created_at >= start)
    if query.end_datetime is not None:
        conditions.append(jobs.c.created_at <= parse_datetime(query.end_datetime, "end_datetime"))
    if query.tags:
        conditions.append(_tags_condition(query.tags, query.tags_operator, tag_jobs))
    if query.experiment_id is not None:
        conditions.append(jobs.c.experiment_id == query.experiment_id)
    if query.program_id is not None:
        conditions.append(jobs.c.program_id == query.program_id)
    if query.db_filter:
        conditions.append(translate_where(query.db_filter, tag_jobs))
    return conditions


def search_jobs(
    query: JobQuery,
    owner_id: int | None,
    cursor: Cursor | None,
    limit: int,
    tag_jobs: TagJobs | None = None,
    *,
    visible: ColumnElement[bool] | None = None,
) -> sa.Select[Any]:
    """One page (plus one row, to know whether another page follows) of matching jobs.

    Raises:
        InvalidFilterError: a bad filter, or a cursor of the other direction.
    """
    conditions = search_conditions(query, owner_id, tag_jobs)
    if visible is not None:
        conditions.append(visible)
    key = sa.tuple_(jobs.c.created_at, jobs.c.id)
    if cursor is not None:
        if cursor.descending != query.descending:
            raise InvalidFilterError("The cursor belongs to a query of the other order.")
        after = sa.tuple_(
            sa.literal(cursor.created_at, jobs.c.created_at.type), sa.literal(cursor.id)
        )
        conditions.append(key < after if query.descending else key > after)
    order = (
        (jobs.c.created_at.desc(), jobs.c.id.desc())
        if query.descending
        else (jobs.c.created_at.asc(), jobs.c.id.asc())
    )
    stmt = select_jobs().where(*conditions).order_by(*order).limit(limit + 1)
    if query.skip:
        stmt = stmt.offset(query.skip)
    return stmt
