"""``ProcessExecutor``: long-lived worker processes that keep their caches between jobs.

Each worker holds one job at a time. Noise models and simulators cached in a worker survive
from job to job, which is the point of owning the processes instead of using a pool. A cancel
of a running job terminates its worker (really stopping the simulation) and starts a new one.

    parent                              worker (python -c "...worker_main(fd, fd)")
    submit() → pending queue            (imports qiskit and Aer)
    dispatch thread ◀─── ("ready",) ──── once, after its imports: ``started`` callbacks
                    ──── request ──────▶ run_request(request)
                    ◀─── ("ok", result) / ("error", code, message)
    completion thread: sets the future (its callbacks run there)
    cancel(running)   ── SIGKILL ──────▶ (gone; a replacement is started)

The dispatch thread only moves bytes: a future's callbacks (the scheduler records the job's
end there, which takes a database write) run on the completion thread, so a worker that
answered gets its next job at once instead of after the last one is recorded.

Workers are fresh interpreters that import only openqx (``_worker_command``), started with
``subprocess`` and spoken to over a socket pair through ``multiprocessing.connection``. They
are deliberately not ``multiprocessing`` children: its ``spawn`` and ``forkserver`` methods
import the parent's ``__main__`` in every child, which runs a user's script again when it
calls ``OpenQX.local()`` at top level without ``if __name__ == "__main__":`` (each child then
starts its own service, fails, and its job ends ``worker_died``); ``fork`` is unsafe in a
process that runs threads. A worker gets the parent's ``sys.path`` and a lifeline pipe: when
the parent is gone (even killed), the worker exits, in the middle of a job if need be
(``exit_with_parent``: the kernel kills it, since a simulation in Aer holds the GIL and no
Python thread of the worker runs until it ends).
"""

from __future__ import annotations

import collections
import enum
import fcntl
import logging
import multiprocessing.connection
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from openqx.execution.port import ExecutionError, ExecutionRequest, Started, tell_started

__all__ = ["ExecutorClosedError", "ProcessExecutor", "exit_with_parent"]

logger = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0
"""How long ``close`` waits for a worker to exit before killing it."""

FAILED_PASS_PAUSE_S = 0.1
"""Pause after a dispatch pass failed, before the next one (seconds)."""
SUPERVISE_INTERVAL_S = 1.0
"""How often the supervisor checks the dispatch thread (seconds)."""

READY = ("ready",)
"""What a worker sends once it has imported what jobs need (before its first request)."""
STARTUP_TIMEOUT_S = 120.0
"""How long a worker may take to start up (importing qiskit and Aer takes seconds) before it
is taken for hung: it is killed and replaced, and a job it held fails ``worker_died`` (the
scheduler runs it again). Without it, a job handed to a worker stuck in its start-up would
never begin, so its time limit, which runs from the job's start, would never end it."""

WORKER_ENVIRONMENT = {"GOMP_SPINCOUNT": "3000"}
"""Variables a worker starts with unless the server's environment sets them. Aer's OpenMP
threads (libgomp) busy-wait after each parallel region for ``GOMP_SPINCOUNT`` spins (300,000
by default): after each multi-threaded simulation its idle threads burn about 7 ms of CPU,
holding cores that the server, the other workers and the next job need, and during one they
hold a core while the thread they wait for waits for a core. 3,000 spins end that.

The price is a lone job's barriers: its threads sleep between some of its gates (about 100
times in a 20-qubit statevector run, 4 times with the default) and waking one costs a trip
through the host on a virtual machine. Measured with ``benchmarks/ab_servers.py`` (sessions
18 and 20), the default took 0 to 43 ms off a 20-qubit job of about 500 ms on an idle 2-core
machine, but made the same job 9-32 % slower while another client read the server in a loop,
in-process Aer 22 % slower beside one busy process, and a burst of 30 16-qubit jobs on two
workers 1.6-2.6 times slower (``benchmarks/spin.py``). A shared service is rarely idle, so
workers keep 3,000."""


class _Job(NamedTuple):
    """A submitted job, queued or with a worker."""

    request: ExecutionRequest
    future: Future[dict[str, Any]]
    data: bytes
    """The request pickled (once, by ``submit``)."""
    started: Started | None
    """Told when a ready worker has the job (``JobExecutor.submit``)."""


_Answer = tuple["Future[dict[str, Any]]", tuple[Any, ...]]
"""A job's future and its worker's answer, for the completion thread."""


class ExecutorClosedError(RuntimeError):
    """The executor is closed; it takes no more jobs."""


class _State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


def exit_with_parent(lifeline: int) -> None:
    """End this process when the write end of the pipe ``lifeline`` (the read end) closes, which
    happens when the parent, its only holder, is gone.

    Where the platform can (Linux), the kernel ends the process: the pipe is put in async mode,
    so its hang-up sends this process SIGKILL (``F_SETSIG``), or SIGIO, whose default action ends
    it, where ``F_SETSIG`` is missing. That works while a simulation holds the GIL, which Aer
    does for the whole of a run. A thread also waits on the pipe and exits the process: it is
    what works elsewhere, and it covers a parent gone before async mode was set.
    """
    if hasattr(fcntl, "F_SETOWN") and hasattr(os, "O_ASYNC"):
        signal.signal(signal.SIGIO, signal.SIG_DFL)  # a parent may have ignored it
        fcntl.fcntl(lifeline, fcntl.F_SETOWN, os.getpid())
        if hasattr(fcntl, "F_SETSIG"):
            fcntl.fcntl(lifeline, fcntl.F_SETSIG, signal.SIGKILL)
        fcntl.fcntl(lifeline, fcntl.F_SETFL, fcntl.fcntl(lifeline, fcntl.F_GETFL) | os.O_ASYNC)
    threading.Thread(target=_wait_for_hang_up, args=(lifeline,), daemon=True).start()


def _wait_for_hang_up(lifeline: int) -> None:
    """Block until the write end of ``lifeline`` closes, then exit the process."""
    while os.read(lifeline, 1):
        pass
    os._exit(0)


def worker_main(channel: int, lifeline: int) -> None:
    """Worker loop on file descriptor ``channel``: receive a request, answer its result or
    error; ``None`` (or the parent hanging up) means exit. Runs in the worker process.

    Args:
        channel: this end of the socket pair to the parent.
        lifeline: read end of a pipe whose write end only the parent holds.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    exit_with_parent(lifeline)
    from openqx.execution import runner

    conn = Connection(channel)
    try:
        conn.send(READY)
    except OSError:  # the parent is gone
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the parent hung up, or died (a reset, not an EOF)
            return
        if request is None:
            return
        try:
            answer: tuple[Any, ...] = ("ok", runner.run_request(request))
        except ExecutionError as exc:
            answer = ("error", exc.code, exc.message)
        except Exception as exc:
            answer = ("error", "internal", f"internal error: {type(exc).__name__}: {exc}")
        try:
            data = pickle.dumps(answer)
        except Exception as exc:  # e.g. a result too deeply nested to pickle
            data = pickle.dumps(
                ("error", "internal", f"the result could not be sent back: {_describe(exc)}")
            )
        try:
            conn.send_bytes(data)
        except OSError:  # the parent is gone: nobody to answer
            return


def _describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, for a user-facing error."""
    return f"{type(exc).__name__}: {exc}"


def _worker_command(channel: int, lifeline: int) -> list[str]:
    """The command line of a worker: this interpreter, the parent's ``sys.path``, no
    ``__main__`` of the parent's."""
    code = (
        f"import sys; sys.path[:] = {sys.path!r}; "
        "from openqx.execution.process import worker_main; "
        f"worker_main({channel}, {lifeline})"
    )
    return [sys.executable, "-c", code]


def _worker_environment() -> dict[str, str]:
    """The server's environment with ``WORKER_ENVIRONMENT`` for what it leaves unset."""
    return {**WORKER_ENVIRONMENT, **os.environ}


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    lifeline: int
    """Write end of the worker's lifeline pipe (never written; closing it ends the worker)."""
    born: float
    """``time.monotonic()`` when the process was started."""
    job: _Job | None = None
    ready: bool = False
    """The worker said ``READY``: a job handed to it now begins at once."""
    stalled: bool = False
    """Killed for not starting up within the executor's ``startup_timeout``."""
    hung_up: bool = False
    """The worker's end of the channel closed: it is gone or going."""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None and not self.hung_up and not self.stalled

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the process to exit; True if it has."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

    def close(self) -> None:
        self.conn.close()
        os.close(self.lifeline)


class ProcessExecutor:
    """Runs jobs in ``workers`` long-lived processes; cancel kills a running job's worker.

    Futures stay pending (never "running") until their job ends, so ``future.cancel()``
    always works and goes through ``cancel``. A worker that dies on its own fails its job with
    ``ExecutionError(code="worker_died")`` and is replaced. A request is pickled by ``submit``
    (one that cannot be is refused there, ``start_failed``); a pass of the dispatch thread
    that fails is logged and the thread goes on; a supervisor thread restarts the dispatch
    thread if it ends anyway, logging why (``restarts`` counts it).

    A worker that has not started up within ``startup_timeout`` seconds (``READY``) is killed
    and replaced like a dead one.

    Args:
        workers: number of worker processes (at least 1).
        startup_timeout: seconds a worker may take to start up (``STARTUP_TIMEOUT_S``).
    """

    runs_batches = True
    """Its workers run micro-batch requests (``execution.batch``)."""

    def __init__(self, workers: int = 1, *, startup_timeout: float = STARTUP_TIMEOUT_S) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.startup_timeout = startup_timeout
        # Reentrant: future.cancel() under the lock runs _on_done, which calls cancel().
        # A condition: wait_running() waits for a job to be handed to a worker.
        self._lock = threading.Condition(threading.RLock())
        self._pending: collections.deque[_Job] = collections.deque()
        self._workers: list[_Worker] = [self._start_worker() for _ in range(workers)]
        self._state = _State.OPEN
        self._thread_error = ""
        self.restarts = 0
        """How many times the supervisor restarted the dispatch thread."""
        self._wake_recv, self._wake_send = multiprocessing.connection.Pipe(duplex=False)
        self._answers: queue.SimpleQueue[_Answer | None] = queue.SimpleQueue()
        self._completer = self._start_thread(self._complete_loop, "openqx-process-completions")
        self._thread = self._start_thread(self._dispatch_loop, "openqx-process-executor")
        self._supervisor = self._start_thread(self._supervise, "openqx-process-supervisor")

    # -- public API -------------------------------------------------------------------------

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        """Hand ``request`` to an idle worker now, or queue it for the next one; see
        ``JobExecutor.submit``.

        ``started`` is called when a worker that has finished starting up has the request: a
        worker that replaced a killed one imports qiskit and Aer first, and that does not
        count towards the job.

        Raises:
            ExecutorClosedError: the executor is closed.
            ExecutionError: the request cannot be sent to a worker (``start_failed``).
        """
        try:
            data = pickle.dumps(request)
        except Exception as exc:  # e.g. a header nested too deeply to pickle
            raise ExecutionError(
                f"the job could not be prepared for a worker: {_describe(exc)}", "start_failed"
            ) from exc
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            if self._state is _State.CLOSED:
                raise ExecutorClosedError("the process executor is closed")
            self._pending.append(_Job(request, future, data, started))
            self._assign()  # to an idle worker now: no hop through the dispatch thread
            queued = bool(self._pending)
        future.add_done_callback(lambda f: self._on_done(request.job_id, f))
        if queued:
            self._wake()
        return future

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job, or kill the worker running it; True if it will not complete.

        A killed worker has exited (and been replaced) when this returns.
        """
        with self._lock:
            for job in self._pending:
                if job.request.job_id == job_id:
                    self._pending.remove(job)
                    job.future.cancel()
                    return True
            for worker in self._workers:
                if worker.job is not None and worker.job.request.job_id == job_id:
                    future = worker.job.future
                    worker.job = None
                    worker.kill()
                    # Reap and replace it now: a killed process can look alive for a moment,
                    # and the next queued job must not be handed to it.
                    worker.join(JOIN_TIMEOUT_S)
                    self._replace(worker)
                    future.cancel()
                    self._wake()
                    return True
        return False

    def worker_pids(self) -> list[int]:
        """Return the process ids of the current workers (for monitoring and tests)."""
        with self._lock:
            return [w.pid for w in self._workers]

    def running_pid(self, job_id: str) -> int | None:
        """Return the pid of the worker running ``job_id``, or ``None``."""
        with self._lock:
            for worker in self._workers:
                if worker.job is not None and worker.job.request.job_id == job_id:
                    return worker.pid
        return None

    def wait_running(self, job_id: str, timeout: float | None = None) -> int | None:
        """Wait until ``job_id`` is handed to a worker; return that worker's pid, or ``None``
        if ``timeout`` seconds pass first."""
        with self._lock:
            self._lock.wait_for(lambda: self.running_pid(job_id) is not None, timeout)
            return self.running_pid(job_id)

    def close(self) -> None:
        """Cancel pending and running jobs, stop every worker and wait for them to exit.

        Idle workers are asked to exit; busy ones are killed (their jobs are cancelled).
        """
        with self._lock:
            if self._state is _State.CLOSED:
                return
            self._state = _State.CLOSED
            pending = list(self._pending)
            self._pending.clear()
            busy = [w for w in self._workers if w.job is not None]
            running = [w.job for w in busy if w.job is not None]
            for worker in self._workers:
                worker.job = None
        for worker in busy:
            worker.kill()
        for job in pending + running:
            job.future.cancel()
        self._wake()
        self._thread.join(JOIN_TIMEOUT_S * 2)
        self._supervisor.join(JOIN_TIMEOUT_S)
        self._answers.put(None)  # after the answers already received: they are delivered
        self._completer.join(JOIN_TIMEOUT_S * 2)
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
        ours, theirs = socket.socketpair()
        lifeline_read, lifeline_write = os.pipe()
        try:
            process = subprocess.Popen(
                _worker_command(theirs.fileno(), lifeline_read),
                pass_fds=(theirs.fileno(), lifeline_read),
                env=_worker_environment(),
            )
        except BaseException:
            ours.close()
            os.close(lifeline_write)
            raise
        finally:
            theirs.close()
            os.close(lifeline_read)
        return _Worker(
            process=process,
            conn=Connection(ours.detach()),
            lifeline=lifeline_write,
            born=time.monotonic(),
        )

    def _wake(self) -> None:
        try:
            self._wake_send.send_bytes(b"")
        except OSError:
            pass

    def _on_done(self, job_id: str, future: Future[dict[str, Any]]) -> None:
        if future.cancelled():
            self.cancel(job_id)

    def _stop(self, worker: _Worker) -> None:
        try:
            if worker.alive():
                worker.conn.send(None)
        except OSError:
            pass
        if not worker.join(JOIN_TIMEOUT_S):
            worker.kill()
            worker.join(JOIN_TIMEOUT_S)
        worker.close()

    def _start_thread(self, target: Any, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    def _supervise(self) -> None:
        """Restart the dispatch thread if it ended while the executor is open (it should
        not: each pass catches its errors; this is the net under that net)."""
        while True:
            self._thread.join(SUPERVISE_INTERVAL_S)
            with self._lock:
                if self._state is _State.CLOSED:
                    return
                if self._thread.is_alive():
                    continue
                logger.error(
                    "executor dispatch thread died; restarting it (%s)",
                    self._thread_error,
                    extra={"action": "restart_thread", "thread_name": self._thread.name},
                )
                self.restarts += 1
                self._thread = self._start_thread(self._dispatch_loop, "openqx-process-executor")

    def _dispatch_loop(self) -> None:
        try:
            self._dispatch_passes()
        except BaseException as exc:  # noqa: BLE001 - the thread ends; the supervisor says why
            self._thread_error = _describe(exc)
            logger.exception("executor dispatch thread failed", extra={"action": "dispatch"})

    def _dispatch_passes(self) -> None:
        while True:
            try:
                if self._dispatch_pass():
                    return
            except Exception:  # one bad pass must not end the thread that serves every job
                logger.exception("executor dispatch pass failed", extra={"action": "dispatch"})
                time.sleep(FAILED_PASS_PAUSE_S)  # not a hot loop if the failure repeats

    def _dispatch_pass(self) -> bool:
        """One wait for answers and deaths; True when the executor is closed."""
        with self._lock:
            if self._state is _State.CLOSED:
                return True
            self._assign()
            # A worker's channel becomes readable with its answer, or at EOF when the
            # worker exits: that is how a death is noticed. File numbers, not the
            # connections: a cancel may close a channel (replacing its worker) meanwhile.
            channels = [self._wake_recv.fileno()]
            channels += [worker.conn.fileno() for worker in self._workers]
        try:
            multiprocessing.connection.wait(channels, timeout=1.0)
        except OSError:  # a channel closed while this thread waited on it
            pass
        with self._lock:
            if self._state is _State.CLOSED:  # type: ignore[comparison-overlap]
                return True
            while self._wake_recv.poll():
                self._wake_recv.recv_bytes()
            for worker in list(self._workers):
                if worker.conn.poll():  # an answer, or EOF
                    self._receive(worker)
                if not worker.ready and time.monotonic() - worker.born > self.startup_timeout:
                    worker.stalled = True  # hung in its start-up: replaced like a dead one
                if not worker.alive():
                    self._replace(worker)
        return False

    def _assign(self) -> None:
        assigned = False
        for worker in self._workers:
            while worker.job is None and self._pending and worker.alive():
                job = self._pending.popleft()
                if job.future.done():
                    continue
                try:
                    worker.conn.send_bytes(job.data)
                except (OSError, ValueError) as exc:  # broken pipe: the worker is gone
                    self._pending.appendleft(job)
                    worker.hung_up = True
                    logger.warning("worker unreachable: %s", exc, extra={"action": "dispatch"})
                    break
                worker.job = job
                assigned = True
                if worker.ready:
                    tell_started(job.started, job.request.job_id)
        if assigned:
            self._lock.notify_all()

    def _receive(self, worker: _Worker) -> None:
        try:
            answer = worker.conn.recv()
        except (EOFError, OSError):
            worker.hung_up = True  # the worker died; _replace handles it
            return
        except Exception as exc:  # an answer that does not unpickle fails its job only
            answer = ("error", "internal", f"the worker's answer was unreadable: {_describe(exc)}")
        if answer == READY:
            # A job handed over while the worker started up begins now, not at hand-off.
            worker.ready = True
            if worker.job is not None:
                tell_started(worker.job.started, worker.job.request.job_id)
            return
        job, worker.job = worker.job, None
        self._lock.notify_all()  # the worker is idle (``wait_running`` callers re-check)
        if job is None:
            return
        if not job.future.done():
            self._answers.put((job.future, answer))

    def _complete_loop(self) -> None:
        """Set each answered job's future (running its callbacks) until ``close``."""
        while (item := self._answers.get()) is not None:
            future, answer = item
            try:
                if answer[0] == "ok":
                    future.set_result(answer[1])
                else:
                    future.set_exception(ExecutionError(answer[2], answer[1]))
            except InvalidStateError:  # cancelled after its answer came: it stays cancelled
                pass
            except Exception:  # never end the thread that completes every job
                logger.exception("could not complete a job's future", extra={"action": "complete"})

    def _replace(self, worker: _Worker) -> None:
        if not worker.join(0.1):
            if not worker.hung_up and not worker.stalled:
                return  # still alive
            worker.kill()  # it lingers (its channel closed, or hung in its start-up): useless
            worker.join(JOIN_TIMEOUT_S)
        job, worker.job = worker.job, None
        job_id = job.request.job_id if job is not None else None
        if worker.stalled:
            what = f"did not start up within {self.startup_timeout:g} s and was stopped"
            message = f"the worker process given job {job_id} {what}"
        else:
            what = f"died (exit code {worker.process.returncode})"
            message = f"worker process {what} while running job {job_id}"
        if job is not None and not job.future.done():
            job.future.set_exception(ExecutionError(message, "worker_died"))
        # A worker that died under a job is news (so is one that hung in its start-up); one
        # killed by cancel() had its job taken.
        logger.log(
            logging.WARNING if job is not None or worker.stalled else logging.INFO,
            "worker pid %s %s; starting a new one",
            worker.pid,
            what,
            extra={"action": "replace_worker", "job_id": job_id},
        )
        worker.close()
        index = self._workers.index(worker)
        self._workers[index] = self._start_worker()
