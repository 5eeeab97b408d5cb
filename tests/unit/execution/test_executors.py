from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import CancelledError
from pathlib import Path

import pytest
from qiskit import QuantumCircuit

from openqx.execution.executors import (
    InlineExecutor,
    ProcessExecutor,
    make_executor,
)
from openqx.execution.port import ExecutionError

from .helpers import ghz, request

WAIT_S = 60.0
"""Upper bound of every wait (a failing test ends instead of hanging)."""


def _alive(pid: int) -> bool:
    """Whether ``pid`` exists; a zombie (exited, not reaped by its parent) counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
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
    with pytest.raises(ValueError, match="local, inline, dask"):
        make_executor("threads")
    with pytest.raises(ValueError, match="unknown executor kind 'process'"):
        make_executor("process")  # one name, ``local``, for the worker processes
    executor = make_executor("inline")
    assert isinstance(executor, InlineExecutor)
    executor.close()
    local = make_executor("local", workers=1)
    try:
        assert isinstance(local, ProcessExecutor)
        assert len(local.worker_pids()) == 1
    finally:
        local.close()


def test_inline_executor_runs_a_job() -> None:
    with InlineExecutor() as executor:
        data = executor.submit(request("simulator_statevector", [ghz(2)], shots=10)).result(WAIT_S)
    assert data["results"][0]["shots"] == 10


def test_inline_executor_reports_errors() -> None:
    with InlineExecutor() as executor:
        future = executor.submit(request("nope", [ghz(2)]))
        with pytest.raises(ExecutionError):
            future.result(WAIT_S)


def test_process_executor_run_cancel_and_close() -> None:
    executor = ProcessExecutor(1)
    try:
        first = executor.submit(request("simulator_statevector", [ghz(2)], shots=10, job_id="a"))
        assert first.result(WAIT_S)["results"][0]["shots"] == 10
        long = executor.submit(request("simulator_statevector", [_long_circuit()], job_id="b"))
        pid = executor.wait_running("b", WAIT_S)
        assert pid is not None and pid == executor.running_pid("b")
        assert executor.cancel("b")
        assert long.cancelled()
        with pytest.raises(CancelledError):
            long.result(0)
        assert not _alive(pid)  # killed and reaped before cancel() returned
        assert executor.running_pid("b") is None
        after = executor.submit(request("simulator_statevector", [ghz(2)], shots=5, job_id="c"))
        assert after.result(WAIT_S)["results"][0]["shots"] == 5
        assert not executor.cancel("c")  # already done
        pids = executor.worker_pids()
        assert pids and pid not in pids
    finally:
        executor.close()
    for worker_pid in pids:
        assert not _alive(worker_pid)


_HELD_START_UP = """
import os, pathlib, threading
_gate = os.environ.get("OPENQX_TEST_START_UP_GATE")
while _gate and not pathlib.Path(_gate).exists():
    threading.Event().wait(0.01)
"""
"""A ``sitecustomize`` that holds a starting interpreter until the gate file exists."""


@pytest.fixture
def start_up_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The gate file (not there yet) that workers started from now on wait for in their
    start-up (``_HELD_START_UP``)."""
    (tmp_path / "sitecustomize.py").write_text(_HELD_START_UP)
    gate = tmp_path / "gate"
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.setenv("OPENQX_TEST_START_UP_GATE", str(gate))
    return gate


def test_process_executor_begins_a_job_once_its_worker_has_started_up(
    start_up_gate: Path,
) -> None:
    gate = start_up_gate
    first, second = threading.Event(), threading.Event()
    with ProcessExecutor(1) as executor:  # its worker is held in its start-up
        job = request("simulator_statevector", [ghz(2)], shots=10, job_id="a")
        future = executor.submit(job, first.set)
        assert executor.wait_running("a", WAIT_S) is not None  # handed to the worker...
        assert not first.is_set()  # ...which has not started up: the job has not begun
        gate.touch()
        assert first.wait(WAIT_S)
        assert future.result(WAIT_S)["results"][0]["shots"] == 10
        again = request("simulator_statevector", [ghz(2)], shots=5, job_id="b")
        assert executor.submit(again, second.set).result(WAIT_S)["results"][0]["shots"] == 5
        assert second.is_set()  # a ready worker begins a job when it is handed over


def test_inline_executor_begins_a_job_when_a_thread_takes_it() -> None:
    began = threading.Event()
    with InlineExecutor() as executor:
        job = request("simulator_statevector", [ghz(2)], shots=10)
        assert executor.submit(job, began.set).result(WAIT_S)["results"][0]["shots"] == 10
    assert began.is_set()


def test_process_executor_reports_job_errors_and_dead_workers() -> None:
    with ProcessExecutor(1) as executor:
        with pytest.raises(ExecutionError, match="not found"):
            executor.submit(request("nope", [ghz(2)])).result(WAIT_S)
        long = executor.submit(request("simulator_statevector", [_long_circuit()], job_id="d"))
        pid = executor.wait_running("d", WAIT_S)
        assert pid is not None
        os.kill(pid, 9)
        with pytest.raises(ExecutionError, match=r"worker process died \(exit code -9\)"):
            long.result(WAIT_S)
        ok = executor.submit(request("simulator_statevector", [ghz(2)], shots=3, job_id="e"))
        assert ok.result(WAIT_S)["results"][0]["shots"] == 3


def test_dask_executor_needs_distributed(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on an install without the extra: a None entry makes ``import distributed`` fail.
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(RuntimeError, match=r"openqx\[dask\]"):
        make_executor("dask")


def test_a_worker_that_does_not_start_up_in_time_is_replaced_and_fails_its_job(
    start_up_gate: Path,
) -> None:
    gate = start_up_gate
    began = threading.Event()
    with ProcessExecutor(1, startup_timeout=0.5) as executor:  # its workers are held
        hung = executor.worker_pids()[0]
        job = request("simulator_statevector", [ghz(2)], shots=10, job_id="a")
        future = executor.submit(job, began.set)
        with pytest.raises(ExecutionError, match=r"job a did not start up within 0\.5 s") as info:
            future.result(WAIT_S)
        assert info.value.code == "worker_died"  # the scheduler runs the job again
        assert not began.is_set()
        assert hung not in executor.worker_pids()
        assert not _alive(hung)
        executor.startup_timeout = WAIT_S  # the next worker's start-up, however slow, is fine
        gate.touch()
        again = request("simulator_statevector", [ghz(2)], shots=5, job_id="b")
        assert executor.submit(again).result(WAIT_S)["results"][0]["shots"] == 5


def test_process_executor_hands_a_job_to_an_idle_worker_before_submit_returns() -> None:
    with ProcessExecutor(1) as executor:
        warm = request("simulator_statevector", [ghz(2)], shots=10, job_id="warm")
        executor.submit(warm).result(WAIT_S)  # the worker has started up and is idle
        began = threading.Event()
        job = request("simulator_statevector", [ghz(2)], shots=7, job_id="next")
        future = executor.submit(job, began.set)
        assert began.is_set()  # handed over in submit, not by the dispatch thread later
        assert future.result(WAIT_S)["results"][0]["shots"] == 7
        queued_began = [threading.Event(), threading.Event()]
        busy = executor.submit(
            request("simulator_statevector", [_long_circuit()], shots=1, job_id="busy"),
            queued_began[0].set,
        )
        queued = executor.submit(
            request("simulator_statevector", [ghz(2)], shots=3, job_id="queued"),
            queued_began[1].set,
        )
        assert queued_began[0].is_set() and not queued_began[1].is_set()  # no idle worker
        assert executor.cancel("busy") and busy.cancelled()
        assert queued.result(WAIT_S)["results"][0]["shots"] == 3  # the replacement runs it
        assert queued_began[1].is_set()
