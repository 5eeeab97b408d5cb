"""What one ``POST /v1/jobs`` costs the server: small ``fake_manila`` GHZ-3 jobs submitted
one after another to an in-process service (the tests' harness: the real app through
starlette's ``TestClient``, ``SqlJobStore`` on a SQLite file, an executor that holds every job,
so the queue grows as when many jobs are submitted at once). Prints the median and mean
milliseconds per submission; ``--profile`` adds the cProfile of the handler's work, run in
this thread as the route runs it (authentication, body model, validation, store, answer) so
that the profile sees it (the app's own threads are out of cProfile's sight), the top
``--top`` rows by cumulative time.

    python benchmarks/submit_profile.py [--jobs 500] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qiskit import QuantumCircuit, transpile
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openqx.core.wire import JobSubmission  # noqa: E402
from openqx.server import permissions  # noqa: E402
from openqx.server.service import Service  # noqa: E402
from openqx.server.submission import submit_circuits_job  # noqa: E402
from openqx.server.views import job_info  # noqa: E402
from openqx.store.database import Database  # noqa: E402
from openqx.store.sql_store import SqlJobStore  # noqa: E402
from tests.unit.server.harness import (  # noqa: E402
    HeldExecutor,
    open_harness,
    qpy_b64,
    small_catalog,
)


def ghz3() -> QuantumCircuit:
    """GHZ-3 transpiled for fake_manila (what a client sends)."""
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    return transpile(circuit, FakeManilaV2(), seed_transpiler=1)


def handle(service: Service, token: str, raw: bytes) -> str:
    """What ``POST /v1/jobs`` does with a request, minus the ASGI plumbing."""
    user = service.store.user_for_token(token)
    instance = permissions.request_instance(user, None)
    body = JobSubmission.model_validate_json(raw)
    record = submit_circuits_job(service, user, body, instance=instance)
    return job_info(record, queue_position=service.store.queue_position(record)).model_dump_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    body = {"backend": "fake_manila", "qpy": qpy_b64(ghz3()), "shots": 100}
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'openqx.db'}").open()
        database.upgrade()
        store = SqlJobStore(database)
        try:
            with open_harness(
                executor=HeldExecutor(small_catalog()),
                store=store,
                job_limits={"fake_manila": 1_000_000},
            ) as harness:
                token = harness.new_user()
                headers = harness.headers(token)
                for _ in range(5):  # warm up: catalog, imports
                    harness.client.post("/v1/jobs", json=body, headers=headers).raise_for_status()
                times: list[float] = []
                for _ in range(args.jobs):
                    start = time.perf_counter()
                    answer = harness.client.post("/v1/jobs", json=body, headers=headers)
                    times.append(time.perf_counter() - start)
                    answer.raise_for_status()
                profile = cProfile.Profile() if args.profile else None
                if profile is not None:
                    service = harness.service
                    profile.enable()
                    for _ in range(args.jobs):
                        handle(service, token, json.dumps(body).encode())
                    profile.disable()
        finally:
            database.close()
    print(
        f"{args.jobs} submissions: median {statistics.median(times) * 1e3:.2f} ms, "
        f"mean {statistics.mean(times) * 1e3:.2f} ms"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
