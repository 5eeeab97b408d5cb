"""Scale-out: a simulation-bound batch of jobs through ``DaskExecutor`` on a
``distributed.LocalCluster`` with 1 and then 2 worker processes (one thread each); prints the
wall time of each and the speed-up, with the load average of the machine beside them.

Each configuration is measured ``--rounds`` times, alternating 1 and 2 workers (a machine
shared with other work weighs on both alike); the median is reported. Workers are warmed up
first (their job processes started, Aer loaded) and run with ``OMP_NUM_THREADS=1`` and the
configuration ``docs/scaling.md`` asks for (``dask.WORKER_CONFIG``: no profiler).

    .venv/bin/python benchmarks/scaleout.py --jobs 12 --qubits 16 --layers 40
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from typing import Any

from qiskit import QuantumCircuit, qpy

from openqx.execution import dask_worker
from openqx.execution.dask import WORKER_CONFIG, DaskExecutor
from openqx.execution.port import ExecutionRequest


def _circuit(qubits: int, layers: int) -> QuantumCircuit:
    circuit = QuantumCircuit(qubits, name="bench")
    for layer in range(layers):
        for qubit in range(qubits):
            circuit.rx(0.1 * (layer + qubit + 1), qubit)
        for qubit in range(layer % 2, qubits - 1, 2):
            circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def _payload(circuit: QuantumCircuit) -> bytes:
    buffer = io.BytesIO()
    qpy.dump([circuit], buffer)
    return buffer.getvalue()


def _request(job_id: str, payload: bytes, shots: int) -> ExecutionRequest:
    return ExecutionRequest(
        job_id=job_id,
        kind="circuits",
        backend="simulator_statevector",
        snapshot_id=None,
        payload=payload,
        shots=shots,
        options={"seed_simulator": 1},
    )


def _batch(executor: DaskExecutor, circuit: QuantumCircuit, jobs: int, tag: str) -> float:
    """Submit ``jobs`` jobs at once and wait for all; return the wall time in seconds. The
    circuit is encoded once, before the clock starts, as a server holds its jobs' payloads
    as sent (encoding it per job took this process 6 ms a job of the cores the workers
    share)."""
    payload = _payload(circuit)
    start = time.perf_counter()
    futures = [executor.submit(_request(f"{tag}-{i}", payload, 100)) for i in range(jobs)]
    for future in futures:
        future.result()
    return time.perf_counter() - start


def _cluster(workers: int) -> Any:
    """A local cluster of ``workers`` one-thread worker processes configured as
    ``docs/scaling.md`` asks (``dask.WORKER_CONFIG``)."""
    import dask
    import distributed

    local_cluster: Any = distributed.LocalCluster  # untyped in distributed
    with dask.config.set(WORKER_CONFIG):  # the worker processes take it with them
        return local_cluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"OMP_NUM_THREADS": "1"},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--qubits", type=int, default=16)
    parser.add_argument("--layers", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    circuit = _circuit(args.qubits, args.layers)
    tiny = _circuit(2, 1)
    clusters = {n: _cluster(n) for n in (1, 2)}
    executors = {n: DaskExecutor(client=_client(c)) for n, c in clusters.items()}
    try:
        for n, executor in executors.items():
            executor.client.run(dask_worker.prestart)
            _batch(executor, tiny, 2 * n, f"warm{n}")
        times: dict[int, list[float]] = {1: [], 2: []}
        loads: list[float] = []
        for r in range(args.rounds):
            for n, executor in executors.items():
                loads.append(os.getloadavg()[0])
                times[n].append(_batch(executor, circuit, args.jobs, f"r{r}w{n}"))
        one, two = statistics.median(times[1]), statistics.median(times[2])
        print(
            f"{args.jobs} jobs x ({args.qubits} qubits, {args.layers} layers, 100 shots), "
            f"statevector, {args.rounds} rounds, cpu_count {os.cpu_count()}"
        )
        print(f"1 worker  : median {one:7.2f} s   rounds {_fmt(times[1])}")
        print(f"2 workers : median {two:7.2f} s   rounds {_fmt(times[2])}")
        print(f"speed-up  : {one / two:.2f}x")
        print(f"load average (1 min) at each batch start: {_fmt(loads)}")
    finally:
        for executor in executors.values():
            executor.close()
        for cluster, client in ((c, executors[n].client) for n, c in clusters.items()):
            client.close()
            cluster.close()


def _client(cluster: Any) -> Any:
    import distributed

    client: Any = distributed.Client  # untyped in distributed
    return client(cluster)


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
