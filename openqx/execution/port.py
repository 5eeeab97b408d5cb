"""The seam between the scheduler and whatever runs simulations.

A ``JobExecutor`` takes an ``ExecutionRequest`` (plain, picklable data: it crosses process and
machine boundaries) and returns a ``concurrent.futures.Future`` whose result is the qiskit
``Result.to_dict()`` JSON of the job. Implementations: an in-process one for tests, a pool of
worker processes that the executor can kill to stop a running job, and Dask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from openqx.devices.worker_setup import DeviceSetup

__all__ = [
    "BATCH_KIND",
    "ExecutionError",
    "ExecutionRequest",
    "JobExecutor",
    "Started",
    "tell_started",
]

logger = logging.getLogger(__name__)

BATCH_KIND = "batch"
"""``ExecutionRequest.kind`` of a micro-batch: ``batch`` holds its jobs (``execution.batch``)."""


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """One job to run."""

    job_id: str
    kind: str
    """``"circuits"`` (payload is QPY), ``"runtime"`` (payload is the program's JSON params) or
    ``"batch"`` (``BATCH_KIND``: the jobs in ``batch`` run together; ``execution.batch``)."""
    backend: str
    snapshot_id: str | None
    payload: bytes
    shots: int
    memory: bool = False
    header: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    program_id: str | None = None
    devices: DeviceSetup | None = None
    """The server's catalog configuration and imported snapshot, for workers that build their
    own catalog (``None``: the worker's catalog or the process-wide default)."""
    batch: tuple[ExecutionRequest, ...] = ()
    """A micro-batch's jobs (``kind`` ``"batch"``); its result is ``{"batch": [outcome, ...]}``,
    one outcome per job (``execution.batch.run_batch``)."""


Started = Callable[[], None]
"""Told that a worker has begun a submitted request (``JobExecutor.submit``)."""


def tell_started(started: Started | None, job_id: str) -> None:
    """Call a request's ``started`` callback, if any; one that fails is logged and the job
    runs on (for the executors)."""
    if started is None:
        return
    try:
        started()
    except Exception:  # the submitter's bug, not the job's
        logger.exception(
            "a job's start callback failed", extra={"action": "dispatch", "job_id": job_id}
        )


class ExecutionError(Exception):
    """A job could not be run; ``code`` is a stable string, ``message`` is for the user."""

    def __init__(self, message: str, code: str = "execution_failed") -> None:
        self.code = code
        self.message = message
        super().__init__(message)


class JobExecutor(Protocol):
    """Runs jobs somewhere and can stop them.

    An executor whose workers run ``runner.run_request`` also runs micro-batches (a request
    of ``kind`` ``"batch"``); it says so with a class attribute ``runs_batches = True``, and
    the dispatcher then hands it batches (``execution.batch.BatchRun``).
    """

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        """Start ``request``; the future holds the ``Result.to_dict()`` JSON or raises
        ``ExecutionError`` (or ``concurrent.futures.CancelledError`` once cancelled).

        ``started`` is called when a worker that is ready begins the request (a job's time
        limit runs from then, so a worker's start-up or a wait for a free worker does not
        count), and again if the executor runs it anew on another worker by itself. It runs on
        an executor thread and must be quick and not call the executor. An executor that
        cannot tell when its workers begin calls it on submit.
        """

    def cancel(self, job_id: str) -> bool:
        """Stop a submitted job, running or not; True if it will not complete."""

    def close(self) -> None:
        """Stop every worker; pending futures are cancelled."""
