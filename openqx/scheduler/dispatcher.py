"""The dispatch loop: claim queued jobs, hand them to the executor, record what comes back.

Shaped like procrastinate's worker: a slot limit for executor capacity, a wake-up event with a
polling fallback, a heartbeat that renews the leases of running jobs, lease-expiry recovery (a
job whose server died goes back to the queue), and a stop that drains within a timeout. Any
replica may run one: claiming is atomic in the store.

One pass of the loop is ``run_once()``; ``start()`` runs it in a thread, woken by ``wake()``
or every ``poll_seconds``. Tests call ``run_once()`` themselves, with a ``ManualClock``.

Lifecycle: ``NEW → RUNNING`` (``start``) ``→ STOPPING → STOPPED`` (``stop``). A stop never
ends a job CANCELLED: a job that finishes within the timeout is recorded as usual, one still
running at the deadline is handed back to the queue (``JobStore.release_jobs``) for this or
another service to run, and what its future reports afterwards (an executor that is closed
cancels it) is ignored. Only a cancel the user asked for ends a job CANCELLED.

One job cannot take the loop down: each step of a job (building its request, submitting it,
recording its result) that fails ends that job ERROR with the reason, and the loop goes on.
A supervisor thread restarts the loop thread if it ends anyway, logging why.

Time limits: a job running longer than its backend's limit (``time_limit``) is stopped
(``executor.cancel``: its worker is killed and replaced) and ends ERROR ``time_limit_exceeded``. Its
limit runs from when a ready worker begins it (the executor's ``started`` callback), so a
replacement worker's start-up does not count. Retries: a job whose worker died (``worker_died``)
goes back to the queue for a fresh worker until it has been started ``max_attempts`` times, then
ends ERROR with the reason; a job claimed after ``max_attempts`` starts (its server kept dying under
it) ends ERROR ``too_many_attempts`` instead of running again. Restarts: ``start`` first puts back
in the queue the jobs still leased under this dispatcher's name (``worker_id``) by a previous run of
it that died, so a server restarted under a stable name recovers its jobs at once instead of after
their lease. Fencing: a job whose lease the heartbeat finds gone (another replica requeued it) is
stopped without being recorded, and when the heartbeat cannot renew leases for two thirds of a
lease, every running job is stopped, before another replica may take it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from openqx.core import results
from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.core.status import JobStatus
from openqx.devices.worker_setup import DeviceSetup
from openqx.execution.batch import BatchRun
from openqx.execution.port import ExecutionError, ExecutionRequest, JobExecutor
from openqx.scheduler import rotation
from openqx.scheduler.batching import DEFAULT_BATCH_LIMIT, BatchClaimer, BatchKey, batch_key
from openqx.scheduler.calibration import JobCalibration
from openqx.scheduler.deadline import Deadline
from openqx.scheduler.early_start import (
    COOLDOWN_SECONDS,
    REPLICA_QUIET_SECONDS,
    EarlyStart,
    RunnableJob,
    execution_request,
)
from openqx.scheduler.fresh_payloads import FreshPayloads
from openqx.scheduler.queue_knowledge import QueueKnowledge
from openqx.store.blobs import BlobStore, job_result_key
from openqx.store.port import JobEnd, JobStore
from openqx.store.records import JobRecord

__all__ = ["DEFAULT_MAX_ATTEMPTS", "WORKER_DIED", "Dispatcher", "DispatcherState", "TimeLimit"]

logger = logging.getLogger(__name__)

SUPERVISE_INTERVAL_SECONDS = 1.0
"""How often the supervisor checks that the loop thread is alive."""
DEFAULT_MAX_ATTEMPTS = 3
"""Starts a job gets before a dying worker or server ends it ERROR (1 = no retry)."""
WORKER_DIED = "worker_died"
"""``ExecutionError.code`` of a job whose worker process died under it."""
HEARTBEAT_FRACTION = 1 / 3
"""Leases are renewed (and expired ones requeued) every lease_seconds × this."""
FENCE_FRACTION = 2 / 3
"""When leases could not be renewed for lease_seconds × this, the running jobs are stopped
before their leases run out and another replica may start them: a job never runs twice at
once (as long as the replicas' clocks agree)."""
DRAIN_POLL_SECONDS = 0.05
"""While ``stop`` waits for running jobs it re-reads its clock at least this often (seconds);
a job that finishes wakes it at once."""

_Result = dict[str, Any]
TimeLimit = Callable[[str], float | None]
"""Backend name → the time limit of its jobs in seconds (``None``: no limit)."""
Concurrency = Callable[[str], int | None]
"""Backend name → the most jobs run on it at once (``None``: no limit)."""


class DispatcherState(enum.Enum):
    """Lifecycle of a dispatcher."""

    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class Dispatcher:
    """Runs queued jobs on an executor, at most ``capacity`` at a time.

    Args:
        store: where jobs are claimed, leased and finished.
        blobs: payloads are read from it, results written to it.
        executor: runs the jobs.
        capacity: jobs handed to the executor at the same time (at least 1).
        lease_seconds: how long a claim holds without a heartbeat.
        poll_seconds: the loop's wake-up interval when nothing calls ``wake``.
        on_change: called with a job id whenever this dispatcher changes the job.
        on_recorded: called instead of ``on_change`` when this dispatcher has written a
            job's start or end, with the job as written and, for an end, its result's bytes
            as stored (``None``: none), so that a listener need not read them back.
        worker_id: the name leases are taken under (default: a random one). A stable name
            (one per replica) lets ``start`` take back the jobs a dead run of it held.
        clock: heartbeat intervals, time limits and the deadline of ``stop`` (the store
            stamps leases from its own clock).
        time_limit: the time limit of a backend's jobs in seconds (default: none).
        max_attempts: starts a job gets when its worker or server dies (at least 1).
        calibration: the snapshot each job starts with (recorded at its claim) and the device
            setup its worker needs; ``None``: jobs keep the snapshot of their submission.
        concurrency: the most jobs this dispatcher runs at once on a backend (``None``: no
            limit but ``capacity``); see ``scheduler.concurrency``. A micro-batch counts as one.
        batch_limit: most jobs claimed together as one micro-batch (``scheduler.batching``;
            1: none). Batches are formed only with a store that claims them
            (``claim_batch``) and an executor that runs them (``runs_batches``).
        batch_key: what the jobs of one batch share (default ``batching.batch_key``).
    """

    def __init__(
        self,
        store: JobStore,
        blobs: BlobStore,
        executor: JobExecutor,
        *,
        capacity: int,
        lease_seconds: float = 60.0,
        poll_seconds: float = 0.5,
        on_change: Callable[[str], None] | None = None,
        on_recorded: Callable[[JobRecord, bytes | None], None] | None = None,
        worker_id: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        time_limit: TimeLimit | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        calibration: JobCalibration | None = None,
        concurrency: Concurrency | None = None,
        batch_limit: int = DEFAULT_BATCH_LIMIT,
        batch_key: BatchKey = batch_key,
        early_start: bool = True,
    ) -> None:
        self.store = store
        self.calibration = calibration
        self.blobs = blobs
        self.executor = executor
        self.capacity = max(1, capacity)
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self.time_limit: TimeLimit = time_limit or (lambda backend: None)
        self.max_attempts = max(1, max_attempts)
        self._on_change = on_change or (lambda job_id: None)
        self._on_recorded = on_recorded or (lambda record, result: self._on_change(record.id))
        self._wake = threading.Event()
        self._pass_lock = threading.Lock()
        """One pass at a time: the loop's, ``run_once``'s or a submission's (``wake``)."""
        self._stopping = threading.Event()
        # One condition guards the job sets below; it is notified whenever a job leaves them.
        self._lock = threading.Condition()
        self.concurrency: Concurrency = concurrency or (lambda backend: None)
        self._rotation = 0
        self._queues = QueueKnowledge(clock, poll_seconds)
        """Queue changes told (``wake``, requeues) and what the last passes found."""
        self.fresh_payloads = FreshPayloads()
        """Payloads the submissions of this process just stored (``wake``), taken by the
        claims of their jobs instead of a read of the blob store."""
        self.batch_limit = max(1, batch_limit)
        self.batch_key = batch_key
        self._batch_of: dict[str, BatchRun] = {}
        """The micro-batch of each job in ``_inflight`` that runs in one (one slot for all)."""
        self._backend_of: dict[str, str] = {}
        """Backend of each job in ``_inflight`` (per-device concurrency)."""
        self._inflight: dict[str, Future[_Result]] = {}
        """Jobs handed to the executor whose future has not completed."""
        self._recording: set[str] = set()
        """Jobs whose future completed and whose end is being written to the store."""
        self._cancelling: set[str] = set()
        self._started: dict[str, _Started] = {}
        """Attempt number and time limit of each job in ``_inflight``."""
        self._timed_out: dict[str, float] = {}
        """Jobs stopped for running past their limit (job id → the limit in seconds)."""
        self._thread: threading.Thread | None = None
        self._supervisor: threading.Thread | None = None
        self._thread_error = ""
        self.restarts = 0
        """How many times the supervisor restarted the loop thread."""
        self._last_heartbeat: float | None = None
        self._last_renewal: float | None = None
        """``clock.monotonic()`` of the last heartbeat whose lease renewal succeeded."""
        self.early_start = early_start
        """Whether an idle dispatcher starts a submission's job before it is stored
        (``start_early``)."""
        self._early: EarlyStart | None = None
        """The job started early whose claim has not been made yet (under ``_pass_lock``)."""
        self._early_paused_until = float("-inf")
        """``clock.monotonic()`` until which no job starts early (after a dropped run, or a
        change another replica made: ``heard_from_replica``)."""
        self._unclaimable: set[str] = set()
        """Backends whose last claim got nothing (a maintenance, a reservation for others):
        their jobs do not start early (under ``_pass_lock``)."""
        self.state = DispatcherState.NEW

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Run the loop in a daemon thread.

        Raises:
            RuntimeError: the dispatcher was started or stopped before.
        """
        with self._lock:
            if self.state is not DispatcherState.NEW:
                raise RuntimeError(f"dispatcher is {self.state.value}; it can start only once")
            self.state = DispatcherState.RUNNING
        self._recover()
        self._thread = self._start_loop()
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"{self.worker_id}-supervisor", daemon=True
        )
        self._supervisor.start()
        logger.info(
            "dispatcher started", extra={"action": "start_dispatcher", "worker": self.worker_id}
        )

    def _recover(self) -> None:
        """Requeue the jobs a previous run under this name held when it died."""
        try:
            requeued = self.store.release_worker_jobs(self.worker_id)
        except Exception:
            logger.exception(
                "could not take back this dispatcher's jobs; they return when leases expire",
                extra={"action": "recover_jobs", "worker": self.worker_id},
            )
            return
        for job_id in requeued:
            logger.warning(
                "job of a previous run requeued",
                extra={"action": "recover_jobs", "job_id": job_id, "worker": self.worker_id},
            )
            self._notify(job_id)

    def _start_loop(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name=self.worker_id, daemon=True)
        thread.start()
        return thread

    def _supervise(self) -> None:
        """Restart the loop thread if it ended before ``stop`` (logging why)."""
        while not self._stopping.is_set():
            thread = self._thread
            if thread is None:
                return
            thread.join(SUPERVISE_INTERVAL_SECONDS)
            if thread.is_alive() or self._stopping.is_set():
                continue
            logger.error(
                "dispatcher loop thread died; restarting it (%s)",
                self._thread_error or "no exception recorded",
                extra={"action": "restart_thread", "worker": self.worker_id},
            )
            self.restarts += 1
            self._thread = self._start_loop()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, give running jobs until ``timeout`` to finish, hand back the rest.

        The whole call takes at most ``timeout`` seconds of ``clock`` (plus a store call in
        progress). Jobs that finish in time are recorded as usual. Jobs still running at the
        deadline are released: QUEUED again with the lease cleared (CANCELLED if the user had
        asked to cancel them), to be run by the next dispatcher to claim them. Whatever their
        futures report later is ignored, so the owner closes the executor *after* ``stop``;
        the store must stay open until ``stop`` returns.

        Idempotent; a dispatcher that never started releases the jobs ``run_once`` gave it.
        """
        with self._lock:
            if self.state in (DispatcherState.STOPPING, DispatcherState.STOPPED):
                return
            self.state = DispatcherState.STOPPING
        deadline = self.clock.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._supervisor is not None:
            self._supervisor.join(max(0.0, deadline - self.clock.monotonic()))
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - self.clock.monotonic()))
        if self._pass_lock.acquire(timeout=max(0.0, deadline - self.clock.monotonic())):
            self._pass_lock.release()  # a submission's pass has ended: its jobs are tracked
        with self._lock:
            logger.info(
                "dispatcher stopping; waiting for running jobs",
                extra={"action": "drain_jobs", "job_ids": sorted(self._inflight)},
            )
            while self._inflight or self._recording:
                remaining = deadline - self.clock.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(min(remaining, DRAIN_POLL_SECONDS))
            left = sorted(self._inflight)
            self._inflight.clear()
            self._cancelling.difference_update(left)
            for job_id in left:
                self._started.pop(job_id, None)
                self._timed_out.pop(job_id, None)
        if left:
            self._release(left)
        with self._lock:
            self.state = DispatcherState.STOPPED
        logger.info("dispatcher stopped", extra={"action": "stop_dispatcher"})

    def wake(
        self,
        queued: Mapping[str, int] | None = None,
        payloads: Mapping[str, bytes] | None = None,
        early: EarlyStart | None = None,
    ) -> None:
        """Look for work now (called after a submission or a cancel request).

        Args:
            queued: the jobs a submission of this process queued, per backend. When every
                queue was known to hold nothing claimable before, the pass it wakes claims
                from these backends without reading every queue (a database read per job
                saved); without it the next pass reads them all. With it, the calling
                thread makes that pass itself unless one is running (``_claim_here``).
            payloads: those jobs' payloads by blob key, as stored (committed): their claim
                takes them from here instead of reading them back (``fresh_payloads``).
            early: the early run of the job just queued (``start_early``): the calling
                thread claims it, adopting the run, and ends the early start.
        """
        if payloads:
            self.fresh_payloads.offer(payloads)
        self._queues.changed(queued)
        if early is not None:
            self._claim_early(early)
            return
        if queued and self._claim_here():
            return
        self._wake.set()

    def heard_from_replica(self) -> None:
        """Another replica on the store changed a job: no job starts early for
        ``REPLICA_QUIET_SECONDS``. Two idle replicas that each start a job early would each
        claim the other's older one and drop their own run, killing its worker process."""
        self._pause_early_starts(REPLICA_QUIET_SECONDS)

    def _pause_early_starts(self, seconds: float) -> None:
        """No job starts early for ``seconds`` from now (or longer, if already paused so)."""
        with self._lock:
            until = self.clock.monotonic() + seconds
            self._early_paused_until = max(self._early_paused_until, until)

    def start_early(self, job: RunnableJob, payload: bytes) -> EarlyStart | None:
        """Hand a validated job that is about to be stored to the executor now, when this
        dispatcher is idle: nothing in flight or being recorded, no queued job known, no pass
        running, not stopping (``scheduler.early_start``). Returns the early run, or ``None``
        when the job waits for its claim as usual.

        The caller holds the dispatcher's pass lock from here: it must end the early start,
        with ``wake(early=...)`` once the job is stored, or ``drop_early`` when it was not.
        """
        if (
            not self.early_start
            or self.state is not DispatcherState.RUNNING
            or self.clock.monotonic() < self._early_paused_until
            or not self._pass_lock.acquire(blocking=False)
        ):
            return None
        try:
            early = self._start_early(job, payload)
        except Exception:
            logger.exception(
                "job could not start early", extra={"action": "start_job", "job_id": job.id}
            )
            early = None
        if early is None:
            self._pass_lock.release()
        return early

    def _start_early(self, job: RunnableJob, payload: bytes) -> EarlyStart | None:
        with self._lock:
            busy = bool(self._inflight or self._recording)
        if busy or self._stopping.is_set() or not self._queues.idle():
            return None
        if job.backend in self._unclaimable or self.concurrency(job.backend) == 0:
            return None
        snapshot_id = self.calibration.snapshot_id(job.backend) if self.calibration else None
        if snapshot_id is None:
            snapshot_id = job.snapshot_id
        request = execution_request(
            job, payload, snapshot_id, self._setup(job.backend, snapshot_id)
        )
        deadline = self._deadline(job.backend)
        self._early = EarlyStart(request, self.executor.submit(request, deadline.start), deadline)
        return self._early

    def drop_early(self, early: EarlyStart) -> None:
        """End an early start whose job was not stored: its run is stopped."""
        try:
            self._end_early(early)
        finally:
            self._pass_lock.release()

    def _claim_early(self, early: EarlyStart) -> None:
        """The pass of a submission whose job started early (the pass lock held since
        ``start_early``): the claim adopts the run when it claims that job."""
        try:
            if not self._submission_pass():
                self._wake.set()
        finally:
            self.drop_early(early)

    def _end_early(self, early: EarlyStart) -> None:
        """Forget ``early``, stopping its run unless its claim adopted it."""
        self._early = None
        if not early.adopted and not early.dropped:
            self._drop_run(early)

    def _drop_run(self, early: EarlyStart) -> None:
        """Stop a run no claim adopted (before its job may start anew: the executor knows
        runs by job id); no job starts early for ``COOLDOWN_SECONDS``."""
        early.dropped = True
        self._pause_early_starts(COOLDOWN_SECONDS)
        logger.info(
            "early run dropped: its job was not claimed by it",
            extra={"action": "start_job", "job_id": early.job_id},
        )
        early.future.cancel()
        with contextlib.suppress(Exception):
            self.executor.cancel(early.job_id)

    def _claim_here(self) -> bool:
        """Claim and start jobs in the calling thread (a submission's, its jobs just
        committed), unless a pass is running; True when it did. Starting them here spares
        the job the loop thread's wake-up and the hand-over of the GIL between the two
        threads (0.2-0.85 ms a job, ``benchmarks/README.md``, session 16). A failure is
        logged and left to the loop (False)."""
        if self.state is not DispatcherState.RUNNING or not self._pass_lock.acquire(blocking=False):
            return False
        try:
            return self._submission_pass()
        finally:
            self._pass_lock.release()

    def _submission_pass(self) -> bool:
        """A pass in a submission's thread, under the pass lock: claim from the backends the
        submission named. False when the dispatcher is stopping or the pass failed (logged):
        the loop's pass is left to claim."""
        if self._stopping.is_set():
            return False
        try:
            self._dispatch(trust_names=True)
            return True
        except Exception:
            logger.exception("dispatch in the submission failed", extra={"action": "dispatch"})
            return False

    def running_on(self, backend: str) -> int:
        """Jobs this dispatcher runs on ``backend`` now."""
        with self._lock:
            return sum(1 for j in self._inflight if self._backend_of.get(j) == backend)

    def holds(self, job_id: str) -> bool:
        """Whether this dispatcher has claimed the job and not recorded its end yet (it is
        not queued, whatever an earlier read of it says)."""
        with self._lock:
            return job_id in self._inflight or job_id in self._recording

    def inflight_count(self) -> int:
        """Jobs handed to the executor and not finished yet."""
        with self._lock:
            return len(self._inflight)

    def slots_in_use(self, backend: str | None = None) -> int:
        """Executor slots this dispatcher's running jobs take (on ``backend``, or all): one
        per job, one per micro-batch while the executor runs it (not while its results are
        recorded)."""
        units: set[str] = set()
        with self._lock:
            for job_id in self._inflight:
                if backend is not None and self._backend_of.get(job_id) != backend:
                    continue
                batch = self._batch_of.get(job_id)
                if batch is None:
                    units.add(job_id)
                elif batch.running():
                    units.add(batch.batch_id)
        return len(units)

    # --- loop -----------------------------------------------------------------------------
    def run_once(self, *, woken: bool = False) -> None:
        """One pass of the loop: heartbeat (when due), running jobs to cancel, new claims.

        ``start`` calls it in its thread; tests may call it directly instead.

        Args:
            woken: pass as one woken by ``wake()`` or a job's end does: the queues are not
                read when nothing can have been queued since they were found idle, and only
                the named backends are when every job queued since was named (``wake``).
                A pass on the loop's timer reads every queue.

        Raises:
            RuntimeError: the dispatcher is stopped.
        """
        self._pass(skip_idle_queues=woken)

    def _pass(self, *, skip_idle_queues: bool) -> None:
        """``run_once``; with ``skip_idle_queues``, the queues are not read again when the
        last read found nothing to claim and nothing was queued since (a pass woken by a
        job's end, not by a submission: two database reads a job saved)."""
        if self.state is DispatcherState.STOPPED:
            raise RuntimeError("dispatcher is stopped")
        with self._pass_lock:
            self._locked_pass(skip_idle_queues=skip_idle_queues)

    def _locked_pass(self, *, skip_idle_queues: bool) -> None:
        """``_pass``'s work, under ``_pass_lock``."""
        now = self.clock.monotonic()
        interval = self.lease_seconds * HEARTBEAT_FRACTION
        if self._last_heartbeat is None or now - self._last_heartbeat >= interval:
            self._last_heartbeat = now
            self._heartbeat(now)
        self._check_time_limits()
        self._check_cancellations()
        if not (skip_idle_queues and self._queues.idle()):
            self._dispatch(trust_names=skip_idle_queues)

    def _run(self) -> None:
        woken = False
        try:
            while not self._stopping.is_set():
                # Clear before the pass: a wake-up that lands during the pass is kept.
                self._wake.clear()
                try:
                    # A pass after ``poll_seconds`` without a wake-up reads every queue:
                    # another replica's submissions, a maintenance window that ended.
                    self._pass(skip_idle_queues=woken)
                except Exception:  # keep the loop alive; the store may be briefly unavailable
                    logger.exception("dispatch pass failed", extra={"action": "dispatch_tick"})
                woken = self._wake.wait(self.poll_seconds)
        except BaseException as exc:  # noqa: BLE001 - the thread ends; the supervisor says why
            self._thread_error = f"{type(exc).__name__}: {exc}"
            logger.exception("dispatcher loop thread failed", extra={"action": "dispatch_tick"})

    def _check_time_limits(self) -> None:
        """Stop the jobs running past their time limit (they end ERROR)."""
        now = self.clock.monotonic()
        with self._lock:
            overdue = [
                (job_id, started.deadline.limit or 0.0)
                for job_id, started in self._started.items()
                if started.deadline.passed(now)
                and job_id in self._inflight
                and job_id not in self._timed_out
            ]
            for job_id, limit in overdue:
                self._timed_out[job_id] = limit
        for job_id, limit in overdue:
            logger.warning(
                "job over its time limit; stopping it",
                extra={"action": "time_limit", "job_id": job_id, "limit_s": limit},
            )
            try:
                stopped = self._stop_job(job_id)
            except Exception:
                logger.exception(
                    "could not stop a job over its time limit",
                    extra={"action": "time_limit", "job_id": job_id},
                )
                stopped = False
            if not stopped:
                # The executor cannot stop it (a thread): end it now, ignore what it reports.
                with self._lock:
                    future = self._inflight.pop(job_id, None)
                    self._started.pop(job_id, None)
                    self._cancelling.discard(job_id)
                    self._timed_out.pop(job_id, None)
                    self._lock.notify_all()
                if future is not None:
                    self._finish(job_id, JobStatus.ERROR, error=_time_limit_error(limit))

    def _heartbeat(self, now: float) -> None:
        with self._lock:
            running = list(self._inflight)
        try:
            held = set(self.store.renew_lease(running, self.worker_id, self.lease_seconds))
        except Exception:
            logger.exception("could not renew leases", extra={"action": "renew_lease"})
            if self._last_renewal is not None and (
                now - self._last_renewal >= self.lease_seconds * FENCE_FRACTION
            ):
                self._abandon(running, "leases could not be renewed in time")
            return
        self._last_renewal = now
        self._abandon([j for j in running if j not in held], "lease lost")
        requeued = self.store.requeue_expired()
        if requeued:
            self._queues.changed()
        for job_id in requeued:
            logger.warning(
                "lease expired; job requeued", extra={"action": "requeue_job", "job_id": job_id}
            )
            self._notify(job_id)

    def _abandon(self, job_ids: Sequence[str], reason: str) -> None:
        """Stop running jobs whose leases are (or may soon be) another replica's, without
        recording anything: whoever holds the lease now runs and records them."""
        for job_id in job_ids:
            with self._lock:
                if self._inflight.pop(job_id, None) is None:
                    continue  # finished meanwhile
                self._started.pop(job_id, None)
                self._cancelling.discard(job_id)
                self._timed_out.pop(job_id, None)
                self._lock.notify_all()
            logger.error(
                "stopping a job this dispatcher may no longer hold: %s",
                reason,
                extra={"action": "abandon_job", "job_id": job_id},
            )
            try:
                self._stop_job(job_id)
            except Exception:
                logger.exception(
                    "could not stop", extra={"action": "abandon_job", "job_id": job_id}
                )
            with self._lock:
                self._batch_of.pop(job_id, None)

    def _check_cancellations(self) -> None:
        with self._lock:
            running = [
                j for j in self._inflight if j not in self._cancelling and j not in self._timed_out
            ]
        if not running:
            return
        for job_id in self.store.cancel_requested(running):
            with self._lock:
                if job_id not in self._inflight:
                    continue
                self._cancelling.add(job_id)
            try:
                stopped = self._stop_job(job_id)
            except Exception:
                logger.exception(
                    "could not cancel", extra={"action": "cancel_job", "job_id": job_id}
                )
                stopped = False
            logger.info(
                "cancelling running job",
                extra={"action": "cancel_job", "job_id": job_id, "stopped": stopped},
            )

    def _dispatch(self, *, trust_names: bool = False) -> None:
        # Round-robin over backends, starting each pass one backend further (``rotation``),
        # so no device's queue waits behind another's: every device with queued jobs gets a
        # free slot within one round of passes. A micro-batch takes one slot.
        if self.slots_in_use() >= self.capacity:
            return  # a pass woken by every submission need not read the queues when full
        look = self._queues.look(trust_names=trust_names)
        named = look.named
        names = sorted(named) if named is not None else self.store.backends_with_queued_jobs()
        backends = rotation.rotate(names, self._rotation)
        self._rotation += 1
        at_limit = False
        claimed: set[str] = set()
        try:
            while backends and not self._stopping.is_set():
                for backend in list(backends):
                    if self._stopping.is_set() or self.slots_in_use() >= self.capacity:
                        return
                    limit = self.concurrency(backend)
                    if limit is not None and self.slots_in_use(backend) >= limit:
                        backends.remove(backend)
                        at_limit = True  # its jobs wait for its next free slot
                        continue
                    # One named job and nothing else claimable: no micro-batch to look for.
                    alone = named is not None and self._queues.named(backend) == 1
                    records = self._claim(backend, alone=alone)
                    if named is not None:
                        # An empty claim: none of the named jobs can start now (taken by
                        # another replica, cancelled, a maintenance); the timer's pass looks.
                        self._queues.claimed(backend, len(records) or named[backend])
                    if not records:
                        if backend not in claimed:  # none of its queued jobs could start
                            self._unclaimable.add(backend)
                        backends.remove(backend)
                        continue
                    claimed.add(backend)
                    self._unclaimable.discard(backend)
                    self._start(records)
                if self.slots_in_use() >= self.capacity:
                    return
        finally:
            self._queues.settle(look, queues_dry=not backends, held_back=at_limit)

    def _batching(self) -> BatchClaimer | None:
        """The store as a batch claimer when micro-batches can be formed and run."""
        if self.batch_limit < 2 or not getattr(self.executor, "runs_batches", False):
            return None
        return self.store if isinstance(self.store, BatchClaimer) else None

    def _claim(self, backend: str, *, alone: bool = False) -> list[JobRecord]:
        """The next jobs of ``backend`` (a micro-batch where they form one; ``alone``: the
        next job only, when no other can be queued)."""
        # The calibration in force when the job starts is the one it runs with.
        snapshot_id = self.calibration.snapshot_id(backend) if self.calibration else None
        claimer = None if alone else self._batching()
        if claimer is not None:
            return claimer.claim_batch(
                backend,
                self.worker_id,
                self.lease_seconds,
                key=self.batch_key,
                limit=self.batch_limit,
                snapshot_id=snapshot_id,
            )
        record = self.store.claim_next(
            backend, self.worker_id, self.lease_seconds, snapshot_id=snapshot_id
        )
        return [] if record is None else [record]

    def _start(self, records: Sequence[JobRecord]) -> None:
        """Hand claimed jobs to the executor: one alone, several as one micro-batch. A job
        that cannot start (too many attempts, a request that cannot be built) ends ERROR
        alone; the others start."""
        for record in records:
            logger.info(
                "job claimed",
                extra={"action": "claim_job", "job_id": record.id, "backend": record.backend},
            )
        if self._stopping.is_set():  # claimed while stop() began: not ours to run any more
            self._release([r.id for r in records])
            return
        ready: list[tuple[JobRecord, ExecutionRequest]] = []
        payloads = self._payloads(records)
        for record in records:
            self._notify_recorded(record, None)
            early = self._early
            if early is not None and early.job_id == record.id:
                if early.runs(record) and record.attempts <= self.max_attempts:
                    early.adopted = True  # it runs already: tracked like a job started now
                    self._track([(record, early.request)], [early.future], early.deadline, None)
                    continue
                self._drop_run(early)
            request = self._request(record, payloads.get(record.payload_key))
            if request is not None:
                ready.append((record, request))
        if not ready:
            return
        if len(ready) > 1:
            deadline = self._deadline(ready[0][0].backend)
            try:
                batch = BatchRun(self.executor, [request for _, request in ready], deadline.start)
            except Exception as exc:  # e.g. one job's request does not pickle: each alone
                logger.warning(
                    "micro-batch could not start (%s: %s); its jobs start one by one",
                    type(exc).__name__,
                    exc,
                    extra={"action": "start_batch", "job_ids": [r.id for r, _ in ready]},
                )
            else:
                self._track(ready, [batch.futures[r.id] for r, _ in ready], deadline, batch)
                return
        for record, request in ready:
            self._launch_one(record, request)

    def _deadline(self, backend: str) -> Deadline:
        """The deadline of a job (or micro-batch) of ``backend``, not started yet."""
        return Deadline(self.clock, self.time_limit(backend))

    def _launch_one(self, record: JobRecord, request: ExecutionRequest) -> None:
        deadline = self._deadline(record.backend)
        try:
            future = self.executor.submit(request, deadline.start)
        except ExecutionError as exc:
            logger.warning(
                "job could not start: %s",
                exc.message,
                extra={"action": "start_job", "job_id": record.id},
            )
            self._finish(record.id, JobStatus.ERROR, error=(exc.code, exc.message))
            return
        except Exception as exc:
            logger.exception(
                "job could not start", extra={"action": "start_job", "job_id": record.id}
            )
            message = f"The job could not be started: {type(exc).__name__}: {exc}"
            self._finish(record.id, JobStatus.ERROR, error=("start_failed", message))
            return
        self._track([(record, request)], [future], deadline, None)

    def _track(
        self,
        ready: Sequence[tuple[JobRecord, ExecutionRequest]],
        futures: Sequence[Future[_Result]],
        deadline: Deadline,
        batch: BatchRun | None,
    ) -> None:
        """Remember started jobs (running, their attempt and time limit) until they end."""
        if batch is not None:
            logger.info(
                "micro-batch started",
                extra={
                    "action": "start_batch",
                    "batch_id": batch.batch_id,
                    "job_ids": batch.job_ids,
                },
            )
        together = None if batch is None else _BatchOutcomes(len(futures))
        for (record, _), future in zip(ready, futures, strict=True):
            with self._lock:
                self._backend_of[record.id] = record.backend
                self._inflight[record.id] = future
                self._started[record.id] = _Started(max(1, record.attempts), deadline)
                if batch is not None:
                    self._batch_of[record.id] = batch
            if together is None:
                future.add_done_callback(functools.partial(self._completed, record.id))
            else:
                future.add_done_callback(
                    functools.partial(self._batch_job_completed, together, record.id)
                )

    def _payloads(self, records: Sequence[JobRecord]) -> dict[str, bytes]:
        """The payloads of claimed jobs: those their submissions handed over
        (``fresh_payloads``), the others read together (a job whose payload is not among them
        reads it alone in ``_request``, which says what is wrong)."""
        keys = [record.payload_key for record in records]
        found = self.fresh_payloads.take(keys)
        rest = [key for key in keys if key not in found]
        if not rest:
            return found
        try:
            found.update(self.blobs.get_many(rest))
        except Exception:
            logger.exception("payloads could not be read together", extra={"action": "start_job"})
        return found

    def _request(self, record: JobRecord, payload: bytes | None = None) -> ExecutionRequest | None:
        """The request of a claimed job (``payload``: its payload when read already), or
        ``None`` when it ended ERROR instead (too many attempts, or its request could not be
        built)."""
        if record.attempts > self.max_attempts:
            self._finish(record.id, JobStatus.ERROR, error=_too_many_attempts(record.attempts))
            return None
        try:
            return execution_request(
                record,
                self.blobs.get(record.payload_key) if payload is None else payload,
                record.snapshot_id,
                self._setup(record.backend, record.snapshot_id),
            )
        except ExecutionError as exc:
            logger.warning(
                "job could not start: %s",
                exc.message,
                extra={"action": "start_job", "job_id": record.id},
            )
            self._finish(record.id, JobStatus.ERROR, error=(exc.code, exc.message))
        except Exception as exc:
            logger.exception(
                "job could not start", extra={"action": "start_job", "job_id": record.id}
            )
            message = f"The job could not be started: {type(exc).__name__}: {exc}"
            self._finish(record.id, JobStatus.ERROR, error=("start_failed", message))
        return None

    def _setup(self, backend: str, snapshot_id: str | None) -> DeviceSetup | None:
        """What a worker needs to run ``backend`` with ``snapshot_id`` (``calibration``)."""
        return self.calibration.setup(backend, snapshot_id) if self.calibration else None

    def _stop_job(self, job_id: str) -> bool:
        """Stop a running job: its batch's share of it, or the executor's job."""
        with self._lock:
            batch = self._batch_of.get(job_id)
        if batch is not None:
            return batch.cancel(job_id)
        return self.executor.cancel(job_id)

    # --- completion -----------------------------------------------------------------------
    def _completed(self, job_id: str, future: Future[_Result]) -> None:
        """One job's future is done: its outcome recorded (a micro-batch of one)."""
        self._completed_together([(job_id, future)])

    def _batch_job_completed(
        self, together: _BatchOutcomes, job_id: str, future: Future[_Result]
    ) -> None:
        """One micro-batched job's future is done: a cancelled job is recorded at once; the
        others wait for the last of their batch, and all are recorded in one transaction."""
        if future.cancelled():
            self._completed(job_id, future)
            ready = together.add(None)
        else:
            ready = together.add((job_id, future))
        if ready:
            self._completed_together(ready)

    def _completed_together(self, outcomes: Sequence[tuple[str, Future[_Result]]]) -> None:
        """Record the outcomes of jobs that completed together (a micro-batch's, or one
        job's): their result blobs and every job's end in one store transaction
        (``_record_ends``); a notification per job."""
        ends: list[JobEnd] = []

        def collect(
            job_id: str,
            status: JobStatus,
            *,
            result_key: str | None = None,
            error: tuple[str, str] | None = None,
            usage_seconds: float | None = None,
        ) -> None:
            ends.append(_job_end(job_id, status, result_key, error, usage_seconds))

        taken_ids: list[str] = []
        blobs: list[tuple[str, bytes]] = []
        self._wake.set()  # the batch's slot is free: the next claim need not wait for this
        try:
            for job_id, future in outcomes:
                taken = self._take(job_id, future)
                if taken is None:
                    continue
                taken_ids.append(job_id)
                self._outcome(job_id, future, taken, collect, put=lambda k, d: blobs.append((k, d)))
            self._record_ends(blobs, ends)
        finally:
            self._recorded(taken_ids)

    def _record_ends(self, blobs: Sequence[tuple[str, bytes]], ends: Sequence[JobEnd]) -> None:
        """Write the result blobs and the jobs' ends in one store transaction
        (``unit_of_work``: the blobs are part of it where the blob store keeps them in the
        store's database), then notify each job. When the results cannot be stored, the
        jobs whose result they held end ERROR instead (their blobs are removed again)."""
        if not ends:
            return
        with self._lock:
            for end in ends:
                self._backend_of.pop(end.job_id, None)
                self._batch_of.pop(end.job_id, None)
        try:
            with self.store.unit_of_work():
                try:
                    if blobs:
                        self.blobs.put_many(blobs)
                except Exception as exc:
                    raise _ResultsNotStoredError(exc) from exc
                ended = self.store.finish_jobs(ends)
        except _ResultsNotStoredError as failed:
            logger.exception("job results could not be stored", extra={"action": "record_job"})
            with contextlib.suppress(Exception):
                self.blobs.delete_many([key for key, _ in blobs])
            cause = failed.__cause__
            message = f"The job's result could not be recorded: {type(cause).__name__}: {cause}"
            keys = {key for key, _ in blobs}
            ends = [
                _job_end(end.job_id, JobStatus.ERROR, None, ("recording_failed", message), None)
                if end.result_key in keys
                else end
                for end in ends
            ]
            blobs = []
            try:
                ended = self.store.finish_jobs(ends)
            except Exception:
                self._not_recorded(ends)
                return
        except Exception:
            self._not_recorded(ends)
            return
        results = dict(blobs)
        recorded = {record.id for record in ended}
        for end in ends:
            if end.job_id not in recorded:
                logger.error(
                    "could not record job end: the job is unknown or already final",
                    extra={"action": "finish_job", "job_id": end.job_id},
                )
        for record in ended:
            logger.info(
                "job finished",
                extra={"action": "finish_job", "job_id": record.id, "status": record.status.value},
            )
            result = results.get(record.result_key) if record.result_key is not None else None
            self._notify_recorded(record, result)

    def _not_recorded(self, ends: Sequence[JobEnd]) -> None:
        logger.exception(
            "could not record job ends",
            extra={"action": "finish_job", "job_ids": [end.job_id for end in ends]},
        )

    def _take(
        self, job_id: str, future: Future[_Result]
    ) -> tuple[bool, float | None, _Started | None] | None:
        """Move a completed job from in flight to being recorded: whether it was being
        cancelled, the time limit it ran past (if it did) and how it started; None when
        ``stop()`` released it (it is back in the queue, nothing to record)."""
        with self._lock:
            if self._inflight.get(job_id) is not future:
                return None
            del self._inflight[job_id]
            self._recording.add(job_id)
            cancelling = job_id in self._cancelling
            timed_out = self._timed_out.pop(job_id, None)
            started = self._started.pop(job_id, None)
        return cancelling, timed_out, started

    def _outcome(
        self,
        job_id: str,
        future: Future[_Result],
        taken: tuple[bool, float | None, _Started | None],
        finish: _Finisher,
        *,
        put: Callable[[str, bytes], None],
    ) -> None:
        """Decide how a completed job ends and hand that to ``finish`` (its result blob to
        ``put``)."""
        cancelling, timed_out, started = taken
        try:
            if timed_out is not None:
                finish(job_id, JobStatus.ERROR, error=_time_limit_error(timed_out))
            else:
                self._record(
                    job_id,
                    future,
                    cancelling=cancelling,
                    started=started,
                    finish=finish,
                    put=put,
                )
        except Exception as exc:  # the job ends ERROR; the thread that called us goes on
            logger.exception(
                "job result could not be recorded", extra={"action": "record_job", "job_id": job_id}
            )
            message = f"The job's result could not be recorded: {type(exc).__name__}: {exc}"
            finish(job_id, JobStatus.ERROR, error=("recording_failed", message))

    def _recorded(self, job_ids: Sequence[str]) -> None:
        """The jobs are recorded (or could not be): no longer in the middle of it."""
        with self._lock:
            for job_id in job_ids:
                self._recording.discard(job_id)
                self._cancelling.discard(job_id)
            self._lock.notify_all()
        self._wake.set()

    def _record(
        self,
        job_id: str,
        future: Future[_Result],
        *,
        cancelling: bool,
        started: _Started | None,
        finish: _Finisher,
        put: Callable[[str, bytes], None],
    ) -> None:
        if future.cancelled():
            if cancelling:
                finish(job_id, JobStatus.CANCELLED)
            else:  # the executor dropped the job (it is closing): the user did not cancel it
                self._release([job_id])
            return
        try:
            result = future.result()
        except ExecutionError as exc:
            if exc.code == WORKER_DIED and not cancelling:
                self._retry_or_fail(job_id, exc, started.attempt if started else 1)
                return
            finish(job_id, JobStatus.ERROR, error=(exc.code, exc.message))
            return
        except Exception as exc:
            logger.exception("job failed", extra={"action": "run_job", "job_id": job_id})
            finish(job_id, JobStatus.ERROR, error=("execution_failed", str(exc)))
            return
        if cancelling:  # a cancel that came too late to stop the simulation
            finish(job_id, JobStatus.CANCELLED)
            return
        result_key = job_result_key(job_id)
        try:
            encoded = json.dumps(result).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            message = f"The job's result could not be encoded as JSON: {type(exc).__name__}: {exc}"
            finish(job_id, JobStatus.ERROR, error=("result_unencodable", message))
            return
        put(result_key, encoded)
        failure = results.failed_experiments_message(result)
        if failure is None and not result.get("success", True):
            failure = str(result.get("status") or "The job failed.")
        usage = results_usage(result)
        with self._lock:
            batched = job_id in self._batch_of
        if usage is None and batched:  # not the batch's host seconds: its share of them
            usage = _time_taken(result)
        if failure is None:
            finish(job_id, JobStatus.DONE, result_key=result_key, usage_seconds=usage)
        else:
            finish(
                job_id,
                JobStatus.ERROR,
                result_key=result_key,
                error=("experiments_failed", failure),
                usage_seconds=usage,
            )

    def _retry_or_fail(self, job_id: str, error: ExecutionError, attempt: int) -> None:
        """A job whose worker died: back to the queue for a fresh worker, or ERROR after its
        last attempt."""
        with self._lock:
            self._batch_of.pop(job_id, None)
        if attempt >= self.max_attempts:
            message = f"{error.message}; the job was tried {attempt} times and is not retried"
            self._finish(job_id, JobStatus.ERROR, error=(error.code, message))
            return
        try:
            self.store.retry_job(job_id, self.worker_id)
            self._queues.changed()
        except Exception:
            logger.exception(
                "could not requeue a job whose worker died; its lease will expire",
                extra={"action": "retry_job", "job_id": job_id},
            )
            return
        logger.warning(
            "worker died; job requeued for another attempt: %s",
            error.message,
            extra={"action": "retry_job", "job_id": job_id, "attempt": attempt},
        )
        self._notify(job_id)

    def _notify(self, job_id: str) -> None:
        try:
            self._on_change(job_id)
        except Exception:  # a listener's failure is not the job's
            logger.exception("change listener failed", extra={"action": "notify", "job_id": job_id})

    def _notify_recorded(self, record: JobRecord, result: bytes | None) -> None:
        try:
            self._on_recorded(record, result)
        except Exception:  # a listener's failure is not the job's
            logger.exception("end listener failed", extra={"action": "notify", "job_id": record.id})

    def _release(self, job_ids: Sequence[str]) -> None:
        """Hand jobs back to the queue (or end them CANCELLED where the user asked)."""
        try:
            requeued = set(self.store.release_jobs(job_ids, self.worker_id))
            self._queues.changed()
        except Exception:
            logger.exception(
                "could not hand jobs back; they return to the queue when their lease expires",
                extra={"action": "release_job", "job_ids": list(job_ids)},
            )
            return
        for job_id in job_ids:
            with self._lock:
                self._backend_of.pop(job_id, None)
                self._batch_of.pop(job_id, None)
            logger.info(
                "job handed back to the queue" if job_id in requeued else "job not requeued",
                extra={"action": "release_job", "job_id": job_id, "requeued": job_id in requeued},
            )
            self._notify(job_id)

    def _finish(
        self, job_id: str, status: JobStatus, *, error: tuple[str, str] | None = None
    ) -> None:
        """End a job without a result (it failed before it ran, or could not run on)."""
        self._record_ends([], [_job_end(job_id, status, None, error, None)])


class _ResultsNotStoredError(Exception):
    """The blob store refused a recording's results (``__cause__``: why)."""


class _Finisher(Protocol):
    """Records how a job ends (``Dispatcher._completed_together``'s collector)."""

    def __call__(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result_key: str | None = None,
        error: tuple[str, str] | None = None,
        usage_seconds: float | None = None,
    ) -> None: ...


def _job_end(
    job_id: str,
    status: JobStatus,
    result_key: str | None,
    error: tuple[str, str] | None,
    usage_seconds: float | None,
) -> JobEnd:
    return JobEnd(
        job_id,
        status,
        result_key=result_key,
        error_code=error[0] if error else None,
        error_message=error[1] if error else None,
        usage_seconds=usage_seconds,
    )


class _BatchOutcomes:
    """The completed futures of one micro-batch's jobs, gathered until the last is done
    (a cancelled job is recorded on its own and only counted)."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._done: list[tuple[str, Future[_Result]]] = []
        self._lock = threading.Lock()

    def add(
        self, outcome: tuple[str, Future[_Result]] | None
    ) -> list[tuple[str, Future[_Result]]] | None:
        """Count one job done (``outcome`` None: recorded already); every gathered outcome
        once the last job is done, else None."""
        with self._lock:
            if outcome is not None:
                self._done.append(outcome)
            self._left -= 1
            return self._done if self._left == 0 else None


@dataclasses.dataclass(frozen=True, slots=True)
class _Started:
    """What the dispatcher keeps about a job it handed to the executor."""

    attempt: int
    deadline: Deadline


def results_usage(result: _Result) -> float | None:
    """The device seconds an emulated job's result reports (``metadata.usage``), or None
    (ideal simulators: the store charges host seconds)."""
    metadata = result.get("metadata")
    usage = metadata.get("usage") if isinstance(metadata, dict) else None
    seconds = usage.get("quantum_seconds") if isinstance(usage, dict) else None
    return float(seconds) if isinstance(seconds, int | float) else None


def _time_taken(result: _Result) -> float | None:
    """The host seconds a result reports (``time_taken``): a micro-batched job's share of
    its batch's run, charged as its usage on an ideal simulator."""
    seconds = result.get("time_taken")
    return float(seconds) if isinstance(seconds, int | float) else None


def _time_limit_error(limit: float) -> tuple[str, str]:
    return (
        "time_limit_exceeded",
        f"The job ran longer than its time limit of {limit:g} s and was stopped.",
    )


def _too_many_attempts(attempts: int) -> tuple[str, str]:
    return (
        "too_many_attempts",
        f"The job was started {attempts - 1} times and never finished (its worker or server "
        "stopped each time); it is not run again.",
    )
