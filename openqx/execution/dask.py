"""``DaskExecutor``: jobs as tasks on a Dask distributed cluster (``openqx[dask]`` extra)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from openqx.execution import runner
from openqx.execution.port import ExecutionError, ExecutionRequest

__all__ = ["DaskExecutor"]


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise RuntimeError(
            "the 'dask' executor needs the 'distributed' package: pip install 'openqx[dask]'"
        ) from exc
    return distributed


class DaskExecutor:
    """Submits each job as a Dask task keyed by its job id.

    Worker processes are Dask's: their caches persist across jobs. ``cancel`` asks the
    scheduler to cancel the task; Dask does not interrupt a task already running on a worker.

    Args:
        address: scheduler address; ``None`` starts a local cluster in this process.

    Raises:
        RuntimeError: ``distributed`` is not installed (install ``openqx[dask]``).
    """

    def __init__(self, address: str | None = None) -> None:
        distributed = _import_distributed()
        self._client = distributed.Client(address) if address else distributed.Client()
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def submit(self, request: ExecutionRequest) -> Future[dict[str, Any]]:
        """Submit ``request`` to the cluster; see ``JobExecutor.submit``."""
        task = self._client.submit(runner.run_request, request, key=request.job_id, pure=False)
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            self._tasks[request.job_id] = task

        def transfer(done: Any) -> None:
            with self._lock:
                self._tasks.pop(request.job_id, None)
            if future.done():
                return
            if done.cancelled():
                future.cancel()
                return
            try:
                future.set_result(done.result())
            except ExecutionError as exc:
                future.set_exception(exc)
            except Exception as exc:
                future.set_exception(ExecutionError(f"dask task failed: {exc}", "internal"))

        task.add_done_callback(transfer)
        future.add_done_callback(lambda f: self.cancel(request.job_id) if f.cancelled() else None)
        return future

    def cancel(self, job_id: str) -> bool:
        """Ask the scheduler to cancel the job's task; True if a task was found."""
        with self._lock:
            task = self._tasks.pop(job_id, None)
        if task is None:
            return False
        task.cancel()
        return True

    def close(self) -> None:
        """Cancel outstanding tasks and close the client."""
        with self._lock:
            tasks = list(self._tasks.values())
            self._tasks.clear()
        for task in tasks:
            task.cancel()
        self._client.close()
