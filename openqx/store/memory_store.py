"""``MemoryJobStore``: an in-memory fake of the ``JobStore`` port for policy unit tests.

Same semantics as ``SqlJobStore`` (statuses, leases, limits, claim order, keyset cursors), one
lock instead of transactions. ``db_filter`` is not evaluated: a query that sets it raises
``NotImplementedError`` (test db_filter against ``SqlJobStore``).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from openqx.core.errors import (
    AuthenticationError,
    InvalidFilterError,
    InvalidInputError,
    InvalidStateError,
    JobLimitReachedError,
    JobNotFoundError,
)
from openqx.core.ids import hash_token
from openqx.core.status import FINAL_STATUSES, JobStatus
from openqx.core.times import as_utc
from openqx.core.wire import JobQuery
from openqx.store.cursor import Cursor, decode_cursor, encode_cursor
from openqx.store.db_filter import compile_regexp
from openqx.store.queries import MAX_PAGE
from openqx.store.records import JobRecord, NewJob, UserRecord

__all__ = ["MemoryJobStore"]


def _now(now: datetime | None = None) -> datetime:
    return as_utc(now) if now is not None else datetime.now(UTC)


class MemoryJobStore:
    """Users and jobs in dicts (thread-safe, one process)."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.RLock()
        self._users: dict[int, UserRecord] = {}
        self._tokens: dict[str, int] = {}
        self._jobs: dict[str, JobRecord] = {}
        self._limits: dict[str, int | None] = {}

    # --- users ----------------------------------------------------------------------------
    def count_users(self) -> int:
        """Number of users."""
        return len(self._users)

    def create_user(
        self, name: str, token: str, *, is_admin: bool = False, instances: Sequence[str] = ()
    ) -> UserRecord:
        """Add a user (InvalidInputError when the name or token is taken)."""
        digest = hash_token(token)
        with self._lock:
            if any(u.name == name for u in self._users.values()) or digest in self._tokens:
                raise InvalidInputError(f"User {name!r} already exists.")
            user = UserRecord(
                id=len(self._users) + 1,
                name=name,
                is_admin=is_admin,
                instances=tuple(dict.fromkeys(instances)),
                created_at=_now(),
            )
            self._users[user.id] = user
            self._tokens[digest] = user.id
            return user

    def user_for_token(self, token: str) -> UserRecord:
        """The user owning ``token`` (AuthenticationError otherwise)."""
        user_id = self._tokens.get(hash_token(token))
        if user_id is None:
            raise AuthenticationError()
        return self._users[user_id]

    def list_users(self) -> list[UserRecord]:
        """Every user, by id."""
        return [self._users[i] for i in sorted(self._users)]

    # --- backend settings -------------------------------------------------------------------
    def backend_job_limit(self, backend: str) -> int | None:
        """The per-user active-job limit of ``backend``."""
        return self._limits.get(backend)

    def set_backend_job_limit(self, backend: str, maximum_jobs: int | None) -> None:
        """Configure the per-user active-job limit of ``backend``."""
        if maximum_jobs is not None and maximum_jobs < 0:
            raise InvalidInputError("maximum_jobs must be >= 0 or None.")
        self._limits[backend] = maximum_jobs

    # --- jobs: write ----------------------------------------------------------------------
    def _get(self, job_id: str) -> JobRecord:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFoundError(job_id) from None

    def _set(self, job: JobRecord, **changes: Any) -> JobRecord:
        updated = dataclasses.replace(job, **changes)
        self._jobs[job.id] = updated
        return updated

    def create_job(self, job: NewJob, *, max_active: int | None = None) -> JobRecord:
        """Insert a QUEUED job, honouring ``max_active``."""
        now = _now()
        with self._lock:
            owner = self._users.get(job.owner_id)
            if owner is None or job.id in self._jobs:
                raise InvalidInputError(f"Job {job.id} cannot be stored.")
            if max_active is not None:
                active = self.count_active(job.owner_id, job.backend)
                if active >= max_active:
                    raise JobLimitReachedError(
                        f"Maximum number of active jobs ({max_active}) on backend "
                        f"{job.backend} reached.",
                        backend=job.backend,
                        maximum_jobs=max_active,
                        running_jobs=active,
                    )
            record = JobRecord(
                id=job.id, kind=job.kind, backend=job.backend, status=JobStatus.QUEUED,
                owner_id=job.owner_id, owner=owner.name, instance=job.instance, name=job.name,
                tags=tuple(dict.fromkeys(job.tags)), share_level=job.share_level,
                experiment_id=job.experiment_id, program_id=job.program_id, created_at=now,
                updated_at=now,
                time_per_step=dict.fromkeys(("CREATING", "VALIDATING", "QUEUED"), now),
                num_circuits=job.num_circuits, shots=job.shots, memory=job.memory,
                header=dict(job.header), options=dict(job.options), snapshot_id=job.snapshot_id,
                payload_key=job.payload_key, result_key=None, error_code=None,
                error_message=None, run_mode=None, live_data_enabled=job.live_data_enabled,
                client_info=dict(job.client_info), cancel_requested=False, lease_owner=None,
                lease_expires_at=None, started_at=None, finished_at=None, priority=job.priority,
            )  # fmt: skip
            self._jobs[job.id] = record
            return record

    def update_job(
        self, job_id: str, *, name: str | None = None, tags: Sequence[str] | None = None
    ) -> JobRecord:
        """Set name and/or the full tag list."""
        with self._lock:
            job = self._get(job_id)
            changes: dict[str, Any] = {"updated_at": _now()}
            if name is not None:
                changes["name"] = name
            if tags is not None:
                changes["tags"] = tuple(dict.fromkeys(tags))
            return self._set(job, **changes)

    def _claim_key(self, job: JobRecord) -> tuple[int, datetime, str]:
        return (-job.priority, job.created_at, job.id)

    def claim_next(
        self, backend: str, worker: str, lease_seconds: float, now: datetime | None = None
    ) -> JobRecord | None:
        """Move the next QUEUED job of ``backend`` to RUNNING with a lease."""
        at = _now(now)
        with self._lock:
            queued = [
                j for j in self._jobs.values()
                if j.backend == backend and j.status is JobStatus.QUEUED
            ]  # fmt: skip
            if not queued:
                return None
            job = min(queued, key=self._claim_key)
            return self._set(
                job,
                status=JobStatus.RUNNING,
                lease_owner=worker,
                lease_expires_at=at + timedelta(seconds=lease_seconds),
                started_at=at,
                updated_at=at,
                cancel_requested=False,
                time_per_step={**job.time_per_step, "RUNNING": at},
            )

    def backends_with_queued_jobs(self) -> list[str]:
        """Backends with QUEUED jobs."""
        return sorted({j.backend for j in self._jobs.values() if j.status is JobStatus.QUEUED})

    def cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Those of ``job_ids`` whose cancellation was requested."""
        with self._lock:
            return {i for i in job_ids if i in self._jobs and self._jobs[i].cancel_requested}

    def renew_lease(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> None:
        """Extend the leases ``worker`` holds."""
        at = _now()
        with self._lock:
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                if job and job.status is JobStatus.RUNNING and job.lease_owner == worker:
                    self._set(job, lease_expires_at=at + timedelta(seconds=lease_seconds))

    def requeue_expired(self, now: datetime | None = None) -> list[str]:
        """Requeue RUNNING jobs with an expired lease (cancel-requested ones: CANCELLED)."""
        at = _now(now)
        requeued: list[str] = []
        with self._lock:
            for job in list(self._jobs.values()):
                expires = job.lease_expires_at
                if job.status is not JobStatus.RUNNING or expires is None or expires >= at:
                    continue
                status = JobStatus.CANCELLED if job.cancel_requested else JobStatus.QUEUED
                self._set(
                    job, status=status, lease_owner=None, lease_expires_at=None,
                    started_at=None, updated_at=at,
                    finished_at=at if job.cancel_requested else None,
                    time_per_step={**job.time_per_step, status.value: at},
                )  # fmt: skip
                if not job.cancel_requested:
                    requeued.append(job.id)
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
    ) -> JobRecord:
        """Move a job to a final status."""
        status = JobStatus(status)
        if status not in FINAL_STATUSES:
            raise InvalidInputError(f"finish_job needs a final status, not {status.value}.")
        at = _now()
        with self._lock:
            job = self._get(job_id)
            if job.status.is_final:
                raise InvalidStateError(f"Job {job_id} is already {job.status.value}.")
            return self._set(
                job, status=status, result_key=result_key, error_code=error_code,
                error_message=error_message, run_mode=run_mode, finished_at=at, updated_at=at,
                lease_owner=None, lease_expires_at=None,
                time_per_step={**job.time_per_step, status.value: at},
            )  # fmt: skip

    def request_cancel(self, job_id: str) -> JobRecord:
        """QUEUED → CANCELLED; RUNNING → cancel_requested; final: unchanged."""
        at = _now()
        with self._lock:
            job = self._get(job_id)
            if job.status.is_final:
                return job
            if job.status is JobStatus.RUNNING:
                return self._set(job, cancel_requested=True, updated_at=at)
            return self._set(
                job, status=JobStatus.CANCELLED, cancel_requested=True, finished_at=at,
                updated_at=at, time_per_step={**job.time_per_step, "CANCELLED": at},
            )  # fmt: skip

    # --- jobs: read -----------------------------------------------------------------------
    def get_job(self, job_id: str) -> JobRecord:
        """One job (JobNotFoundError when absent)."""
        return self._get(job_id)

    def _matches(self, job: JobRecord, query: JobQuery, pattern: str | None) -> bool:
        statuses = {JobStatus(s) for s in query.status or ()}
        tags = set(query.tags or ())
        checks = (
            query.backend is None or job.backend == query.backend,
            query.kind is None or job.kind == query.kind,
            not statuses or job.status in statuses,
            pattern is None or (job.name is not None and re.search(pattern, job.name)),
            query.start_datetime is None or job.created_at >= as_utc(query.start_datetime),
            query.end_datetime is None or job.created_at <= as_utc(query.end_datetime),
            not tags
            or (tags <= set(job.tags) if query.tags_operator == "AND" else tags & set(job.tags)),
            query.experiment_id is None or job.experiment_id == query.experiment_id,
        )
        return all(checks)

    def search_jobs(
        self, query: JobQuery, *, visible_to: UserRecord | None = None
    ) -> tuple[list[JobRecord], str | None]:
        """A page of matching jobs and the next cursor (``db_filter``: NotImplementedError)."""
        if query.db_filter:
            raise NotImplementedError("MemoryJobStore does not evaluate db_filter")
        if query.skip < 0 or (query.limit is not None and query.limit < 0):
            raise InvalidFilterError("limit and skip must be >= 0.")
        limit = min(query.limit or MAX_PAGE, MAX_PAGE)
        pattern = compile_regexp(query.name, "name") if query.name is not None else None
        cursor = decode_cursor(query.cursor) if query.cursor else None
        if cursor is not None and cursor.descending != query.descending:
            raise InvalidFilterError("The cursor belongs to a query of the other order.")
        with self._lock:
            found = [
                j for j in self._jobs.values()
                if (visible_to is None or j.owner_id == visible_to.id)
                and self._matches(j, query, pattern)
            ]  # fmt: skip
        found.sort(key=lambda j: (j.created_at, j.id), reverse=query.descending)
        if cursor is not None:
            mark = (cursor.created_at, cursor.id)
            before = query.descending
            found = [j for j in found if ((j.created_at, j.id) < mark) == before]
            found = [j for j in found if (j.created_at, j.id) != mark]
        rows = found[query.skip : query.skip + limit + 1]
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit and page:
            next_cursor = encode_cursor(Cursor(page[-1].created_at, page[-1].id, query.descending))
        return page, next_cursor

    def count_active(self, owner_id: int, backend: str) -> int:
        """Active jobs of one user on one backend."""
        return sum(
            1 for j in self._jobs.values()
            if j.owner_id == owner_id and j.backend == backend and not j.status.is_final
        )  # fmt: skip

    def count_queued(self, backend: str) -> int:
        """QUEUED jobs on a backend."""
        return sum(
            1 for j in self._jobs.values()
            if j.backend == backend and j.status is JobStatus.QUEUED
        )  # fmt: skip

    def queue_position(self, job: JobRecord) -> int | None:
        """1-based claim-order position among QUEUED jobs of its backend."""
        if job.status is not JobStatus.QUEUED:
            return None
        key = self._claim_key(job)
        return 1 + sum(
            1 for j in self._jobs.values()
            if j.backend == job.backend and j.status is JobStatus.QUEUED
            and self._claim_key(j) < key
        )  # fmt: skip

    def mean_run_seconds(self, backend: str, last: int = 50) -> float | None:
        """Mean RUNNING→final seconds of the last ``last`` DONE jobs."""
        done = sorted(
            (j for j in self._jobs.values()
             if j.backend == backend and j.status is JobStatus.DONE
             and j.started_at and j.finished_at),
            key=lambda j: j.finished_at or j.created_at,
            reverse=True,
        )[:last]  # fmt: skip
        if not done:
            return None
        seconds = [
            (j.finished_at - j.started_at).total_seconds()
            for j in done
            if j.finished_at is not None and j.started_at is not None
        ]
        return sum(seconds) / len(seconds)
