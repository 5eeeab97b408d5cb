"""``SqlJobStore``: the ``JobStore`` port on SQLite or PostgreSQL (SQLAlchemy Core).

Every public method is one transaction (``_transaction``); SQLAlchemy errors become core errors
in ``errors.wrap_exceptions``. Write transactions on SQLite begin IMMEDIATE so that
read-check-write sequences (job limit, cancel) cannot interleave. Every time stamp and lease
comes from the store's ``Clock``, so tests move time with ``ManualClock`` instead of sleeping.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from openqx.core import paging
from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.core.errors import (
    InvalidFilterError,
    InvalidInputError,
    InvalidStateError,
    JobLimitReachedError,
    JobNotFoundError,
)
from openqx.core.fairshare import (
    DEFAULT_WINDOW_DAYS,
    Priorities,
    fair_order_columns,
    pick_order,
)
from openqx.core.fairshare import priorities as fair_priorities
from openqx.core.ids import hash_token
from openqx.core.status import FINAL_STATUSES, JobStatus
from openqx.core.wire import JobQuery
from openqx.store import access, fairshare, tag_filters
from openqx.store import queries as q
from openqx.store.cursor import Cursor, decode_cursor, encode_cursor
from openqx.store.database import Database
from openqx.store.device_schedule import DeviceScheduleStore, reservation_admits
from openqx.store.port import JobEnd
from openqx.store.records import JobRecord, NewJob, UserRecord
from openqx.store.rows import (
    job_record,
    new_job_values,
    steps_from_json,
    steps_to_json,
    user_record,
)
from openqx.store.tenancy_store import TenancyStore

__all__ = ["SqlJobStore", "running_step"]

_jobs = q.jobs


def running_step(attempt: int) -> str:
    """The ``time_per_step`` key stamped when attempt ``attempt`` (1-based) starts:
    ``RUNNING`` for the first, ``RUNNING_2``, ``RUNNING_3``... for retries."""
    return "RUNNING" if attempt <= 1 else f"RUNNING_{attempt}"


def _usage(given: float | None, started_at: datetime | None, at: datetime) -> float | None:
    """The usage to record at a job's end (see ``finish_job``)."""
    if given is not None:
        return max(0.0, float(given))
    if started_at is None:
        return None
    return max(0.0, (at - started_at).total_seconds())


def _stamp(raw: dict[str, str] | None, step: str, at: datetime) -> dict[str, str]:
    """``time_per_step`` (stored form) with ``step`` stamped at ``at``."""
    steps = steps_from_json(raw)
    steps[step] = at
    return steps_to_json(steps)


_INSERT_JOB = sa.insert(_jobs)
_INSERT_TAGS = sa.insert(q.job_tags)
"""Inserts built once, their values given as parameters (``Insert.values`` with a dict
would build and coerce a new statement per job)."""

_FINAL_VALUES = sorted(status.value for status in FINAL_STATUSES)
_JOB = q.select_jobs().where(_jobs.c.id == sa.bindparam("job_id"))
"""One job by id (built once: every write reads its job back)."""
_BACKENDS_WITH_QUEUED = q.backends_with_queued()
"""Built once: every dispatch pass reads it."""
_IDS: sa.BindParameter[list[str]] = sa.bindparam("ids", expanding=True)
_JOBS_BY_ID = q.select_jobs().where(_jobs.c.id.in_(_IDS))
"""Jobs by id (parameter ``ids``; ``_job_rows`` reads one by ``_JOB``: an expanding ``IN``
costs more than the read)."""
_FINAL_JOBS_BY_ID = _JOBS_BY_ID.where(_jobs.c.status.in_(_FINAL_VALUES))
_ACCESS_BY_ID = sa.select(
    _jobs.c.id, _jobs.c.owner_id, _jobs.c.instance, _jobs.c.share_level
).where(_jobs.c.id.in_(_IDS))
"""Jobs by id (parameter ``ids``), built once: every wait for jobs reads them."""

_CLAIM = (
    sa.update(_jobs)
    .where(_jobs.c.id == sa.bindparam("claim_id"))
    .values(
        snapshot_id=sa.func.coalesce(
            sa.bindparam("claim_snapshot", type_=_jobs.c.snapshot_id.type), _jobs.c.snapshot_id
        ),
        status=JobStatus.RUNNING.value,
        lease_owner=sa.bindparam("claim_worker", type_=_jobs.c.lease_owner.type),
        lease_expires_at=sa.bindparam("claim_expires", type_=_jobs.c.lease_expires_at.type),
        started_at=sa.bindparam("claim_at", type_=_jobs.c.started_at.type),
        updated_at=sa.bindparam("claim_at", type_=_jobs.c.updated_at.type),
        cancel_requested=False,
        attempts=sa.bindparam("claim_attempts", type_=_jobs.c.attempts.type),
        run_mode=sa.bindparam("claim_mode", type_=_jobs.c.run_mode.type),
        time_per_step=sa.bindparam("claim_steps", type_=_jobs.c.time_per_step.type),
    )
)
"""A QUEUED job becomes RUNNING under a lease (built once; ``claim_snapshot`` None keeps the
job's calibration snapshot)."""

_FINISH = (
    sa.update(_jobs)
    .where(
        _jobs.c.id == sa.bindparam("end_id"),
        *(_jobs.c.status != s.value for s in FINAL_STATUSES),
    )
    .values(
        status=sa.bindparam("end_status", type_=_jobs.c.status.type),
        result_key=sa.bindparam("end_result", type_=_jobs.c.result_key.type),
        error_code=sa.bindparam("end_code", type_=_jobs.c.error_code.type),
        error_message=sa.bindparam("end_message", type_=_jobs.c.error_message.type),
        run_mode=sa.bindparam("end_mode", type_=_jobs.c.run_mode.type),
        usage_seconds=sa.bindparam("end_usage", type_=_jobs.c.usage_seconds.type),
        finished_at=sa.bindparam("end_at", type_=_jobs.c.finished_at.type),
        updated_at=sa.bindparam("end_at", type_=_jobs.c.updated_at.type),
        lease_owner=None,
        lease_expires_at=None,
        time_per_step=sa.bindparam("end_steps", type_=_jobs.c.time_per_step.type),
    )
)
"""A job that is not final yet ends (built once; parameters from ``_end``, one
set per job: ``finish_jobs`` runs it once for a whole batch)."""


def _final_status(status: JobStatus) -> JobStatus:
    """``status`` as a ``JobStatus``; InvalidInputError unless it is final."""
    status = JobStatus(status)
    if status not in FINAL_STATUSES:
        raise InvalidInputError(f"finish_job needs a final status, not {status.value}.")
    return status


def _job_rows(conn: sa.Connection, ids: Sequence[str]) -> Sequence[sa.Row[Any]]:
    """The rows (``queries.select_jobs()``'s shape) of the jobs of ``ids`` that exist, by
    statements built once."""
    if len(ids) == 1:
        return conn.execute(_JOB, {"job_id": ids[0]}).all()
    return [row for chunk in q.in_chunks(ids) for row in conn.execute(_JOBS_BY_ID, {"ids": chunk})]


def _end(job: JobRecord, end: JobEnd, at: datetime) -> dict[str, Any]:
    """The ``_FINISH`` parameters that end ``job`` at ``at`` as ``end`` says (its usage in
    ``end_usage``: the caller adds it to fair share)."""
    usage = _usage(end.usage_seconds, job.started_at, at)
    return {
        "end_id": job.id,
        "end_status": end.status.value,
        "end_result": end.result_key,
        "end_code": end.error_code,
        "end_message": end.error_message,
        "end_mode": end.run_mode if end.run_mode is not None else job.run_mode,
        "end_usage": usage,
        "end_at": at,
        "end_steps": steps_to_json({**job.time_per_step, end.status.value: at}),
    }


def _ended(job: JobRecord, values: dict[str, Any]) -> JobRecord:
    """``job`` as ``_FINISH`` with ``values`` leaves it (what reading it back would give)."""
    return dataclasses.replace(
        job,
        status=JobStatus(values["end_status"]),
        result_key=values["end_result"],
        error_code=values["end_code"],
        error_message=values["end_message"],
        run_mode=values["end_mode"],
        usage_seconds=values["end_usage"],
        finished_at=values["end_at"],
        updated_at=values["end_at"],
        lease_owner=None,
        lease_expires_at=None,
        time_per_step=steps_from_json(values["end_steps"]),
    )


FAIRSHARE = "fairshare"
DEDICATED = "dedicated"
"""``run_mode`` of a job claimed in fair share / during its instance's reservation."""


def _as_run(record: JobRecord, snapshot_id: str | None) -> JobRecord:
    """``record`` with the calibration its claim gives it (``snapshot_id`` when given)."""
    return record if snapshot_id is None else dataclasses.replace(record, snapshot_id=snapshot_id)


def _claimed(
    row: sa.Row[Any],
    before: JobRecord,
    worker: str,
    lease_seconds: float,
    snapshot_id: str | None,
    run_mode: str,
    at: datetime,
) -> tuple[dict[str, Any], JobRecord]:
    """The ``_CLAIM`` parameters that make a QUEUED job (``row``, as
    ``queries.select_jobs()`` read it; ``before``, its record) RUNNING under ``worker``'s
    lease, and the job after."""
    attempt = int(row.attempts or 0) + 1
    expires = at + timedelta(seconds=lease_seconds)
    steps = _stamp(row.time_per_step, running_step(attempt), at)
    values = {
        "claim_id": row.id,
        "claim_snapshot": snapshot_id,
        "claim_worker": worker,
        "claim_expires": expires,
        "claim_at": at,
        "claim_attempts": attempt,
        "claim_mode": run_mode,
        "claim_steps": steps,
    }
    return values, dataclasses.replace(
        before,
        status=JobStatus.RUNNING,
        snapshot_id=before.snapshot_id if snapshot_id is None else snapshot_id,
        lease_owner=worker,
        lease_expires_at=expires,
        started_at=at,
        updated_at=at,
        cancel_requested=False,
        attempts=attempt,
        run_mode=run_mode,
        time_per_step=steps_from_json(steps),
    )


class SqlJobStore(TenancyStore, DeviceScheduleStore):
    """The job store on a ``Database`` (open it before use; the store does not own it)."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock = SYSTEM_CLOCK,
        fairshare_window: timedelta = timedelta(days=DEFAULT_WINDOW_DAYS),
    ) -> None:
        """Use ``database`` (SQLite or PostgreSQL) for every query.

        Args:
            database: an opened, migrated database.
            clock: the source of every time stamp and lease expiry.
            fairshare_window: the rolling window fair share counts usage over.
        """
        self.database = database
        self.clock = clock
        self.fairshare_window = fairshare_window
        self._fair_orders: dict[str, tuple[tuple[Any, ...], dict[str, int]]] = {}
        """Per backend: the queue version and the fair-share positions computed for it."""

    # --- plumbing -------------------------------------------------------------------------
    @property
    def _postgresql(self) -> bool:
        return self.database.dialect == "postgresql"

    def _transaction(
        self, *, write: bool = False, integrity_message: str | None = None
    ) -> AbstractContextManager[sa.Connection]:
        """``Database.transaction``: one transaction, errors translated."""
        return self.database.transaction(write=write, integrity_message=integrity_message)

    def unit_of_work(self) -> AbstractContextManager[None]:
        """``Database.unit_of_work``: the store calls of this thread inside the block (and
        the database blob store's) in one write transaction."""
        return self.database.unit_of_work()

    def _job(self, conn: sa.Connection, job_id: str) -> JobRecord:
        row = conn.execute(_JOB, {"job_id": job_id}).first()
        if row is None:
            raise JobNotFoundError(job_id)
        return job_record(row)

    def _user(self, conn: sa.Connection, row: sa.Row[Any]) -> UserRecord:
        return user_record(row, conn.execute(q.INSTANCES_OF_USER, {"user_id": row.id}).all())

    # --- users ----------------------------------------------------------------------------
    def count_users(self) -> int:
        """Number of users (0 on a fresh database)."""
        with self._transaction() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(q.users)).scalar_one())

    def create_user(
        self, name: str, token: str, *, is_admin: bool = False, instances: Sequence[str] = ()
    ) -> UserRecord:
        """Insert a user with its token hashed (sha256) and its instances, default first.

        Raises:
            InvalidInputError: the name, or the token, is taken (the message says which).
        """
        token_hash = hash_token(token)
        with self._transaction(
            write=True, integrity_message=f"User {name!r} or that token is already in use."
        ) as conn:
            self._check_new_user(conn, name, token_hash)
            row = conn.execute(
                sa.insert(q.users)
                .values(
                    name=name,
                    token_hash=token_hash,
                    is_admin=is_admin,
                    created_at=self.clock.now(),
                )
                .returning(*q.users.c)
            ).one()
            unique = list(dict.fromkeys(instances))
            for instance in unique:
                self._ensure_units(conn, instance)
            if unique:
                conn.execute(
                    sa.insert(q.user_instance_table),
                    [
                        {"user_id": row.id, "instance": inst, "position": i}
                        for i, inst in enumerate(unique)
                    ],
                )
            return self._user(conn, row)

    def user_for_token(self, token: str) -> UserRecord:
        """The user owning ``token``.

        Raises:
            AuthenticationError: no user has this token.
        """
        return self.user_for_token_hash(hash_token(token))

    def list_users(self) -> list[UserRecord]:
        """Every user, by id."""
        with self._transaction() as conn:
            rows = conn.execute(sa.select(q.users).order_by(q.users.c.id)).all()
            held: dict[int, list[Any]] = {}
            if rows:
                for inst in conn.execute(q.user_instances([r.id for r in rows])):
                    held.setdefault(inst.user_id, []).append(inst)
            return [user_record(r, held.get(r.id, [])) for r in rows]

    # --- backend settings -------------------------------------------------------------------
    def backend_job_limit(self, backend: str) -> int | None:
        """The per-user active-job limit of ``backend`` (None: no limit)."""
        return self.configured_job_limit(backend)[1]

    def set_backend_job_limit(self, backend: str, maximum_jobs: int | None) -> None:
        """Configure the per-user active-job limit of ``backend`` (None removes it).

        Raises:
            InvalidInputError: a negative limit.
        """
        if maximum_jobs is not None and maximum_jobs < 0:
            raise InvalidInputError("maximum_jobs must be >= 0 or None.")
        insert = postgresql.insert if self._postgresql else sqlite.insert
        stmt = insert(q.backend_settings).values(backend=backend, maximum_jobs=maximum_jobs)
        stmt = stmt.on_conflict_do_update(
            index_elements=[q.backend_settings.c.backend],
            set_={"maximum_jobs": maximum_jobs},
        )
        with self._transaction(write=True) as conn:
            conn.execute(stmt)

    # --- jobs: write ----------------------------------------------------------------------
    def create_job(self, job: NewJob, *, max_active: int | None = None) -> JobRecord:
        """Insert a QUEUED job, checking ``max_active`` in the same transaction.

        Raises:
            JobLimitReachedError: the owner has ``max_active`` active jobs on the backend.
            InvalidInputError: duplicate id or unknown owner.
        """
        return self.create_jobs([job], max_active={job.backend: max_active})[0]

    def create_jobs(
        self, jobs: Sequence[NewJob], *, max_active: Mapping[str, int | None] | None = None
    ) -> list[JobRecord]:
        """Insert QUEUED jobs in one transaction: all of them or none. ``max_active`` maps a
        backend to its limit of active jobs per owner and instance, checked in the same
        transaction counting the new jobs.

        Raises:
            JobLimitReachedError: the new jobs would take an owner over a backend's limit.
            InvalidInputError: a duplicate id or an unknown owner.
        """
        if not jobs:
            return []
        now = self.clock.now()
        first = jobs[0]
        with self._transaction(
            write=True,
            integrity_message=f"Job {first.id} cannot be stored (duplicate id or "
            f"unknown owner {first.owner_id}).",
        ) as conn:
            self._check_job_limits(conn, jobs, max_active or {})
            values = [new_job_values(job, now) for job in jobs]
            conn.execute(_INSERT_JOB, values)
            tags = [{"job_id": v["id"], "tag": t} for v in values for t in v["tags"]]
            if tags:
                conn.execute(_INSERT_TAGS, tags)
            ids = [job.id for job in jobs]
            by_id = {row.id: job_record(row) for row in _job_rows(conn, ids)}
            return [by_id[job_id] for job_id in ids]

    def _check_job_limits(
        self, conn: sa.Connection, jobs: Sequence[NewJob], max_active: Mapping[str, int | None]
    ) -> None:
        """Raise JobLimitReachedError when ``jobs`` would take an owner over the active-job
        limit of a backend (``max_active``) through an instance."""
        new: Counter[tuple[int, str, str]] = Counter(
            (job.owner_id, job.backend, job.instance) for job in jobs
        )
        locked: set[int] = set()
        for (owner_id, backend, instance), count in sorted(new.items()):
            limit = max_active.get(backend)
            if limit is None:
                continue
            if self._postgresql and owner_id not in locked:
                conn.execute(q.lock_user(owner_id))
                locked.add(owner_id)
            active = int(
                conn.execute(access.count_active_in(owner_id, backend, instance)).scalar_one()
            )
            if active + count > limit:
                message = (
                    f"Maximum number of active jobs ({limit}) on backend {backend} reached."
                    if count == 1
                    else f"{count} new jobs would exceed the maximum number of active jobs "
                    f"({limit}) on backend {backend}: {active} are active."
                )
                raise JobLimitReachedError(
                    message, backend=backend, maximum_jobs=limit, running_jobs=active
                )

    def update_job(
        self, job_id: str, *, name: str | None = None, tags: Sequence[str] | None = None
    ) -> JobRecord:
        """Set the name and/or the full tag list.

        Raises:
            JobNotFoundError: no such job.
        """
        values: dict[str, Any] = {"updated_at": self.clock.now()}
        if name is not None:
            values["name"] = name
        unique = None if tags is None else list(dict.fromkeys(tags))
        if unique is not None:
            values["tags"] = unique
        with self._transaction(write=True) as conn:
            updated = conn.execute(sa.update(_jobs).where(_jobs.c.id == job_id).values(**values))
            if updated.rowcount == 0:
                raise JobNotFoundError(job_id)
            if unique is not None:
                conn.execute(sa.delete(q.job_tags).where(q.job_tags.c.job_id == job_id))
                if unique:
                    conn.execute(
                        sa.insert(q.job_tags), [{"job_id": job_id, "tag": t} for t in unique]
                    )
            return self._job(conn, job_id)

    def claim_next(
        self, backend: str, worker: str, lease_seconds: float, snapshot_id: str | None = None
    ) -> JobRecord | None:
        """Move the next QUEUED job of ``backend`` to RUNNING, leased to ``worker`` (and
        running with calibration ``snapshot_id`` when given).

        The pick locks its row on PostgreSQL (skipping rows other claimers hold); on SQLite the
        write transaction (``BEGIN IMMEDIATE``) already excludes other writers.
        """
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            found = self._fair_pick(conn, backend, at)
            if found is None:
                return None
            picked, run_mode = found
            return self._claim_row(conn, picked, worker, lease_seconds, snapshot_id, run_mode, at)

    def _fair_pick(
        self, conn: sa.Connection, backend: str, at: datetime
    ) -> tuple[sa.Row[Any], str] | None:
        """The job fair share runs next on ``backend`` (row locked on PostgreSQL) and its run
        mode; None under maintenance or when nothing (of the reserved instance) is queued."""
        state = fairshare.read_state(conn, backend, at, self.fairshare_window)
        if state.offline:
            return None
        heads, reserved = state.heads, state.reserved
        if reserved is not None:
            heads = {i: job for i, job in heads.items() if reservation_admits(reserved, i)}
        for instance in pick_order(heads, state.shares, state.usage):
            row = conn.execute(fairshare.HEAD_JOB, {"backend": backend, "instance": instance})
            found = row.first()
            if found is not None:  # None: another claimer holds that project's queued jobs
                return found, DEDICATED if reserved is not None else FAIRSHARE
        return None

    def claim_batch(
        self,
        backend: str,
        worker: str,
        lease_seconds: float,
        *,
        key: Callable[[JobRecord], Hashable | None],
        limit: int,
        snapshot_id: str | None = None,
        window: int | None = None,
    ) -> list[JobRecord]:
        """Claim the job ``claim_next`` would and, in the same transaction, up to ``limit − 1``
        more QUEUED jobs of ``backend`` with the same ``key`` (a micro-batch; ``key`` ``None``:
        the first job runs alone), taken in fair-share order (``fair_queue``'s order, only the
        reserved instance's jobs during a reservation) among the next ``window`` queued jobs
        (default ``4 × limit``); jobs between them with another key keep their place. ``key``
        sees each job as it will run (with ``snapshot_id`` when given). Every job is leased,
        stamped and counted as ``claim_next`` does. Returns ``[]`` when nothing can
        be claimed (nothing queued, maintenance, or another claimer holds the jobs)."""
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            found = self._fair_pick(conn, backend, at)
            if found is None:
                return []
            picked, run_mode = found
            first = self._claim_row(conn, picked, worker, lease_seconds, snapshot_id, run_mode, at)
            batch_key = key(first) if limit > 1 else None
            if batch_key is None:
                return [first]
            order = self._fair_order(conn, backend, at, reserved_only=True)
            order = order[: window or 4 * limit]
            claimed = [first]
            updates: list[dict[str, Any]] = []
            # The candidates are read a batch's worth at a time, in order: usually the first
            # ones fill the batch and the rest of the window is never read.
            for start in range(0, len(order), limit):
                if len(claimed) >= limit:
                    break
                chunk = order[start : start + limit]
                lock = sa.select(_jobs.c.id).where(
                    _jobs.c.id.in_(chunk), _jobs.c.status == JobStatus.QUEUED.value
                )
                if self._postgresql:  # rows other claimers hold are skipped
                    lock = lock.with_for_update(skip_locked=True)
                free = list(conn.execute(lock).scalars())
                rows = {row.id: row for row in _job_rows(conn, free)}
                for job_id in chunk:
                    if len(claimed) >= limit:
                        break
                    row = rows.get(job_id)
                    if row is None:
                        continue
                    before = job_record(row)
                    if key(_as_run(before, snapshot_id)) != batch_key:
                        continue
                    values, record = _claimed(
                        row, before, worker, lease_seconds, snapshot_id, run_mode, at
                    )
                    updates.append(values)
                    claimed.append(record)
            if updates:
                conn.execute(_CLAIM, updates)  # one statement, executed for every job
            return claimed

    def _claim_row(
        self,
        conn: sa.Connection,
        row: sa.Row[Any],
        worker: str,
        lease_seconds: float,
        snapshot_id: str | None,
        run_mode: str,
        at: datetime,
    ) -> JobRecord:
        """Mark a QUEUED job RUNNING under ``worker``'s lease (``_claimed``); ``row`` is the
        job as ``queries.select_jobs()`` read it (locked), the result the job after."""
        values, record = _claimed(
            row, job_record(row), worker, lease_seconds, snapshot_id, run_mode, at
        )
        conn.execute(_CLAIM, values)
        return record

    def backends_with_queued_jobs(self) -> list[str]:
        """Names of backends that have at least one QUEUED job."""
        with self._transaction() as conn:
            return list(conn.execute(_BACKENDS_WITH_QUEUED).scalars())

    def cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Those of ``job_ids`` whose cancellation was requested (one query)."""
        if not job_ids:
            return set()
        with self._transaction() as conn:
            return set(conn.execute(q.cancel_requested(job_ids)).scalars())

    def renew_lease(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> list[str]:
        """Extend the lease of RUNNING jobs held by ``worker`` to now + ``lease_seconds``;
        return the ids renewed (a job missing from them is no longer this worker's)."""
        if not job_ids:
            return []
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            renewed = conn.execute(
                sa.update(_jobs)
                .where(
                    _jobs.c.id.in_(list(job_ids)),
                    _jobs.c.lease_owner == worker,
                    _jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(lease_expires_at=at + timedelta(seconds=lease_seconds), updated_at=at)
                .returning(_jobs.c.id)
            )
            return list(renewed.scalars())

    def requeue_expired(self) -> list[str]:
        """Put RUNNING jobs whose lease expired back to QUEUED and return their ids.

        A job whose cancellation was requested becomes CANCELLED instead (not returned).
        """
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            return self._release(conn, q.expired_leases(at), at)

    def release_jobs(self, job_ids: Sequence[str], worker: str) -> list[str]:
        """Put RUNNING jobs leased by ``worker`` back to QUEUED at once and return their ids.

        For a stopping dispatcher that hands its jobs back instead of waiting for their leases
        to expire. Jobs not RUNNING or leased by another worker are left alone; a job whose
        cancellation was requested becomes CANCELLED instead (not returned).
        """
        if not job_ids:
            return []
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            return self._release(conn, q.leased_jobs(job_ids, worker), at, refund=True)

    def retry_job(self, job_id: str, worker: str) -> bool:
        """Put a RUNNING job leased by ``worker`` back to QUEUED for another attempt (its
        worker died); the attempt stays counted. False (nothing changed) when the job is not
        RUNNING under that lease, or ends CANCELLED because a cancel was requested."""
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            return bool(self._release(conn, q.leased_jobs([job_id], worker), at))

    def release_worker_jobs(self, worker: str) -> list[str]:
        """Put every RUNNING job leased by ``worker`` back to QUEUED at once and return their
        ids: a dispatcher restarting under a stable name takes back what its previous run
        held, without waiting for the leases to expire. Cancel requested: CANCELLED."""
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            return self._release(conn, q.worker_leases(worker), at)

    def _release(
        self, conn: sa.Connection, leased: sa.Select[Any], at: datetime, *, refund: bool = False
    ) -> list[str]:
        """Clear the lease of the RUNNING jobs ``leased`` selects (rows locked): QUEUED again,
        or CANCELLED when a cancel was requested. Returns the ids put back in the queue.
        ``refund``: the interrupted attempt does not count (a stop, not a failure)."""
        requeued: list[str] = []
        for row in conn.execute(leased).all():
            final = row.cancel_requested
            status = JobStatus.CANCELLED if final else JobStatus.QUEUED
            attempts = int(row.attempts or 0)
            steps = row.time_per_step
            if refund and not final and attempts > 0:
                steps = steps_to_json(
                    {
                        step: when
                        for step, when in steps_from_json(steps).items()
                        if step != running_step(attempts) or attempts == 1
                    }
                )
                attempts -= 1
            conn.execute(
                sa.update(_jobs)
                .where(_jobs.c.id == row.id)
                .values(
                    attempts=attempts,
                    status=status.value,
                    lease_owner=None,
                    lease_expires_at=None,
                    started_at=None,
                    updated_at=at,
                    finished_at=at if final else None,
                    time_per_step=_stamp(steps, status.value, at),
                )
            )
            if not final:
                requeued.append(row.id)
        return requeued

    def finish_job(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result_key: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        run_mode: str | None = None,
        usage_seconds: float | None = None,
    ) -> JobRecord:
        """Move a job to DONE, ERROR or CANCELLED, stamping it and clearing the lease.

        ``usage_seconds`` is the device time the job consumed; when not given, a job that
        started is charged its host seconds (start to now). ``run_mode`` None keeps the mode
        its claim recorded. The job returned is the one read before the update with the
        update applied (no second read).

        Raises:
            InvalidInputError: ``status`` is not final.
            InvalidStateError: the job is final already.
            JobNotFoundError: no such job.
        """
        end = JobEnd(
            job_id,
            _final_status(status),
            result_key=result_key,
            error_code=error_code,
            error_message=error_message,
            run_mode=run_mode,
            usage_seconds=usage_seconds,
        )
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            job = self._job(conn, job_id)
            if job.status.is_final:
                raise InvalidStateError(
                    f"Job {job_id} is already {job.status.value}.", job_id=job_id
                )
            values = _end(job, end, at)
            if values["end_usage"] is not None:
                fairshare.record_usage(conn, job.backend, job.instance, at, values["end_usage"])
            conn.execute(_FINISH, values)
            return _ended(job, values)

    def finish_jobs(self, ends: Sequence[JobEnd]) -> list[JobRecord]:
        """End several jobs in one transaction (a micro-batch's outcomes), each as
        ``finish_job`` would; unknown or already final jobs are skipped. Returns the jobs
        that ended as they are now (read before the update, the update applied), in the
        order given.

        Raises:
            InvalidInputError: a status is not final (nothing is recorded).
        """
        checked = [dataclasses.replace(e, status=_final_status(e.status)) for e in ends]
        if not checked:
            return []
        at = self.clock.now()
        ids = list(dict.fromkeys(e.job_id for e in checked))
        with self._transaction(write=True) as conn:
            rows = _job_rows(conn, ids)
            open_jobs = {r.id: job_record(r) for r in rows}
            params: list[dict[str, Any]] = []
            ended: list[JobRecord] = []
            used: dict[tuple[str, str], list[float]] = {}  # (device, project): seconds, jobs
            for end in checked:
                job = open_jobs.pop(end.job_id, None)  # a repeated id ends once
                if job is None or job.status.is_final:
                    continue
                values = _end(job, end, at)
                if values["end_usage"] is not None:
                    total = used.setdefault((job.backend, job.instance), [0.0, 0])
                    total[0] += values["end_usage"]
                    total[1] += 1
                params.append(values)
                ended.append(_ended(job, values))
            for (backend, instance), (seconds, jobs) in used.items():
                fairshare.record_usage(conn, backend, instance, at, seconds, int(jobs))
            if params:
                conn.execute(_FINISH, params)
        return ended

    def request_cancel(self, job_id: str) -> JobRecord:
        """Cancel a job: not yet running → CANCELLED now; RUNNING → ``cancel_requested``.

        A final job is returned unchanged.

        Raises:
            JobNotFoundError: no such job.
        """
        at = self.clock.now()
        with self._transaction(write=True) as conn:
            job = self._job(conn, job_id)
            if job.status.is_final:
                return job
            stmt = sa.update(_jobs).where(_jobs.c.id == job_id)
            if job.status is JobStatus.RUNNING:
                conn.execute(stmt.values(cancel_requested=True, updated_at=at))
            else:
                cancelled = JobStatus.CANCELLED.value
                conn.execute(
                    stmt.values(
                        status=cancelled,
                        cancel_requested=True,
                        finished_at=at,
                        updated_at=at,
                        time_per_step=steps_to_json({**job.time_per_step, cancelled: at}),
                    )
                )
            return self._job(conn, job_id)

    # --- jobs: read -----------------------------------------------------------------------
    def get_job(self, job_id: str) -> JobRecord:
        """One job.

        Raises:
            JobNotFoundError: no such job.
        """
        with self._transaction() as conn:
            return self._job(conn, job_id)

    def job_access(self, job_ids: Sequence[str]) -> dict[str, tuple[int, str, str]]:
        """Who may see each existing job of ``job_ids``: its owner id, instance and share
        level, by id (three columns; one query per thousand ids)."""
        found: dict[str, tuple[int, str, str]] = {}
        with self._transaction() as conn:
            for chunk in q.in_chunks(job_ids):
                for row in conn.execute(_ACCESS_BY_ID, {"ids": chunk}):
                    found[row.id] = (int(row.owner_id), row.instance, row.share_level)
        return found

    def get_jobs(self, job_ids: Sequence[str], *, final_only: bool = False) -> dict[str, JobRecord]:
        """The jobs of ``job_ids`` that exist (with ``final_only``: that are DONE, CANCELLED
        or ERROR), by id; one query per thousand ids."""
        found: dict[str, JobRecord] = {}
        select = _FINAL_JOBS_BY_ID if final_only else _JOBS_BY_ID
        with self._transaction() as conn:
            for chunk in q.in_chunks(job_ids):
                for row in conn.execute(select, {"ids": chunk}):
                    found[row.id] = job_record(row)
        return found

    def search_jobs(
        self,
        query: JobQuery,
        *,
        visible_to: UserRecord | None = None,
        scope: str = "own",
        instance: str | None = None,
    ) -> tuple[list[JobRecord], str | None]:
        """One page of jobs matching every filter of ``query``, and the next page's cursor.

        Pages are keyed on ``(created_at, id)``; ``skip`` is applied after the cursor (keep it
        small). ``ids_only`` still returns full records (they hold no blobs, so they are
        cheap); callers pick the fields they need.

        Raises:
            InvalidFilterError: bad regexp, ``db_filter``, ``limit``/``skip`` or cursor.
        """
        for name, check in (("limit", paging.check_limit), ("skip", paging.check_skip)):
            try:
                check(getattr(query, name))
            except ValueError as exc:
                raise InvalidFilterError(str(exc), field=name) from None
        limit = paging.page_size(query.limit)
        cursor = decode_cursor(query.cursor) if query.cursor else None
        visible = (
            access.listing_condition(visible_to.viewer, scope) if visible_to is not None else None
        )
        if instance is not None:
            in_instance = q.jobs.c.instance == instance
            visible = in_instance if visible is None else sa.and_(visible, in_instance)
        with self._transaction() as conn:

            def tag_jobs(tags: Sequence[str]) -> list[str] | None:
                lookup = tag_filters.tag_job_ids(tags, tag_filters.TAG_COLLECT_LIMIT)
                count, joined = conn.execute(lookup).one()
                if count >= tag_filters.TAG_COLLECT_LIMIT:
                    return None
                return joined.split(",") if joined else []

            stmt = q.search_jobs(query, None, cursor, limit, tag_jobs, visible=visible)
            rows = conn.execute(stmt).all()
        page = [job_record(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit and page:
            last = page[-1]
            next_cursor = encode_cursor(Cursor(last.created_at, last.id, query.descending))
        return page, next_cursor

    def count_active(self, owner_id: int, backend: str) -> int:
        """Active (non-final) jobs of one user on one backend."""
        with self._transaction() as conn:
            return int(conn.execute(q.count_active(owner_id, backend)).scalar_one())

    def count_queued(self, backend: str) -> int:
        """QUEUED jobs on a backend."""
        with self._transaction() as conn:
            return int(conn.execute(q.count_queued(backend)).scalar_one())

    def queue_position(self, job: JobRecord) -> int | None:
        """1-based position of ``job`` (as read by the caller) in its backend's fair-share
        order (``fair_queue``); None if it is not QUEUED.

        The order is computed once per state of the device's queue (``fairshare.
        queue_version``: jobs queued and running, the last end, a 5-second time step) and
        kept, so status polls of many jobs cost one cheap read each. No order is computed
        when the device's queue holds one job (it is first: a job just submitted to an idle
        device) or none (the job has been claimed since it was read)."""
        if job.status is not JobStatus.QUEUED:
            return None
        now = self.clock.now()
        with self._transaction() as conn:
            version = fairshare.queue_version(conn, job.backend, now)
            queued = version[0]
            if queued <= 1:
                return queued or None
            cached = self._fair_orders.get(job.backend)
            if cached is None or cached[0] != version or job.id not in cached[1]:
                order = self._fair_order(conn, job.backend, now)
                cached = (version, {job_id: i + 1 for i, job_id in enumerate(order)})
                self._fair_orders[job.backend] = cached
        return cached[1].get(job.id)

    def fair_queue(self, backend: str, *, stop_at: str | None = None) -> list[str]:
        """Ids of the QUEUED jobs of ``backend`` in the order fair share will start them
        (each pick charged the device's mean usage per job); ``stop_at``: up to that job.

        During a reservation its instance's jobs come first, the others after it in fair-share
        order as if the reservation were over."""
        with self._transaction() as conn:
            return self._fair_order(conn, backend, self.clock.now(), stop_at=stop_at)

    def _fair_order(
        self,
        conn: sa.Connection,
        backend: str,
        at: datetime,
        *,
        stop_at: str | None = None,
        reserved_only: bool = False,
    ) -> list[str]:
        """``fair_queue`` read on ``conn`` at ``at``; ``reserved_only``: during a reservation,
        only the reserved instance's jobs (those a claim may take now)."""
        queue = fairshare.read_queue(conn, backend)
        if not queue.ids:  # e.g. a claim that took the only queued job: no state to read
            return []
        state = fairshare.read_state(conn, backend, at, self.fairshare_window)
        reserved = state.reserved
        parts = [queue]
        if reserved is not None:
            parts = [queue.only(reserved)]
            if not reserved_only:
                parts.append(queue.without(reserved))
        order: list[str] = []
        for part in parts:
            order += fair_order_columns(
                part.ids,
                part.instances,
                part.queued,
                state.shares,
                state.usage,
                estimate_seconds=state.mean_job_seconds,
                stop_at=stop_at,
            )
            if stop_at in order:
                break
        return order

    def fair_share_priorities(self, job: JobRecord) -> Priorities:
        """Hub, group and project fair-share factors of ``job``'s project on its device now
        (``core.fairshare.priorities``)."""
        at = self.clock.now()
        with self._transaction() as conn:
            state = fairshare.read_state(conn, job.backend, at, self.fairshare_window)
            shares = state.shares
            if job.instance not in shares.projects:  # no usage, none queued: read its shares
                extra = fairshare.read_shares(conn, job.backend, [job.instance])
                shares = fairshare.merge_shares(shares, extra)
        return fair_priorities(job.instance, state.heads, shares, state.usage)

    def window_usage(self, backend: str) -> dict[str, float]:
        """Usage seconds per project on ``backend`` within the fair-share window, as fair
        share counts it (running jobs charged the device's mean)."""
        with self._transaction() as conn:
            usage, _ = fairshare.usage_in_window(
                conn, backend, self.clock.now(), self.fairshare_window
            )
        return usage

    def mean_usage_seconds(self, backend: str) -> float:
        """Mean recorded usage per job on ``backend`` within the window (1 s without any)."""
        with self._transaction() as conn:
            _, mean = fairshare.usage_in_window(
                conn, backend, self.clock.now(), self.fairshare_window
            )
        return mean

    def mean_run_seconds(self, backend: str, last: int = 50) -> float | None:
        """Mean RUNNING→final seconds of the last ``last`` DONE jobs (None without any)."""
        with self._transaction() as conn:
            rows = conn.execute(q.last_done_runs(backend, last)).all()
        if not rows:
            return None
        total = float(sum((r.finished_at - r.started_at).total_seconds() for r in rows))
        return total / len(rows)
