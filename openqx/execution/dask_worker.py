"""What runs inside a Dask worker for ``DaskExecutor``: each job in a child process that the
task kills when the job's cancel event is set.

A running Dask task cannot be interrupted (``Future.cancel`` only forgets it), so the task does
not simulate in the worker's own thread. Every Dask worker process holds one
``ProcessExecutor`` (one child per worker thread, started on the first job and kept, with its
Aer caches, from job to job); the task hands the request to it and waits. A watcher thread
waits on the job's ``distributed.Event``; when the server sets it (a cancel or a time limit),
the watcher cancels the job in the ``ProcessExecutor``, which SIGKILLs the child and starts a
new one, and the task returns at once. A child that dies on its own (a segfault, the kernel's
OOM killer) ends the task with ``worker_died``, which the dispatcher retries elsewhere.

    openqx serve (DaskExecutor)        Dask worker process               child (ProcessExecutor)
    submit ─── task run_job ─────────▶ run_job ── request ────────────▶ run_request
    cancel ─── Event(name).set() ────▶ watcher ── SIGKILL ────────────▶ (gone; replaced)

The task never raises for a job's own failure: it returns ``("ok", result)`` or
``("error", code, message)``, because ``ExecutionError.code`` does not survive pickling.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Mapping
from concurrent.futures import CancelledError
from importlib import metadata
from typing import Any

import openqx
from openqx.execution.port import ExecutionError, ExecutionRequest, Started
from openqx.execution.process import ProcessExecutor

__all__ = [
    "CANCEL_POLL_S",
    "NOT_INSTALLED",
    "RESULT_PACKAGES",
    "VERSION_MISMATCH",
    "TaskOutcome",
    "cancel_event_name",
    "describe_mismatch",
    "describe_versions",
    "prestart",
    "run_job",
    "runtime_versions",
    "wait_running",
]

CANCEL_POLL_S = 0.5
"""How long one wait of the watcher on the cancel event lasts (seconds); the watcher of a job
that ended stops within this time."""

VERSION_MISMATCH = "worker_version_mismatch"
"""``ExecutionError.code`` of a job that reached a worker whose openqx, qiskit or Aer is not
the server's (``runtime_versions``)."""

NOT_INSTALLED = "not installed"
"""``runtime_versions``' version of a package that this process does not have."""

RESULT_PACKAGES = {"qiskit": ("qiskit",), "qiskit-aer": ("qiskit-aer", "qiskit-aer-gpu")}
"""The packages besides openqx whose versions decide a job's results (a seeded run's counts
can change from one Aer release to the next), each with the distributions that provide it
(``qiskit-aer-gpu`` is Aer built for GPUs, the same package)."""

TaskOutcome = tuple[Any, ...]
"""``("ok", result)``, ``("error", code, message)`` or ``("cancelled",)``."""

_lock = threading.Lock()
_executor: ProcessExecutor | None = None


def cancel_event_name(task_key: str) -> str:
    """Name of the ``distributed.Event`` that cancels the task ``task_key``."""
    return f"openqx-cancel-{task_key}"


def _local_executor(worker: Any = None) -> ProcessExecutor:
    """This worker process's ``ProcessExecutor``, one child per thread of ``worker`` (default:
    the worker running the current task)."""
    global _executor
    with _lock:
        if _executor is None:
            if worker is None:
                import distributed

                worker = distributed.get_worker()
            _executor = ProcessExecutor(max(1, worker.state.nthreads))
        return _executor


def prestart(dask_worker: Any) -> list[int]:
    """Start this worker's child processes now (before its first job); return their pids.
    For ``Client.run``, which passes the worker: ``client.run(dask_worker.prestart)``."""
    return _local_executor(dask_worker).worker_pids()


def runtime_versions() -> dict[str, str]:
    """The versions of openqx, qiskit and Aer in this process (``NOT_INSTALLED`` for a
    missing one), for ``Client.run`` and for each job's check: a worker runs only jobs of a server
    with the same three (``DaskExecutor`` also compares them when it starts)."""
    return {"openqx": openqx.__version__, **_result_package_versions()}


@functools.cache
def _result_package_versions() -> dict[str, str]:
    """``RESULT_PACKAGES``' versions, read once a process (1.3 ms, not for every job)."""
    return {name: _installed_version(found) for name, found in RESULT_PACKAGES.items()}


def describe_mismatch(worker: Mapping[str, str], server: Mapping[str, str]) -> str | None:
    """``runs A, the server B`` naming each package whose version differs between a worker's
    ``runtime_versions`` and the server's, or ``None`` when none does."""
    differing = [name for name in server if worker.get(name) != server[name]]
    if not differing:
        return None
    theirs = ", ".join(_package(name, worker.get(name)) for name in differing)
    mine = ", ".join(_package(name, server[name]) for name in differing)
    return f"runs {theirs}, the server {mine}"


def describe_versions(versions: Mapping[str, str]) -> str:
    """``openqx 1.0, qiskit 2.6.2, qiskit-aer 0.18.2``: what to install for ``versions``."""
    return ", ".join(f"{name} {version}" for name, version in versions.items())


def _package(name: str, version: str | None) -> str:
    return f"no {name}" if version in (None, NOT_INSTALLED) else f"{name} {version}"


def _installed_version(distributions: tuple[str, ...]) -> str:
    for distribution in distributions:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return NOT_INSTALLED


def _version_problem(server_versions: Mapping[str, str] | None) -> str | None:
    """Why this worker must not run a job of a server with ``server_versions``, or ``None``."""
    if server_versions is None:
        return None
    mismatch = describe_mismatch(runtime_versions(), server_versions)
    if mismatch is None:
        return None
    import distributed

    return (
        f"the Dask worker {distributed.get_worker().address} {mismatch}; install "
        f"{describe_versions(server_versions)} on every worker"
    )


def _watch(event: Any, job_id: str, executor: ProcessExecutor, done: threading.Event) -> None:
    """Until ``done``, wait on ``event``; when it is set, cancel ``job_id`` in ``executor``."""
    while not done.is_set():
        try:
            if event.wait(timeout=CANCEL_POLL_S):
                executor.cancel(job_id)
                event.clear()  # acted on: the scheduler forgets the event
                return
        except Exception:  # the scheduler is unreachable; the job goes on
            if done.wait(CANCEL_POLL_S):
                return


def run_job(
    request: ExecutionRequest,
    task_key: str,
    started_topic: str | None = None,
    server_versions: Mapping[str, str] | None = None,
) -> TaskOutcome:
    """Run ``request`` in this worker's child process, stoppable through the task's cancel
    event; return its outcome (never raises for the job's own failure). Runs in a Dask worker.

    Args:
        request: the job.
        task_key: the Dask key of this task (names its cancel event).
        started_topic: when given, the task key is logged as an event of this topic once the
            child process has begun the job (``DaskExecutor`` subscribes to it).
        server_versions: the submitting server's ``runtime_versions``: a worker with another
            version of any of them does not run the job, which ends with
            ``VERSION_MISMATCH`` (``None``: no check).
    """
    import distributed

    problem = _version_problem(server_versions)
    if problem is not None:
        return ("error", VERSION_MISMATCH, problem)

    began: Started | None = None
    if started_topic is not None:
        worker = distributed.get_worker()
        began = functools.partial(worker.log_event, started_topic, task_key)

    executor = _local_executor()
    make_event: Any = distributed.Event  # untyped in distributed
    event = make_event(cancel_event_name(task_key), client=distributed.get_client())
    if event.is_set():
        event.clear()
        return ("cancelled",)
    done = threading.Event()
    try:
        future = executor.submit(request, began)
        threading.Thread(
            target=_watch, args=(event, request.job_id, executor, done), daemon=True
        ).start()
        return ("ok", future.result())
    except CancelledError:
        return ("cancelled",)
    except ExecutionError as exc:
        return ("error", exc.code, exc.message)
    finally:
        done.set()


async def wait_running(job_id: str, timeout: float) -> int | None:
    """The pid of this worker's child running ``job_id`` once it runs, or ``None`` after
    ``timeout`` seconds; for ``Client.run`` (a coroutine: it must not block the worker's event
    loop, which the job's own task needs)."""
    deadline = time.monotonic() + timeout
    while True:
        executor = _executor
        pid = executor.running_pid(job_id) if executor is not None else None
        if pid is not None or time.monotonic() > deadline:
            return pid
        await asyncio.sleep(0.02)
