from __future__ import annotations

import os
import time
from concurrent.futures import CancelledError

import pytest
from qiskit import QuantumCircuit

from openqx.execution.executors import (
    InlineExecutor,
    ProcessExecutor,
    make_executor,
)
from openqx.execution.port import ExecutionError

from .helpers import ghz, request


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); treat it as alive (it was not reaped)
    return True


def _long_circuit() -> QuantumCircuit:
    qc = QuantumCircuit(24)
    for _ in range(200):
        for q in range(24):
            qc.h(q)
        for q in range(23):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def test_make_executor_kinds() -> None:
    with pytest.raises(ValueError, match="inline, process, dask"):
        make_executor("threads")
    executor = make_executor("inline")
    assert isinstance(executor, InlineExecutor)
    executor.close()


def test_inline_executor_runs_a_job() -> None:
    with InlineExecutor() as executor:
        data = executor.submit(request("simulator_statevector", [ghz(2)], shots=10)).result(60)
    assert data["results"][0]["shots"] == 10


def test_inline_executor_reports_errors() -> None:
    with InlineExecutor() as executor:
        future = executor.submit(request("nope", [ghz(2)]))
        with pytest.raises(ExecutionError):
            future.result(60)


def test_process_executor_run_cancel_and_close() -> None:
    executor = ProcessExecutor(1)
    try:
        first = executor.submit(request("simulator_statevector", [ghz(2)], shots=10, job_id="a"))
        assert first.result(120)["results"][0]["shots"] == 10
        long = executor.submit(request("simulator_statevector", [_long_circuit()], job_id="b"))
        deadline = time.monotonic() + 30
        pid = None
        while pid is None and time.monotonic() < deadline:
            pid = executor.running_pid("b")
            time.sleep(0.05)
        assert pid is not None
        time.sleep(0.5)  # let it start simulating
        assert executor.cancel("b")
        with pytest.raises(CancelledError):
            long.result(1)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)
        after = executor.submit(request("simulator_statevector", [ghz(2)], shots=5, job_id="c"))
        assert after.result(120)["results"][0]["shots"] == 5
        assert not executor.cancel("c")  # already done
        pids = executor.worker_pids()
        assert pids and pid not in pids
    finally:
        executor.close()
    for worker_pid in pids:
        assert not _alive(worker_pid)


def test_process_executor_reports_job_errors_and_dead_workers() -> None:
    with ProcessExecutor(1) as executor:
        with pytest.raises(ExecutionError, match="not found"):
            executor.submit(request("nope", [ghz(2)])).result(120)
        long = executor.submit(request("simulator_statevector", [_long_circuit()], job_id="d"))
        deadline = time.monotonic() + 30
        pid = None
        while pid is None and time.monotonic() < deadline:
            pid = executor.running_pid("d")
            time.sleep(0.05)
        assert pid is not None
        os.kill(pid, 9)
        with pytest.raises(ExecutionError, match="worker process died"):
            long.result(30)
        ok = executor.submit(request("simulator_statevector", [ghz(2)], shots=3, job_id="e"))
        assert ok.result(120)["results"][0]["shots"] == 3


def test_dask_executor_needs_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match=r"openqx\[dask\]"):
            make_executor("dask")
    else:
        pytest.skip("distributed is installed")
