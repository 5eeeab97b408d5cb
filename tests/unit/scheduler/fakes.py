"""Test doubles for the dispatcher: an executor whose futures the test completes, and a log
watcher that turns the dispatcher's ``action`` log lines into events to wait on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from openqx.execution.port import ExecutionRequest, Started

__all__ = ["ControlledExecutor", "LogWatcher", "ok_result", "watch_log"]

WAIT_S = 30.0
"""Upper bound of every event wait (a failing test ends instead of hanging)."""


def ok_result(job_id: str, shots: int = 10) -> dict[str, Any]:
    """A successful one-experiment result in qiskit's ``Result.to_dict()`` schema."""
    return {
        "success": True,
        "job_id": job_id,
        "results": [{"success": True, "shots": shots, "data": {"counts": {"0x0": shots}}}],
    }


class ControlledExecutor:
    """A ``JobExecutor`` that runs nothing: the test completes each job's future.

    Args:
        can_stop_running: whether ``cancel`` stops a job (as ``ProcessExecutor`` does by
            killing its worker) or leaves it running (as ``InlineExecutor`` does).
        begins_on_submit: whether a job begins (its ``started`` callback) when submitted, as
            with a ready worker; otherwise when the test calls ``begin``, as when the worker
            is still starting up.
    """

    def __init__(self, *, can_stop_running: bool = True, begins_on_submit: bool = True) -> None:
        self.can_stop_running = can_stop_running
        self.begins_on_submit = begins_on_submit
        self.starts: dict[str, Started] = {}
        self.requests: dict[str, ExecutionRequest] = {}
        self.futures: dict[str, Future[dict[str, Any]]] = {}
        self.cancel_calls: list[str] = []
        self.closed = False
        self._submitted = threading.Condition()

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        if started is not None:
            if self.begins_on_submit:
                started()
            else:
                self.starts[request.job_id] = started
        with self._submitted:
            self.requests[request.job_id] = request
            self.futures[request.job_id] = future
            self._submitted.notify_all()
        return future

    def cancel(self, job_id: str) -> bool:
        self.cancel_calls.append(job_id)
        future = self.futures.get(job_id)
        if future is None or not self.can_stop_running:
            return False
        return future.cancel()

    def close(self) -> None:
        """Cancel every future not completed, as the real executors do."""
        self.closed = True
        for future in self.futures.values():
            future.cancel()

    def wait_submitted(self, job_id: str) -> Future[dict[str, Any]]:
        """Wait until ``job_id`` is submitted (by a dispatcher thread) and return its future."""
        with self._submitted:
            assert self._submitted.wait_for(lambda: job_id in self.futures, WAIT_S)
            return self.futures[job_id]

    def begin(self, job_id: str) -> None:
        """A worker begins ``job_id`` (submitted with ``begins_on_submit=False``), or begins
        it anew."""
        self.starts[job_id]()

    def finish(self, job_id: str, result: dict[str, Any] | None = None) -> None:
        """Complete ``job_id`` with ``result`` (default: a successful one)."""
        self.futures[job_id].set_result(result if result is not None else ok_result(job_id))

    def fail(self, job_id: str, error: BaseException) -> None:
        """Complete ``job_id`` with ``error``."""
        self.futures[job_id].set_exception(error)


class LogWatcher(logging.Handler):
    """Sets an event for each ``action`` the dispatcher logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def _event(self, action: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(action, threading.Event())

    def emit(self, record: logging.LogRecord) -> None:
        action = getattr(record, "action", None)
        if isinstance(action, str):
            self._event(action).set()
            job_id = getattr(record, "job_id", None)
            if isinstance(job_id, str):
                self._event(f"{action} {job_id}").set()

    def wait(self, action: str) -> None:
        """Wait until a line with ``action`` has been logged."""
        assert self._event(action).wait(WAIT_S), f"no {action!r} log line"

    def wait_job(self, action: str, job_id: str) -> None:
        """Wait until a line with ``action`` about ``job_id`` has been logged."""
        assert self._event(f"{action} {job_id}").wait(WAIT_S), f"no {action!r} for {job_id}"


@contextmanager
def watch_log(name: str = "openqx.scheduler.dispatcher") -> Iterator[LogWatcher]:
    """Attach a ``LogWatcher`` to logger ``name`` (at INFO) for the block."""
    logger = logging.getLogger(name)
    watcher = LogWatcher()
    level = logger.level
    logger.addHandler(watcher)
    logger.setLevel(logging.DEBUG)
    try:
        yield watcher
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(level)
