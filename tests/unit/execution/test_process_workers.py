"""``ProcessExecutor`` workers are fresh interpreters: they never run the parent's main
script again (a script without ``if __name__ == "__main__":`` works), and they exit when
their parent is gone, even in the middle of a job."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WAIT_S = 120.0
"""Upper bound of every wait (a failing test ends instead of hanging)."""

_REQUEST = """
import io
from qiskit import QuantumCircuit, qpy
from openqx.execution.port import ExecutionRequest

def request(circuit, job_id, shots=10):
    buffer = io.BytesIO()
    qpy.dump([circuit], buffer)
    return ExecutionRequest(
        job_id=job_id, kind="circuits", backend="simulator_statevector", snapshot_id=None,
        payload=buffer.getvalue(), shots=shots,
    )
"""


def _run_script(folder: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = folder / "user_script.py"
    script.write_text(_REQUEST + textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )


def test_a_script_without_a_main_guard_runs_once_and_gets_its_result(tmp_path: Path) -> None:
    done = _run_script(
        tmp_path,
        """
        print("top level of the script", flush=True)
        from openqx.execution.process import ProcessExecutor

        circuit = QuantumCircuit(2)
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.measure_all()
        executor = ProcessExecutor(2)
        results = [executor.submit(request(circuit, f"job{i}", shots=7)) for i in range(2)]
        print("shots", [r.result(60)["results"][0]["shots"] for r in results], flush=True)
        executor.close()
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("top level of the script") == 1  # no worker ran it again
    assert "shots [7, 7]" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs os.pidfd_open (Linux)")
def test_a_worker_exits_when_its_parent_is_killed_mid_job(tmp_path: Path) -> None:
    done = _run_script(
        tmp_path,
        """
        import os, signal
        from openqx.execution.process import ProcessExecutor

        circuit = QuantumCircuit(24)
        for _ in range(400):
            for q in range(24):
                circuit.h(q)
            for q in range(23):
                circuit.cx(q, q + 1)
        circuit.measure_all()
        executor = ProcessExecutor(1)
        executor.submit(request(circuit, "long"))
        print("worker", executor.wait_running("long", 60), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: the parent just dies
        """,
    )
    assert done.returncode == -9, done.stderr
    pid = int(done.stdout.split("worker", 1)[1].split()[0])
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone and reaped
    try:
        readable, _, _ = select.select([handle], [], [], WAIT_S)  # readable once it exits
    finally:
        os.close(handle)
    assert readable, f"worker {pid} still runs after its parent was killed"


def test_a_worker_holding_the_gil_exits_when_its_parent_is_gone() -> None:
    # Aer holds the GIL for a whole run, so no thread of the worker can notice the hang-up
    # then; this worker holds it in pause() (a C call through ctypes.PyDLL keeps the GIL).
    code = textwrap.dedent(
        """
        import ctypes, sys
        from openqx.execution.process import exit_with_parent

        exit_with_parent(int(sys.argv[1]))
        print("holding the GIL", flush=True)
        ctypes.PyDLL(None).pause()
        """
    )
    lifeline_read, lifeline_write = os.pipe()
    worker = subprocess.Popen(
        [sys.executable, "-c", code, str(lifeline_read)],
        pass_fds=(lifeline_read,),
        stdout=subprocess.PIPE,
        text=True,
    )
    os.close(lifeline_read)
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline() == "holding the GIL\n"
        os.close(lifeline_write)  # what the kernel does when the parent dies
        assert worker.wait(WAIT_S) == -signal.SIGKILL
    finally:
        worker.kill()
        worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()


def _environment_of(pid: int) -> dict[str, str]:
    """The environment process ``pid`` started with (Linux ``/proc``)."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if b"=" in entry)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_workers_start_with_a_short_openmp_spin_unless_the_server_sets_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from openqx.execution.process import WORKER_ENVIRONMENT, ProcessExecutor

    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.setenv("OPENQX_TEST_MARK", "kept")
    with ProcessExecutor(1) as executor:
        started_with = _environment_of(executor.worker_pids()[0])
    assert started_with["GOMP_SPINCOUNT"] == WORKER_ENVIRONMENT["GOMP_SPINCOUNT"] == "3000"
    assert started_with["OPENQX_TEST_MARK"] == "kept"  # the server's environment otherwise

    monkeypatch.setenv("GOMP_SPINCOUNT", "12345")  # an operator's own choice wins
    with ProcessExecutor(1) as executor:
        assert _environment_of(executor.worker_pids()[0])["GOMP_SPINCOUNT"] == "12345"
