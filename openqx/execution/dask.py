"""``DaskExecutor``: jobs as tasks on a Dask distributed cluster (``openqx[dask]`` extra).

Each job is one task, ``dask_worker.run_job``, under a fresh key per attempt
(``openqx-<job id>-<token>``: a job the dispatcher retries is a new task). Inside the worker
the job runs in a child process, so a cancel really stops a running simulation: the task
kills the child when the job's ``distributed.Event`` is set (see ``dask_worker``).

- **cancel** of a queued task: ``Future.cancel`` (the scheduler drops it). Of a running one:
  the event is set as well and the worker kills the job's child within ``CANCEL_POLL_S``.
  Either way the job's future is cancelled at once. The dispatcher's time limit goes the same
  way.
- **a lost worker**: Dask reruns a task whose worker died on another worker by itself (up to
  its ``distributed.scheduler.allowed-failures``); when it gives up (``KilledWorker``), or a
  job's child died under it, the job fails with ``worker_died`` and the dispatcher requeues it
  up to ``max_attempts``.
- **payload**: a request whose payload is at least ``SCATTER_BYTES`` is scattered to the
  cluster first (not embedded in the task graph the scheduler holds); smaller ones travel in
  the task.
- **start**: a task tells the server when its worker's child process has begun the job (an
  event of a topic this executor subscribes to), so the job's ``started`` callback (its time
  limit) does not count the wait in the cluster's queue or a child's start-up. A task that
  Dask reruns after its worker died tells it again.
- **GPU jobs** (run option ``device="GPU"``) ask for the worker resource ``GPU`` when a worker
  advertises it.
- **versions**: a worker runs only jobs of a server with its own openqx, qiskit and Aer
  versions (``dask_worker.runtime_versions``: a seeded run's counts can change between Aer
  releases); a job that reaches another one ends ERROR with ``worker_version_mismatch``,
  naming the worker and the versions that differ. The executor logs, when it starts, each
  worker of the cluster whose versions differ or that cannot run openqx.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from concurrent.futures import Future
from typing import Any

from openqx.execution import dask_worker
from openqx.execution.port import ExecutionError, ExecutionRequest, Started, tell_started

__all__ = ["GPU_RESOURCE", "SCATTER_BYTES", "WORKER_CONFIG", "WORKER_DIED", "DaskExecutor"]

logger = logging.getLogger(__name__)

SCATTER_BYTES = 1 << 20
"""Payload size from which a request is scattered to the workers instead of sent in the task."""

GPU_RESOURCE = "GPU"
"""Dask worker resource of GPU workers (``dask worker --resources GPU=1``): jobs with the run
option ``device="GPU"`` go only to them when the cluster has one."""

WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
"""The Dask configuration openqx's workers want (``docs/scaling.md`` gives it as environment
variables for ``dask worker``). A worker's statistical profiler samples its threads every
10 ms, but an openqx task's thread only waits for the job's child process: turned off, each
worker used half the CPU (0.24 → 0.13 s over 8 jobs of 16 qubits, two workers on two cores),
which the simulations then have (``benchmarks/README.md``, session 18)."""

WORKER_DIED = "worker_died"
"""``ExecutionError.code`` of a job whose worker died (the dispatcher's ``WORKER_DIED``)."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise RuntimeError(
            "the 'dask' executor needs the 'distributed' package: pip install 'openqx[dask]'"
        ) from exc
    return distributed


class _Task:
    """One attempt of a job on the cluster: its key, Dask future and the job's future."""

    __slots__ = ("future", "key", "result")

    def __init__(self, key: str, future: Any, result: Future[dict[str, Any]]) -> None:
        self.key = key
        self.future = future
        self.result = result


class DaskExecutor:
    """Submits each job as a task of a Dask cluster; see the module docstring.

    Workers need ``openqx[server]`` (and ``openqx[dask]``) installed, with the server's
    versions of openqx, qiskit and qiskit-aer.

    Args:
        address: scheduler address (``tcp://host:8786``); ``None`` starts a local cluster in
            this process, its workers configured with ``WORKER_CONFIG``.
        client: an existing ``distributed.Client`` to use instead (not closed by ``close``).

    Raises:
        RuntimeError: ``distributed`` is not installed (install ``openqx[dask]``).
    """

    runs_batches = True
    """Its workers run micro-batch requests (``execution.batch``)."""

    def __init__(self, address: str | None = None, *, client: Any = None) -> None:
        self._distributed = _import_distributed()
        self._own_client = client is None
        if client is None:
            if address:
                client = self._distributed.Client(address)
            else:
                import dask  # installed with distributed

                with dask.config.set(WORKER_CONFIG):  # the local workers take it with them
                    client = self._distributed.Client()
        self._client = client
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._starts: dict[str, Started] = {}
        """The ``started`` callbacks of tasks not ended, by task key (a task that Dask reruns
        begins again)."""
        self._versions = dask_worker.runtime_versions()
        """This server's openqx, qiskit and Aer versions, sent with each task."""
        self._started_topic = f"openqx-started-{secrets.token_hex(6)}"
        client.subscribe_topic(self._started_topic, self._on_started)
        self.check_workers()

    def check_workers(self) -> dict[str, str]:
        """What is wrong with each worker of the cluster now, by address: an openqx, qiskit or
        Aer version other than this server's, or no openqx at all; each is logged as a
        warning. Workers that join later are checked by each job they run
        (``dask_worker.run_job``)."""
        mine = self._versions
        try:
            found = self._client.run(dask_worker.runtime_versions, on_error="return")
        except Exception as exc:  # the cluster is unreachable now: jobs will say so
            logger.warning("could not ask the Dask workers for their versions: %s", exc)
            return {}
        problems: dict[str, str] = {}
        for address, versions in sorted(found.items()):
            if isinstance(versions, BaseException):
                problems[address] = f"cannot run openqx ({type(versions).__name__}: {versions})"
            elif (mismatch := dask_worker.describe_mismatch(versions, mine)) is not None:
                problems[address] = mismatch
        wanted = dask_worker.describe_versions(mine)
        for address, problem in problems.items():
            logger.warning(
                "Dask worker %s %s; its jobs will fail: install %s there",
                address,
                problem,
                wanted,
            )
        return problems

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` in use."""
        return self._client

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        """Submit ``request`` to the cluster; see ``JobExecutor.submit`` (``started`` is
        called when the task's worker reports that its child process has begun the job).

        Raises:
            ExecutionError: the executor is closed, or the cluster refused the task
                (``start_failed``).
        """
        if self._closed:
            raise ExecutionError("the executor is closed", "start_failed")
        key = f"openqx-{request.job_id}-{secrets.token_hex(4)}"
        if started is not None:
            with self._lock:
                self._starts[key] = started
        try:
            argument: Any = request
            if len(request.payload) >= SCATTER_BYTES:
                argument = self._client.scatter(request, hash=False)
            task = self._client.submit(
                dask_worker.run_job,
                argument,
                key,
                self._started_topic if started is not None else None,
                self._versions,
                key=key,
                pure=False,
                retries=0,
                resources=self._resources(request),
            )
        except Exception as exc:
            with self._lock:
                self._starts.pop(key, None)
            message = f"the Dask cluster refused the job: {exc}"
            raise ExecutionError(message, "start_failed") from exc
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            self._tasks[request.job_id] = _Task(key, task, future)

        def transfer(done: Any) -> None:
            with self._lock:
                self._starts.pop(key, None)
                current = self._tasks.get(request.job_id)
                if current is not None and current.key == key:
                    del self._tasks[request.job_id]
            if future.done():
                return
            if done.cancelled():
                future.cancel()
                return
            try:
                _settle(future, done.result())
            except self._distributed.KilledWorker as exc:
                future.set_exception(ExecutionError(f"the Dask worker died: {exc}", WORKER_DIED))
            except Exception as exc:
                future.set_exception(
                    ExecutionError(f"dask task failed: {type(exc).__name__}: {exc}", "internal")
                )

        task.add_done_callback(transfer)
        future.add_done_callback(
            lambda f: self._cancel_attempt(request.job_id, key) if f.cancelled() else None
        )
        return future

    def _on_started(self, event: tuple[float, Any]) -> None:
        """A task's worker began its job (``event``: the scheduler's time and the task key),
        once or again after Dask reran the task; runs on the client's event loop."""
        key = str(event[1])
        with self._lock:
            started = self._starts.get(key)  # None: ended or cancelled meanwhile
        tell_started(started, key)

    def _resources(self, request: ExecutionRequest) -> dict[str, float] | None:
        """``{"GPU": 1}`` for a job asking for Aer's GPU while a worker of the cluster
        advertises a ``GPU`` resource (``dask worker --resources GPU=1``); otherwise none, and a
        worker without a GPU refuses the job (``device_unavailable``) instead of it waiting for
        a GPU worker that does not exist."""
        if request.options.get("device") != "GPU":
            return None
        workers = self._client.scheduler_info(n_workers=-1).get("workers", {})
        if any(w.get("resources", {}).get(GPU_RESOURCE) for w in workers.values()):
            return {GPU_RESOURCE: 1}
        return None

    def cancel(self, job_id: str) -> bool:
        """Stop the job's task, queued or running; True if a task was found.

        A running task's child process is killed by its worker (within
        ``dask_worker.CANCEL_POLL_S``); the job's future is cancelled now.
        """
        with self._lock:
            task = self._tasks.pop(job_id, None)
        if task is None:
            return False
        # The job's future first: the task, stopped, may report an error before the cluster
        # drops it, and the job ends CANCELLED, not with that error.
        task.result.cancel()
        try:
            self._distributed.Event(
                dask_worker.cancel_event_name(task.key), client=self._client
            ).set()
        except Exception:
            logger.warning("could not signal the cancel of job %s to its worker", job_id)
        task.future.cancel()
        return True

    def _cancel_attempt(self, job_id: str, key: str) -> None:
        """Cancel ``job_id`` if its current task is still attempt ``key``."""
        with self._lock:
            current = self._tasks.get(job_id)
        if current is not None and current.key == key:
            self.cancel(job_id)

    def close(self) -> None:
        """Cancel outstanding tasks (running ones are killed) and close the client (and the
        local cluster it started, if any)."""
        with self._lock:
            self._closed = True
            job_ids = list(self._tasks)
        for job_id in job_ids:
            self.cancel(job_id)
        if self._own_client:
            self._client.close()
        else:
            with contextlib.suppress(Exception):  # a closed client: nothing to undo
                self._client.unsubscribe_topic(self._started_topic)


def _settle(future: Future[dict[str, Any]], outcome: dask_worker.TaskOutcome) -> None:
    """Resolve ``future`` from a task's outcome tuple."""
    if outcome[0] == "ok":
        future.set_result(outcome[1])
    elif outcome[0] == "cancelled":
        future.cancel()
    else:
        future.set_exception(ExecutionError(outcome[2], outcome[1]))
