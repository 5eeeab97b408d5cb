"""Load test: concurrent clients submitting small jobs and waiting for their results.

Starts a real ``openqx serve`` (a subprocess: SQLite in a temporary folder, or ``--db``), then
runs ``--clients`` threads for ``--seconds``, each with its own provider (its own HTTP
connection pool) doing, in a loop: ``backend.run`` (a transpiled GHZ-2, 100 shots, on
``simulator_stabilizer``), then ``job.result()``. Reports errors (an exception, or a job not
DONE with the right shot count), throughput (jobs DONE per second), and submit and
submit→result latency (p50/p95).

    python benchmarks/load.py [--clients 20] [--seconds 120] [--db URL] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import httpx
from qiskit import QuantumCircuit, transpile

TOKEN = "load-test-token"
SHOTS = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ghz2() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


@dataclass
class _Tally:
    submit_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(url: str, until: float, tally: _Tally) -> None:
    from openqx import OpenQX

    provider = OpenQX.enable_account(TOKEN, url=url)
    backend = provider.get_backend("simulator_stabilizer")
    circuit = transpile(_ghz2(), backend)
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            job = backend.run(circuit, shots=SHOTS)
            submitted = time.perf_counter()
            result = job.result(timeout=300)
            done = time.perf_counter()
            if sum(result.get_counts().values()) != SHOTS:
                raise AssertionError(f"job {job.job_id()}: wrong shot count")
        except Exception as exc:
            with tally.lock:
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        with tally.lock:
            tally.submit_s.append(submitted - started)
            tally.total_s.append(done - started)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _describe(name: str, samples: list[float]) -> str:
    if not samples:
        return f"{name}: no samples"
    p50 = 1000 * statistics.median(samples)
    p95 = 1000 * _percentile(samples, 0.95)
    return f"{name}: p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--workers", type=int, help="worker processes (default: cores - 1)")
    args = parser.parse_args()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, OPENQX_ADMIN_TOKEN=TOKEN, OMP_NUM_THREADS="1")
    if args.workers:
        env["OPENQX_WORKERS"] = str(args.workers)
    with tempfile.TemporaryDirectory(prefix="openqx-load-") as data_dir:
        command = [sys.executable, "-m", "openqx.cli.main", "serve", "--port", str(port)]
        command += ["--data-dir", data_dir, "--log-level", "warning"]
        if args.db:
            command += ["--db", args.db]
        server = subprocess.Popen(command, env=env)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{url}/v1/version", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("openqx serve did not start")
                time.sleep(0.1)
            tally = _Tally()
            started = time.monotonic()
            until = started + args.seconds
            threads = [
                threading.Thread(target=_client, args=(url, until, tally), daemon=True)
                for _ in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    jobs = len(tally.total_s)
    print(  # noqa: T201 - a benchmark's report
        f"{args.clients} clients for {elapsed:.0f} s, {args.db or 'SQLite'}, "
        f"workers {args.workers or 'default'}\n"
        f"jobs DONE: {jobs}   errors: {len(tally.errors)}   "
        f"throughput: {jobs / elapsed:.1f} jobs/s\n"
        f"{_describe('submit        ', tally.submit_s)}\n"
        f"{_describe('submit→result ', tally.total_s)}"
    )
    for error in sorted(set(tally.errors))[:10]:
        print(f"  error: {error}")  # noqa: T201


if __name__ == "__main__":
    main()
