"""``InlineExecutor``: runs jobs in background threads of this process (tests, embedded demo)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from openqx.devices.catalog import DeviceCatalog
from openqx.execution import runner
from openqx.execution.port import ExecutionError, ExecutionRequest, Started, tell_started

__all__ = ["InlineExecutor"]


def _run(
    request: ExecutionRequest, catalog: DeviceCatalog | None, started: Started | None
) -> dict[str, Any]:
    tell_started(started, request.job_id)
    try:
        return runner.run_request(request, catalog)
    except ExecutionError:
        raise
    except Exception as exc:
        raise ExecutionError(f"internal error: {type(exc).__name__}: {exc}", "internal") from exc


class InlineExecutor:
    """Runs each request in a thread of this process.

    ``cancel`` only prevents work that has not started: a running simulation cannot be
    interrupted inside a thread and runs to its end (its result is then discarded by the
    caller). Use ``ProcessExecutor`` where a cancel must really stop the simulation.

    Args:
        workers: jobs run at the same time.
        catalog: device catalog (default: the process-wide one).
    """

    runs_batches = True
    """Its workers run micro-batch requests (``execution.batch``)."""

    def __init__(self, workers: int = 1, catalog: DeviceCatalog | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openqx-inline")
        self._catalog = catalog
        self._futures: dict[str, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        """Start ``request`` in a thread; see ``JobExecutor.submit`` (``started`` is called
        when a thread takes it)."""
        future = self._pool.submit(_run, request, self._catalog, started)
        with self._lock:
            self._futures[request.job_id] = future
        future.add_done_callback(lambda _f: self._forget(request.job_id, _f))
        return future

    def _forget(self, job_id: str, future: Future[dict[str, Any]]) -> None:
        with self._lock:
            if self._futures.get(job_id) is future:
                del self._futures[job_id]

    def cancel(self, job_id: str) -> bool:
        """Cancel a job that has not started; False if it is running or unknown."""
        with self._lock:
            future = self._futures.get(job_id)
        return future.cancel() if future is not None else False

    def close(self) -> None:
        """Cancel jobs not started and wait for running ones to finish."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
