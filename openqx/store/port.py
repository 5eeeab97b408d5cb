"""The narrow port between the layers above and the database.

``SqlJobStore`` (SQLite or PostgreSQL through SQLAlchemy) implements it; ``MemoryJobStore`` is
the same store on a private in-memory SQLite database (tests, throwaway services). Every method
is one transaction, and every time stamp comes from the store's clock. Errors are
``openqx.core.errors`` classes: ``JobNotFoundError``, ``InvalidFilterError``,
``InvalidStateError``, ``AuthenticationError``. The contract suite in
``tests/integration/store`` runs against every implementation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from openqx.core.fairshare import Priorities
from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery
from openqx.store.device_schedule_port import DeviceSchedulePort
from openqx.store.records import JobRecord, NewJob, UserRecord
from openqx.store.tenancy_port import TenancyPort

__all__ = ["JobEnd", "JobStore"]


@dataclasses.dataclass(frozen=True, slots=True)
class JobEnd:
    """How one job ends (``JobStore.finish_jobs``); the fields mean what ``finish_job``'s
    arguments of the same names mean."""

    job_id: str
    status: JobStatus
    result_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    run_mode: str | None = None
    usage_seconds: float | None = None


class JobStore(TenancyPort, DeviceSchedulePort, Protocol):
    """Named queries over users and jobs (and, from ``TenancyPort``, the tenancy tables)."""

    # --- users --------------------------------------------------------------------------
    def count_users(self) -> int:
        """Number of users (0 on a fresh database)."""

    def create_user(
        self, name: str, token: str, *, is_admin: bool = False, instances: Sequence[str] = ()
    ) -> UserRecord:
        """Insert a user; the token is stored hashed (sha256). Duplicate name: InvalidInputError."""

    def user_for_token(self, token: str) -> UserRecord:
        """The user owning ``token``; AuthenticationError when none does."""

    def list_users(self) -> list[UserRecord]:
        """Every user, by id."""

    # --- backend settings ---------------------------------------------------------------
    def backend_job_limit(self, backend: str) -> int | None:
        """The configured maximum of active jobs per user on ``backend`` (None: no limit)."""

    def set_backend_job_limit(self, backend: str, maximum_jobs: int | None) -> None:
        """Configure the per-user active-job limit of ``backend``."""

    # --- jobs: write ----------------------------------------------------------------------
    def create_job(self, job: NewJob, *, max_active: int | None = None) -> JobRecord:
        """Insert a QUEUED job (time_per_step gets CREATING, VALIDATING, QUEUED stamps).

        When ``max_active`` is given, the insert happens only if the owner has fewer than
        ``max_active`` active jobs on that backend, checked in the same transaction:
        otherwise JobLimitReachedError and nothing is stored.
        """

    def create_jobs(
        self, jobs: Sequence[NewJob], *, max_active: Mapping[str, int | None] | None = None
    ) -> list[JobRecord]:
        """Insert QUEUED jobs in one transaction, all or none, in the given order.

        ``max_active`` maps a backend to its limit of active jobs per owner and instance,
        checked in the same transaction counting the new jobs: over it, JobLimitReachedError
        and nothing is stored.
        """

    def update_job(
        self, job_id: str, *, name: str | None = None, tags: Sequence[str] | None = None
    ) -> JobRecord:
        """Set name and/or the full tag list."""

    def claim_next(
        self, backend: str, worker: str, lease_seconds: float, snapshot_id: str | None = None
    ) -> JobRecord | None:
        """Atomically move the next QUEUED job of ``backend`` in fair-share order
        (``docs/scheduling.md``: the project furthest below its share first, its highest
        priority then oldest job; only the reserved instance's jobs during a reservation;
        nothing under maintenance) to RUNNING with a lease for ``worker``, its ``run_mode``
        ``fairshare`` or ``dedicated`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
        counting the attempt (``attempts``; ``RUNNING``/``RUNNING_<n>`` stamped) and, when
        ``snapshot_id`` is given, recording it as the calibration the job runs with."""

    def backends_with_queued_jobs(self) -> list[str]:
        """Names of backends that have at least one QUEUED job."""

    def renew_lease(self, job_ids: Sequence[str], worker: str, lease_seconds: float) -> list[str]:
        """Extend the lease of RUNNING jobs held by ``worker``; return the ids renewed (the
        others are no longer this worker's: finished, or requeued after their lease ran out)."""

    def requeue_expired(self) -> list[str]:
        """Put RUNNING jobs whose lease expired back to QUEUED; return their ids.

        A job whose cancellation was requested ends CANCELLED instead (not returned)."""

    def release_jobs(self, job_ids: Sequence[str], worker: str) -> list[str]:
        """Put those of ``job_ids`` that are RUNNING under ``worker``'s lease back to QUEUED
        now (lease cleared), for a dispatcher that stops before they finish; return the ids
        requeued. The interrupted attempt does not count. A job whose cancellation was
        requested ends CANCELLED instead."""

    def retry_job(self, job_id: str, worker: str) -> bool:
        """Put a RUNNING job under ``worker``'s lease back to QUEUED for another attempt (the
        attempt stays counted); False when it was not so leased or ends CANCELLED."""

    def release_worker_jobs(self, worker: str) -> list[str]:
        """Put every RUNNING job under ``worker``'s lease back to QUEUED now (a restarted
        dispatcher of that name); return their ids. Cancel requested: CANCELLED."""

    def cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Those of ``job_ids`` whose cancellation was requested."""

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
        """Move a job to DONE, ERROR or CANCELLED (stamp time_per_step, clear the lease),
        recording ``usage_seconds`` (default: host seconds since its start, if it started;
        ``run_mode`` None keeps the one its claim recorded)."""

    def finish_jobs(self, ends: Sequence[JobEnd]) -> list[JobRecord]:
        """End several jobs in one transaction, each as ``finish_job`` would (its own
        status, result, error and usage; usage added to fair share per job). A job that is
        unknown or final already is skipped, the others still end; returns the jobs that
        ended as they are now, in the order given. A non-final status anywhere:
        InvalidInputError, nothing recorded."""

    def unit_of_work(self) -> AbstractContextManager[None]:
        """Make the store calls this thread makes inside the block one write transaction
        (with a blob store that keeps blobs in the same database, its writes too): they
        commit together when the block ends, or not at all when it raises."""

    def request_cancel(self, job_id: str) -> JobRecord:
        """QUEUED → CANCELLED at once; RUNNING → cancel_requested=True (the worker stops it).
        A final job is returned unchanged."""

    # --- jobs: read -----------------------------------------------------------------------
    def get_job(self, job_id: str) -> JobRecord:
        """One job; JobNotFoundError when absent."""

    def job_access(self, job_ids: Sequence[str]) -> dict[str, tuple[int, str, str]]:
        """Owner id, instance and share level of each existing job of ``job_ids``, by id."""

    def get_jobs(self, job_ids: Sequence[str], *, final_only: bool = False) -> dict[str, JobRecord]:
        """The jobs of ``job_ids`` that exist (with ``final_only``: that are DONE, CANCELLED
        or ERROR), by id; missing ids are left out."""

    def search_jobs(
        self,
        query: JobQuery,
        *,
        visible_to: UserRecord | None = None,
        scope: str = "own",
        instance: str | None = None,
    ) -> tuple[list[JobRecord], str | None]:
        """Jobs matching every filter of ``query``, newest first unless ``descending`` is
        False, with keyset pagination on (created_at, id); returns the page and the cursor of
        the next page (None at the end). ``visible_to`` restricts to the jobs of that user's
        listing ``scope`` (``store.access``: ``own``, ``shared`` or ``all``); ``instance``
        keeps the jobs filed under that instance. Bad
        ``db_filter``/regexp: InvalidFilterError."""

    def count_active(self, owner_id: int, backend: str) -> int:
        """Active (non-final) jobs of one user on one backend."""

    def count_queued(self, backend: str) -> int:
        """QUEUED jobs on a backend (its ``pending_jobs``)."""

    def queue_position(self, job: JobRecord) -> int | None:
        """1-based position of ``job`` (as read by the caller) among QUEUED jobs of its
        backend in fair-share order (``fair_queue``); None if it is not QUEUED."""

    def fair_queue(self, backend: str, *, stop_at: str | None = None) -> list[str]:
        """Ids of the QUEUED jobs of ``backend`` in the order fair share will start them."""

    def fair_share_priorities(self, job: JobRecord) -> Priorities:
        """Hub, group and project fair-share factors of ``job``'s project on its device."""

    def window_usage(self, backend: str) -> dict[str, float]:
        """Usage seconds per project on ``backend`` within the fair-share window."""

    def mean_usage_seconds(self, backend: str) -> float:
        """Mean recorded usage per job on ``backend`` within the fair-share window."""

    def mean_run_seconds(self, backend: str, last: int = 50) -> float | None:
        """Mean RUNNING→final seconds of the last ``last`` DONE jobs on ``backend``."""
