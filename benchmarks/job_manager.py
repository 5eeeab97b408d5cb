"""Many small circuits: the job manager vs one ``backend.run`` per circuit vs direct Aer.

All on an embedded server (uvicorn on loopback, SQLite, the local executor with one worker
process) and the ideal ``simulator_statevector``; each circuit is a 3-qubit basis-state
preparation, 100 shots.

    PYTHONPATH=. python benchmarks/job_manager.py [--circuits 1000] [--shots 100]
"""

from __future__ import annotations

import argparse
import time

from qiskit import QuantumCircuit, transpile

from openqx.client import exceptions as exc
from openqx.client.backend import OpenQXBackend


def circuits(count: int) -> list[QuantumCircuit]:
    out = []
    for i in range(count):
        qc = QuantumCircuit(3, name=f"c{i}")
        for bit in range(3):
            if (i >> bit) & 1:
                qc.x(bit)
        qc.measure_all()
        out.append(qc)
    return out


def one_job_per_circuit(
    backend: OpenQXBackend, isa: list[QuantumCircuit], shots: int
) -> list[dict[str, int]]:
    """Submit every circuit as its own job (waiting on the job limit), then collect."""
    jobs = []
    for circuit in isa:
        while True:
            try:
                jobs.append(backend.run(circuit, shots=shots))
                break
            except exc.OpenQXBackendJobLimitError:
                pending = [job for job in jobs if not job.in_final_state()]
                if pending:
                    pending[0].wait_for_final_state(timeout=300)
                else:
                    time.sleep(0.05)
    return [job.result(timeout=600).get_counts(0) for job in jobs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--circuits", type=int, default=1000)
    parser.add_argument("--shots", type=int, default=100)
    args = parser.parse_args()

    from qiskit_aer import AerSimulator

    from openqx.client import JobManager, OpenQX
    from openqx.embedded import EmbeddedServer

    server = EmbeddedServer(executor="local", workers=1).start()
    provider = OpenQX.enable_account(server.token, url=server.url)
    backend = provider.get_backend("simulator_statevector")
    isa = transpile(circuits(args.circuits), backend)
    aer = AerSimulator()
    aer_isa = transpile(circuits(args.circuits), aer)
    backend.run(isa[0], shots=args.shots).result(timeout=120)  # warm the worker
    aer.run(aer_isa[0], shots=args.shots).result()

    start = time.perf_counter()
    aer.run(aer_isa, shots=args.shots).result()
    direct = time.perf_counter() - start

    manager = JobManager(progress=False)
    start = time.perf_counter()
    job_set = manager.run(isa, backend, name="bench", shots=args.shots)
    results = job_set.results(timeout=1200)
    managed = time.perf_counter() - start
    assert results.success
    manager.close()

    start = time.perf_counter()
    one_job_per_circuit(backend, isa, args.shots)
    per_circuit = time.perf_counter() - start

    jobs = len(job_set.managed_jobs())
    print(
        f"{args.circuits} circuits x {args.shots} shots on simulator_statevector "
        f"(max_experiments {backend.max_circuits}: the job manager made {jobs} job(s))"
    )
    print(f"direct Aer (one run)        : {direct:8.2f} s   1.0x")
    print(f"job manager                 : {managed:8.2f} s   {managed / direct:8.1f}x direct")
    print(
        f"one backend.run per circuit : {per_circuit:8.2f} s   {per_circuit / direct:8.1f}x "
        f"direct, {per_circuit / managed:.1f}x the job manager"
    )
    server.stop()


if __name__ == "__main__":
    main()
