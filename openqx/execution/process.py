"""``ProcessExecutor``: long-lived worker processes that keep their caches between jobs.

Each worker holds one job at a time. Noise models and simulators cached in a worker survive
from job to job, which is the point of owning the processes instead of using a pool. A cancel
of a running job terminates its worker (really stopping the simulation) and starts a new one.

    parent                              worker (spawn context)
    submit() → pending queue
    dispatcher thread ── request ──────▶ run_request(request)
                      ◀── ("ok", result) / ("error", code, message)
    cancel(running)   ── SIGKILL ──────▶ (gone; a replacement is started)
"""

from __future__ import annotations

import collections
import enum
import logging
import multiprocessing
import multiprocessing.connection
import signal
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from openqx.execution.port import ExecutionError, ExecutionRequest

__all__ = ["ExecutorClosedError", "ProcessExecutor"]

logger = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0
"""How long ``close`` waits for a worker to exit before killing it."""

_Job = tuple[ExecutionRequest, "Future[dict[str, Any]]"]


class ExecutorClosedError(RuntimeError):
    """The executor is closed; it takes no more jobs."""


class _State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


def _worker_main(conn: Connection) -> None:
    """Worker loop: receive a request, answer its result or error; ``None`` means exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    from openqx.execution import runner

    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            answer: tuple[Any, ...] = ("ok", runner.run_request(request))
        except ExecutionError as exc:
            answer = ("error", exc.code, exc.message)
        except Exception as exc:
            answer = ("error", "internal", f"internal error: {type(exc).__name__}: {exc}")
        conn.send(answer)


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    job: _Job | None = None


class ProcessExecutor:
    """Runs jobs in ``workers`` long-lived processes; cancel kills a running job's worker.

    Futures stay pending (never "running") until their job ends, so ``future.cancel()``
    always works and goes through ``cancel``. A worker that dies on its own fails its job with
    ``ExecutionError("worker process died ...")`` and is replaced.

    Args:
        workers: number of worker processes (at least 1).
        start_method: multiprocessing start method; ``spawn`` (default) or ``forkserver``,
            both safe in a process that runs threads.
    """

    def __init__(self, workers: int = 1, start_method: str = "spawn") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._ctx = multiprocessing.get_context(start_method)
        # Reentrant: future.cancel() under the lock runs _on_done, which calls cancel().
        self._lock = threading.RLock()
        self._pending: collections.deque[_Job] = collections.deque()
        self._workers: list[_Worker] = [self._start_worker() for _ in range(workers)]
        self._state = _State.OPEN
        self._wake_recv, self._wake_send = multiprocessing.Pipe(duplex=False)
        self._thread = threading.Thread(
            target=self._dispatch_loop, name="openqx-process-executor", daemon=True
        )
        self._thread.start()

    # -- public API -------------------------------------------------------------------------

    def submit(self, request: ExecutionRequest) -> Future[dict[str, Any]]:
        """Queue ``request`` for the next idle worker; see ``JobExecutor.submit``.

        Raises:
            ExecutorClosedError: the executor is closed.
        """
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            if self._state is _State.CLOSED:
                raise ExecutorClosedError("the process executor is closed")
            self._pending.append((request, future))
        future.add_done_callback(lambda f: self._on_done(request.job_id, f))
        self._wake()
        return future

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job, or kill the worker running it; True if it will not complete."""
        with self._lock:
            for job in self._pending:
                if job[0].job_id == job_id:
                    self._pending.remove(job)
                    job[1].cancel()
                    return True
            for worker in self._workers:
                if worker.job is not None and worker.job[0].job_id == job_id:
                    future = worker.job[1]
                    worker.job = None
                    self._kill(worker)
                    # Reap and replace it now: a killed process can look alive for a moment,
                    # and the next queued job must not be handed to it.
                    worker.process.join(JOIN_TIMEOUT_S)
                    self._replace(worker)
                    future.cancel()
                    self._wake()
                    return True
        return False

    def worker_pids(self) -> list[int]:
        """Return the process ids of the current workers (for monitoring and tests)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    def running_pid(self, job_id: str) -> int | None:
        """Return the pid of the worker running ``job_id``, or ``None``."""
        with self._lock:
            for worker in self._workers:
                if worker.job is not None and worker.job[0].job_id == job_id:
                    return worker.process.pid
        return None

    def close(self) -> None:
        """Cancel pending and running jobs, stop every worker and wait for them to exit."""
        with self._lock:
            if self._state is _State.CLOSED:
                return
            self._state = _State.CLOSED
            pending = list(self._pending)
            self._pending.clear()
            running = [w.job for w in self._workers if w.job is not None]
            for worker in self._workers:
                worker.job = None
        for _request, future in pending + running:
            future.cancel()
        self._wake()
        self._thread.join(JOIN_TIMEOUT_S * 2)
        for worker in self._workers:
            self._stop(worker)
        self._wake_recv.close()
        self._wake_send.close()

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child_conn,), name="openqx-worker", daemon=True
        )
        process.start()
        child_conn.close()
        return _Worker(process=process, conn=parent_conn)

    def _wake(self) -> None:
        try:
            self._wake_send.send_bytes(b"")
        except OSError:
            pass

    def _on_done(self, job_id: str, future: Future[dict[str, Any]]) -> None:
        if future.cancelled():
            self.cancel(job_id)

    def _kill(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()

    def _stop(self, worker: _Worker) -> None:
        try:
            if worker.process.is_alive():
                worker.conn.send(None)
        except OSError:
            pass
        worker.process.join(JOIN_TIMEOUT_S)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(JOIN_TIMEOUT_S)
        worker.conn.close()
        worker.process.close()

    def _dispatch_loop(self) -> None:
        while True:
            with self._lock:
                if self._state is _State.CLOSED:
                    return
                self._assign()
                waitables: list[Any] = [self._wake_recv]
                for worker in self._workers:
                    waitables += [worker.conn, worker.process.sentinel]
            ready = multiprocessing.connection.wait(waitables, timeout=1.0)
            if self._wake_recv in ready:
                while self._wake_recv.poll():
                    self._wake_recv.recv_bytes()
            with self._lock:
                if self._state is _State.CLOSED:  # type: ignore[comparison-overlap]
                    return
                for worker in list(self._workers):
                    if worker.conn in ready:
                        self._receive(worker)
                    if worker.process.sentinel in ready or not worker.process.is_alive():
                        self._replace(worker)

    def _assign(self) -> None:
        for worker in self._workers:
            while worker.job is None and self._pending and worker.process.is_alive():
                request, future = self._pending.popleft()
                if future.done():
                    continue
                try:
                    worker.conn.send(request)
                except (OSError, ValueError) as exc:  # broken pipe: the worker is gone
                    self._pending.appendleft((request, future))
                    logger.warning("worker unreachable: %s", exc, extra={"action": "dispatch"})
                    break
                worker.job = (request, future)

    def _receive(self, worker: _Worker) -> None:
        try:
            answer = worker.conn.recv()
        except (EOFError, OSError):
            return  # the worker died; _replace handles it
        job, worker.job = worker.job, None
        if job is None:
            return
        future = job[1]
        if future.done():
            return
        if answer[0] == "ok":
            future.set_result(answer[1])
        else:
            future.set_exception(ExecutionError(answer[2], answer[1]))

    def _replace(self, worker: _Worker) -> None:
        worker.process.join(0.1)
        if worker.process.is_alive():
            return
        job, worker.job = worker.job, None
        exitcode = worker.process.exitcode
        if job is not None and not job[1].done():
            job[1].set_exception(
                ExecutionError(
                    f"worker process died (exit code {exitcode}) while running job {job[0].job_id}",
                    "worker_died",
                )
            )
        logger.info(
            "replacing worker pid %s (exit code %s)",
            worker.process.pid,
            exitcode,
            extra={"action": "replace_worker", "job_id": job[0].job_id if job else None},
        )
        worker.conn.close()
        worker.process.close()
        index = self._workers.index(worker)
        self._workers[index] = self._start_worker()
