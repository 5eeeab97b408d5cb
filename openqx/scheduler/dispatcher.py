"""The dispatch loop: claim queued jobs, hand them to the executor, record what comes back.

Shaped like procrastinate's worker: a slot semaphore for executor capacity, a wake-up event
with a polling fallback, a heartbeat that renews the leases of running jobs, lease-expiry
recovery (a job whose server died goes back to the queue), and a stop that drains within a
timeout. Any replica may run one: claiming is atomic in the store.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any, Protocol

from openqx.core.status import JobStatus
from openqx.execution.port import ExecutionError, ExecutionRequest, JobExecutor
from openqx.store.port import JobStore
from openqx.store.records import JobRecord

__all__ = ["BlobReader", "Dispatcher", "DispatcherState", "failed_experiments_message"]

logger = logging.getLogger(__name__)

HEARTBEAT_FRACTION = 1 / 3
"""Leases are renewed (and expired ones requeued) every lease_seconds × this."""
RUN_MODE = "fairshare"


class BlobReader(Protocol):
    """What the dispatcher needs of a blob store."""

    def get(self, key: str) -> bytes: ...

    def put(self, key: str, data: bytes) -> None: ...


class DispatcherState(enum.Enum):
    """Lifecycle of a dispatcher."""

    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


def failed_experiments_message(result: dict[str, Any]) -> str | None:
    """The seed's "The following experiments failed" text, or None if all succeeded."""
    lines = [
        f"Experiment {index}: {experiment.get('status', 'failed')}"
        for index, experiment in enumerate(result.get("results", []))
        if not experiment.get("success", False)
    ]
    if not lines and result.get("success", True):
        return None
    if not lines:
        return str(result.get("status") or "The job failed.")
    return "The following experiments failed:\n" + "\n".join(lines)


class Dispatcher:
    """Runs queued jobs on an executor, at most ``capacity`` at a time."""

    def __init__(
        self,
        store: JobStore,
        blobs: BlobReader,
        executor: JobExecutor,
        *,
        capacity: int,
        lease_seconds: float = 60.0,
        poll_seconds: float = 0.5,
        on_change: Callable[[str], None] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.executor = executor
        self.capacity = max(1, capacity)
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.worker_id = worker_id or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self._on_change = on_change or (lambda job_id: None)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[str, Future[dict[str, Any]]] = {}
        self._cancelling: set[str] = set()
        self._thread: threading.Thread | None = None
        self._last_heartbeat = 0.0
        self.state = DispatcherState.NEW

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop in a daemon thread."""
        if self.state is not DispatcherState.NEW:
            raise RuntimeError(f"dispatcher is {self.state.value}; it can start only once")
        self.state = DispatcherState.RUNNING
        self._thread = threading.Thread(target=self._run, name=self.worker_id, daemon=True)
        self._thread.start()
        logger.info("dispatcher started", extra={"action": "start_dispatcher"})

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, wait up to ``timeout`` for running jobs, then leave them leased.

        Jobs still running when the timeout passes keep their lease; another dispatcher
        (or this server after a restart) requeues them once the lease expires.
        """
        if self.state is not DispatcherState.RUNNING:
            self.state = DispatcherState.STOPPED
            return
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self.inflight_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.state = DispatcherState.STOPPED
        logger.info("dispatcher stopped", extra={"action": "stop_dispatcher"})

    def wake(self) -> None:
        """Look for work now (called after a submission or a cancel request)."""
        self._wake.set()

    def inflight_count(self) -> int:
        """Jobs handed to the executor and not finished yet."""
        with self._lock:
            return len(self._inflight)

    # --- loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            # Clear before the tick: a wake-up that lands during the tick is kept.
            self._wake.clear()
            try:
                self._tick()
            except Exception:  # keep the loop alive; the store may be briefly unavailable
                logger.exception("dispatch tick failed", extra={"action": "dispatch_tick"})
            self._wake.wait(self.poll_seconds)

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat >= self.lease_seconds * HEARTBEAT_FRACTION:
            self._last_heartbeat = now
            self._heartbeat()
        self._check_cancellations()
        self._dispatch()

    def _heartbeat(self) -> None:
        with self._lock:
            running = list(self._inflight)
        if running:
            self.store.renew_lease(running, self.worker_id, self.lease_seconds)
        for job_id in self.store.requeue_expired():
            logger.warning(
                "lease expired; job requeued", extra={"action": "requeue_job", "job_id": job_id}
            )
            self._on_change(job_id)

    def _check_cancellations(self) -> None:
        with self._lock:
            running = [j for j in self._inflight if j not in self._cancelling]
        if not running:
            return
        for job_id in self.store.cancel_requested(running):
            with self._lock:
                self._cancelling.add(job_id)
            stopped = self.executor.cancel(job_id)
            logger.info(
                "cancelling running job",
                extra={"action": "cancel_job", "job_id": job_id, "stopped": stopped},
            )

    def _dispatch(self) -> None:
        backends = self.store.backends_with_queued_jobs()
        # Round-robin over backends so one long queue does not starve the others.
        while backends and not self._stopping.is_set() and self.inflight_count() < self.capacity:
            for backend in list(backends):
                if self.inflight_count() >= self.capacity:
                    return
                record = self.store.claim_next(backend, self.worker_id, self.lease_seconds)
                if record is None:
                    backends.remove(backend)
                    continue
                self._start(record)

    def _start(self, record: JobRecord) -> None:
        logger.info(
            "job claimed",
            extra={"action": "claim_job", "job_id": record.id, "backend": record.backend},
        )
        self._on_change(record.id)
        try:
            request = ExecutionRequest(
                job_id=record.id,
                kind=record.kind,
                backend=record.backend,
                snapshot_id=record.snapshot_id,
                payload=self.blobs.get(record.payload_key),
                shots=record.shots or 0,
                memory=record.memory,
                header=dict(record.header),
                options=dict(record.options),
                program_id=record.program_id,
            )
            future = self.executor.submit(request)
        except Exception as exc:
            logger.exception(
                "job could not start", extra={"action": "start_job", "job_id": record.id}
            )
            self._finish(record.id, JobStatus.ERROR, error=("start_failed", str(exc)))
            return
        with self._lock:
            self._inflight[record.id] = future
        future.add_done_callback(functools.partial(self._completed, record.id))

    def _completed(self, job_id: str, future: Future[dict[str, Any]]) -> None:
        try:
            try:
                result = future.result()
            except CancelledError:
                self._finish(job_id, JobStatus.CANCELLED)
                return
            except ExecutionError as exc:
                self._finish(job_id, JobStatus.ERROR, error=(exc.code, exc.message))
                return
            except Exception as exc:
                logger.exception("job failed", extra={"action": "run_job", "job_id": job_id})
                self._finish(job_id, JobStatus.ERROR, error=("execution_failed", str(exc)))
                return
            with self._lock:
                cancelled = job_id in self._cancelling
            if cancelled:
                self._finish(job_id, JobStatus.CANCELLED)
                return
            result_key = f"jobs/{job_id}/result.json"
            self.blobs.put(result_key, json.dumps(result).encode())
            failure = failed_experiments_message(result)
            if failure is None:
                self._finish(job_id, JobStatus.DONE, result_key=result_key)
            else:
                self._finish(
                    job_id,
                    JobStatus.ERROR,
                    result_key=result_key,
                    error=("experiments_failed", failure),
                )
        finally:
            with self._lock:
                self._inflight.pop(job_id, None)
                self._cancelling.discard(job_id)
            self._wake.set()

    def _finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result_key: str | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        try:
            self.store.finish_job(
                job_id,
                status,
                result_key=result_key,
                error_code=error[0] if error else None,
                error_message=error[1] if error else None,
                run_mode=RUN_MODE,
            )
        except Exception:
            logger.exception(
                "could not record job end", extra={"action": "finish_job", "job_id": job_id}
            )
            return
        logger.info(
            "job finished",
            extra={"action": "finish_job", "job_id": job_id, "status": status.value},
        )
        self._on_change(job_id)
