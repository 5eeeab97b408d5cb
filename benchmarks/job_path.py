"""Where one small job's time goes: the stages of ``backend.run(...).result()`` on a real
embedded server (uvicorn on loopback, SQLite, the local executor), as medians over jobs.

Each stage is timed by wrapping the function that does it (store, blob store, executor,
submission, client) with ``time.perf_counter``; the timeline marks (claimed, handed over,
executed, recorded) come from the same wrappers. Stages on different threads overlap (the
dispatcher claims a job while the submission's answer is still on its way), so the
timeline, not the sum of stages, adds up to the total.

    python benchmarks/job_path.py [--jobs 40] [--backend ibmq_qasm_simulator] [--circuit ghz5|heavy]

``--circuit heavy`` sends the latency benchmark's 20-qubit statevector circuit (1,000 shots
in that benchmark; pass ``--shots 1000``) instead of GHZ-5.
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from qiskit import transpile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.circuits import ghz, statevector_circuit  # noqa: E402

_spent: dict[str, float] = collections.defaultdict(float)
_marks: dict[str, float] = {}
_lock = threading.Lock()


def _timed(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by a wrapper adding its duration to stage ``label`` (nothing
    when this version of openqx has no such function)."""
    original: Callable[..., Any] | None = getattr(owner, name, None)
    if original is None:
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            with _lock:
                _spent[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def _mark_after(owner: Any, name: str, mark: str) -> None:
    """Record when ``owner.name`` returns (the first time per job)."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        answer = original(*args, **kwargs)
        _marks.setdefault(mark, time.perf_counter())
        return answer

    setattr(owner, name, wrapper)


def _instrument() -> None:
    from qiskit.result import Result

    from openqx.client import http
    from openqx.core import circuit_payload
    from openqx.execution import process
    from openqx.server import submission
    from openqx.server.routes import jobs as job_routes
    from openqx.store import blobs, sql_store

    store = sql_store.SqlJobStore
    for name in ("user_for_token", "create_job", "get_job", "queue_position"):
        _timed(store, name, f"server  store.{name}")
    _timed(store, "finish_job", "dispatch store.finish_job")
    for name in ("claim_next", "claim_batch"):
        if hasattr(store, name):
            _timed(store, name, "dispatch store.claim (fair-share pick, lease)")
            _mark_after(store, name, "claimed")
    _timed(store, "backends_with_queued_jobs", "dispatch store.backends_with_queued_jobs")
    _timed(blobs.LocalBlobStore, "put", "server  blobs.put (payload and result)")
    _timed(blobs.LocalBlobStore, "get", "server  blobs.get (payload and result)")
    try:  # small blobs are database rows (``--inline-blob-kb``)
        inline = importlib.import_module("openqx.store.inline_blobs")
    except ImportError:
        pass
    else:
        _timed(inline.DatabaseBlobStore, "put_many", "server  blobs.put_many (payload, result)")
        _timed(inline.DatabaseBlobStore, "get_many", "server  blobs.get_many (payload, result)")
    _timed(submission, "decode_circuits", "server  submission: QPY decode")
    _timed(submission, "check_circuits", "server  submission: ISA check")
    _timed(submission, "store_job", "server  submission: store (blob, row, wake)")
    _timed(job_routes, "submit_circuits_job", "server  POST /jobs handler (all checks, store)")
    _timed(job_routes, "_read_status", "server  stream: read status")
    _timed(job_routes, "_final_event", "server  stream: final event (record, result)")
    _timed(circuit_payload, "encode_circuits", "client  QPY encode")
    _timed(http.ApiClient, "submit_job", "client  POST /jobs round trip")
    _timed(http.ApiClient, "job", "client  GET /jobs/{id} round trip")
    _timed(http.ApiClient, "job_result", "client  GET /jobs/{id}/result round trip")
    _timed(Result, "from_dict", "client  Result.from_dict")
    _mark_after(sql_store.SqlJobStore, "finish_job", "recorded")

    submit = process.ProcessExecutor.submit

    def handed_over(self: Any, request: Any, started: Any = None) -> Future[Any]:
        _marks.setdefault("handed over", time.perf_counter())
        future: Future[Any] = submit(self, request, started)
        future.add_done_callback(lambda _: _marks.setdefault("executed", time.perf_counter()))
        return future

    process.ProcessExecutor.submit = handed_over  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--backend", default="ibmq_qasm_simulator")
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--circuit", default="ghz5", choices=["ghz5", "heavy"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    _instrument()

    from openqx.client import OpenQX
    from openqx.embedded import EmbeddedServer

    server = EmbeddedServer(executor="local").start()
    try:
        provider = OpenQX.enable_account(server.token, url=server.url)
        backend = provider.get_backend(args.backend)
        chosen = statevector_circuit(20) if args.circuit == "heavy" else ghz(5)
        circuit = transpile(chosen, backend, seed_transpiler=1)
        stages: dict[str, list[float]] = collections.defaultdict(list)
        for index in range(args.jobs + 3):
            _spent.clear()
            _marks.clear()
            start = time.perf_counter()
            job = backend.run(circuit, shots=args.shots)
            _marks["submitted"] = time.perf_counter()
            job.result()
            _marks["result in hand"] = time.perf_counter()
            if index < 3:  # warm-up
                continue
            for label, seconds in _spent.items():
                stages[label].append(seconds)
            previous = start
            for mark in ("submitted", "claimed", "handed over", "executed", "recorded"):
                if mark in _marks:
                    stages[f"timeline → {mark}"].append(_marks[mark] - start)
                    previous = max(previous, _marks[mark])
            stages["timeline → result in hand (total)"].append(_marks["result in hand"] - start)
            stages["timeline   recorded → result in hand"].append(
                _marks["result in hand"] - _marks.get("recorded", previous)
            )
    finally:
        server.stop()
    print(f"{args.backend}, {args.circuit}, {args.shots} shots, {args.jobs} jobs: medians")
    for label in sorted(stages, key=lambda k: (k.startswith("timeline"), k)):
        print(f"  {label:<52}{1000 * statistics.median(stages[label]):8.2f} ms")


if __name__ == "__main__":
    main()
