"""``DaskExecutor`` against a real ``distributed.LocalCluster`` with two worker processes:
result, failure codes, cancel of a queued and of a running job (its child process is killed),
a Dask worker killed mid-job (the same task runs again on another worker), a scattered
payload, close; a worker whose openqx is not the server's; and where a GPU job goes (only to a
``dask worker --resources GPU=1`` when the cluster has one)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit

from openqx.execution import dask_worker
from openqx.execution.aer_device import DEVICE_UNAVAILABLE, available_aer_devices
from openqx.execution.dask import (
    GPU_RESOURCE,
    SCATTER_BYTES,
    WORKER_CONFIG,
    WORKER_DIED,
    DaskExecutor,
)
from openqx.execution.port import ExecutionError, ExecutionRequest
from tests.e2e.circuits import forever
from tests.unit.execution.helpers import ghz, qpy_bytes

distributed = pytest.importorskip("distributed")

WAIT_S = 120.0
"""Upper bound of every wait (a failing test ends instead of hanging)."""


def _request(
    circuit: QuantumCircuit, job_id: str, shots: int = 100, **options: Any
) -> ExecutionRequest:
    return ExecutionRequest(
        job_id=job_id,
        kind="circuits",
        backend="simulator_statevector",
        snapshot_id=None,
        payload=qpy_bytes([circuit]),
        shots=shots,
        options={"seed_simulator": 7, **options},
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # Its dashboard on a free port: a cluster of another test process may hold 8787.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        worker_class=distributed.Nanny,
        env={"OMP_NUM_THREADS": "1"},
    ) as local:
        yield local


@pytest.fixture
def executor(cluster: Any) -> Iterator[DaskExecutor]:
    ex = DaskExecutor(cluster.scheduler_address)
    yield ex
    ex.close()


def _counts(result: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = result["results"][0]["data"]["counts"]
    return counts


def _running_on(executor: DaskExecutor, job_id: str) -> tuple[str, int]:
    """Wait until ``job_id``'s child process runs; return its Dask worker and the child pid."""
    worker, _, pid = _running_task(executor, job_id)
    return worker, pid


def _running_task(
    executor: DaskExecutor, job_id: str, exclude: str | None = None
) -> tuple[str, str, int]:
    """Wait until ``job_id``'s child process runs on a worker other than ``exclude``; return
    its Dask worker, task key and the child pid."""
    deadline = time.monotonic() + WAIT_S
    client = executor.client
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if worker == exclude:
                continue
            for key in keys:
                if str(key).startswith(f"openqx-{job_id}-"):
                    pid = client.run(dask_worker.wait_running, job_id, WAIT_S, workers=[worker])
                    return worker, str(key), int(pid[worker])
        time.sleep(0.05)  # the scheduler's state, polled: it has no event to wait on
    raise AssertionError(f"{job_id} never ran")


def _gone(pid: int) -> bool:
    """Wait until process ``pid`` has exited; True if it has within ``WAIT_S``."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        import select

        readable, _, _ = select.select([handle], [], [], WAIT_S)
    finally:
        os.close(handle)
    return bool(readable)


def test_a_job_runs_on_the_cluster_and_returns_its_result(executor: DaskExecutor) -> None:
    result = executor.submit(_request(ghz(3), "ghz")).result(WAIT_S)
    counts = _counts(result)
    assert sum(counts.values()) == 100
    assert set(counts) <= {"0x0", "0x7"}


def test_a_failing_job_keeps_its_error_code(executor: DaskExecutor) -> None:
    bad = ExecutionRequest(
        job_id="bad", kind="circuits", backend="nosuch", snapshot_id=None,
        payload=qpy_bytes([ghz(2)]), shots=10,
    )  # fmt: skip
    with pytest.raises(ExecutionError) as caught:
        executor.submit(bad).result(WAIT_S)
    assert caught.value.code != "internal"
    assert "nosuch" in caught.value.message


def test_a_large_payload_is_scattered_and_runs(executor: DaskExecutor) -> None:
    circuit = ghz(2)
    circuit.metadata = {"pad": "x" * SCATTER_BYTES}
    big = _request(circuit, "big", shots=10)
    assert len(big.payload) >= SCATTER_BYTES
    assert sum(_counts(executor.submit(big).result(WAIT_S)).values()) == 10


def test_cancel_of_a_running_job_kills_its_child_and_frees_the_worker(
    executor: DaskExecutor,
) -> None:
    future = executor.submit(_request(forever(), "long"))
    worker, child = _running_on(executor, "long")
    assert executor.cancel("long") is True
    assert future.cancelled()
    assert _gone(child), f"the child {child} of {worker} still runs"
    # Both workers are free again: two jobs run side by side.
    futures = [executor.submit(_request(ghz(2), f"after{i}")) for i in range(2)]
    for f in futures:
        assert sum(_counts(f.result(WAIT_S)).values()) == 100
    assert executor.cancel("long") is False


def test_a_job_begins_when_a_worker_runs_it_not_while_queued(executor: DaskExecutor) -> None:
    began = {name: threading.Event() for name in ("busy0", "busy1", "queued")}
    running = [
        executor.submit(_request(forever(), f"busy{i}"), began[f"busy{i}"].set) for i in range(2)
    ]
    queued = executor.submit(_request(ghz(2), "queued"), began["queued"].set)
    assert began["busy0"].wait(WAIT_S) and began["busy1"].wait(WAIT_S)
    assert not began["queued"].is_set()  # both workers are busy: it waits in the cluster
    assert executor.cancel("busy0") is True
    assert sum(_counts(queued.result(WAIT_S)).values()) == 100
    assert began["queued"].wait(WAIT_S)  # its start event may come after its result
    assert executor.cancel("busy1") is True
    assert all(f.cancelled() for f in running)


def test_cancel_of_a_queued_job(executor: DaskExecutor) -> None:
    running = [executor.submit(_request(forever(), f"busy{i}")) for i in range(2)]
    queued = executor.submit(_request(ghz(2), "queued"))
    _running_on(executor, "busy0")
    _running_on(executor, "busy1")
    assert executor.cancel("queued") is True
    with pytest.raises(CancelledError):
        queued.result(WAIT_S)
    for i, f in enumerate(running):
        assert executor.cancel(f"busy{i}") is True
        assert f.cancelled()


def test_a_dask_worker_killed_mid_job_reruns_the_job_elsewhere(
    cluster: Any, executor: DaskExecutor
) -> None:
    begun = threading.Semaphore(0)
    future = executor.submit(_request(forever(), "victim"), begun.release)
    worker, key, child = _running_task(executor, "victim")
    assert begun.acquire(timeout=WAIT_S)  # its child began it
    worker_pid = executor.client.run(os.getpid, workers=[worker])[worker]
    os.kill(worker_pid, signal.SIGKILL)
    assert _gone(child), "the killed worker's child outlived it"
    again, again_key, again_child = _running_task(executor, "victim", exclude=worker)
    assert (again_key, again != worker, again_child != child) == (key, True, True)
    starts = [t for t in cluster.scheduler.story(key) if t[0] == key and t[2] == "processing"]
    assert len(starts) == 2, starts  # the same task: on the killed worker, then on another
    assert not future.done()
    assert begun.acquire(timeout=WAIT_S)  # begun anew on the other worker
    assert executor.cancel("victim") is True
    executor.client.wait_for_workers(2, timeout=WAIT_S)  # the nanny restarts the killed one


def test_a_job_whose_child_dies_fails_with_worker_died(executor: DaskExecutor) -> None:
    future = executor.submit(_request(forever(), "crash"))
    _, child = _running_on(executor, "crash")
    os.kill(child, signal.SIGKILL)
    with pytest.raises(ExecutionError) as caught:
        future.result(WAIT_S)
    assert caught.value.code == WORKER_DIED


def test_close_stops_running_jobs_and_refuses_new_ones(cluster: Any) -> None:
    executor = DaskExecutor(cluster.scheduler_address)
    future = executor.submit(_request(forever(), "closing"))
    _, child = _running_on(executor, "closing")
    executor.close()
    assert future.cancelled()
    assert _gone(child)
    with pytest.raises(ExecutionError) as caught:
        executor.submit(_request(ghz(2), "late"))
    assert caught.value.code == "start_failed"


def test_the_cluster_s_workers_run_this_server_s_openqx(executor: DaskExecutor) -> None:
    assert executor.check_workers() == {}


OTHER = "0.0.1+other"
_OTHER_OPENQX = f"import openqx\nopenqx.__version__ = {OTHER!r}\n"
_OTHER_AER = (  # idempotent: a worker may run its preload more than once
    "from openqx.execution import dask_worker\n"
    "_real = getattr(dask_worker, '_real_runtime_versions', dask_worker.runtime_versions)\n"
    "dask_worker._real_runtime_versions = _real\n"
    f"dask_worker.runtime_versions = lambda: {{**_real(), 'qiskit-aer': {OTHER!r}}}\n"
)


@pytest.mark.parametrize(
    ("package", "preload_code"), [("openqx", _OTHER_OPENQX), ("qiskit-aer", _OTHER_AER)]
)
def test_a_worker_with_another_version_refuses_jobs_and_is_named_at_start(
    package: str, preload_code: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    preload = tmp_path / "other_version.py"
    preload.write_text(preload_code)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        preload=[str(preload)],
        env={"OMP_NUM_THREADS": "1"},
    ) as local:
        [address] = local.scheduler_info["workers"]
        with caplog.at_level(logging.WARNING, logger="openqx.execution.dask"):
            executor = DaskExecutor(local.scheduler_address)
        try:
            mine = dask_worker.runtime_versions()
            assert executor.check_workers() == {
                address: f"runs {package} {OTHER}, the server {package} {mine[package]}"
            }
            assert any(address in r.getMessage() for r in caplog.records)
            with pytest.raises(ExecutionError) as caught:
                executor.submit(_request(ghz(2), "mismatch")).result(WAIT_S)
        finally:
            executor.close()
    assert caught.value.code == dask_worker.VERSION_MISMATCH
    wanted = ", ".join(f"{name} {version}" for name, version in mine.items())
    assert caught.value.message == (
        f"the Dask worker {address} runs {package} {OTHER}, the server {package} "
        f"{mine[package]}; install {wanted} on every worker"
    )


def _profiler_enabled() -> bool:
    import dask

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def test_a_local_cluster_of_its_own_has_the_workers_openqx_asks_for() -> None:
    executor = DaskExecutor()  # no address: a local cluster in this process
    try:
        seen = executor.client.run(_profiler_enabled)
        assert seen and set(seen.values()) == {WORKER_CONFIG["distributed.worker.profile.enabled"]}
        done = executor.submit(_request(ghz(2), "own-cluster")).result(WAIT_S)
        assert sum(done["results"][0]["data"]["counts"].values()) > 0
    finally:
        executor.close()


no_gpu = pytest.mark.skipif(
    "GPU" in available_aer_devices(), reason="this machine's Aer runs on a GPU"
)


@no_gpu
def test_a_gpu_job_on_a_cluster_without_gpu_workers_is_refused_not_left_waiting(
    executor: DaskExecutor,
) -> None:
    with pytest.raises(ExecutionError) as caught:
        executor.submit(_request(ghz(2), "no-gpu-worker", device="GPU")).result(WAIT_S)
    assert caught.value.code == DEVICE_UNAVAILABLE


def _tasks_of(
    prefix: str, dask_scheduler: Any
) -> dict[str, tuple[str, dict[str, float], str | None]]:
    """On the scheduler: state, resource restrictions and worker of each task whose key starts
    with ``prefix``."""
    return {
        str(key): (
            task.state,
            dict(task.resource_restrictions or {}),
            task.processing_on.address if task.processing_on is not None else None,
        )
        for key, task in dask_scheduler.tasks.items()
        if str(key).startswith(prefix)
    }


@no_gpu
def test_a_gpu_job_waits_for_the_gpu_worker_while_another_worker_is_idle(
    tmp_path: Path,
) -> None:
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        env={"OMP_NUM_THREADS": "1"},
    ) as local:
        [plain] = local.scheduler_info["workers"]
        # A GPU worker as docs/scaling.md starts one (this one has no GPU to run on).
        gpu_worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                local.scheduler_address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--resources",
                f"{GPU_RESOURCE}=1",
                "--no-dashboard",
                "--local-directory",
                str(tmp_path),
            ],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        executor = DaskExecutor(local.scheduler_address)
        try:
            client = executor.client
            client.wait_for_workers(2, timeout=WAIT_S)
            [gpu] = [address for address in client.scheduler_info()["workers"] if address != plain]
            # The GPU worker is busy with another GPU task; the plain worker is idle.
            free = distributed.Event("gpu-free", client=client)
            # (Its task is the event's own ``wait``: a function of this test module would not
            # unpickle in that worker, which does not have the tests on its path.)
            holder = client.submit(free.wait, WAIT_S, resources={GPU_RESOURCE: 1}, pure=False)
            future = executor.submit(_request(ghz(2), "gpu-job", device="GPU"))
            deadline = time.monotonic() + WAIT_S
            seen: dict[str, tuple[str, dict[str, float], str | None]] = {}
            while not seen and time.monotonic() < deadline:
                seen = client.run_on_scheduler(_tasks_of, "openqx-gpu-job-")
                time.sleep(0.05)  # the scheduler's state, polled: it has no event to wait on
            [(state, restrictions, worker)] = seen.values()
            # It waits for the GPU worker: not on the idle plain one.
            assert restrictions == {GPU_RESOURCE: 1}
            assert worker in (None, gpu) and state != "memory", seen
            free.set()
            holder.result(WAIT_S)
            with pytest.raises(ExecutionError) as caught:
                future.result(WAIT_S)
            assert caught.value.code == DEVICE_UNAVAILABLE  # it reached the worker, no GPU
        finally:
            executor.close()
            gpu_worker.terminate()
            gpu_worker.wait(WAIT_S)
