"""An openqx service assembled in-process from in-memory parts, and a client for it.

``open_harness`` builds a ``Service`` on ``MemoryJobStore``, ``MemoryBlobStore``, the default
device catalog and an executor (``InlineExecutor`` unless given one), wraps it in
``create_app`` and starts it through starlette's ``TestClient`` (which runs the lifespan).
``HeldExecutor`` is a fake of the ``JobExecutor`` port whose jobs end only when the test says
so, for the states a fast executor would race past (RUNNING, QUEUED behind it, job limits).
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import queue
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit, qpy
from starlette.exceptions import StarletteDeprecationWarning

from openqx.client.account import OpenQX
from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider
from openqx.core import wire
from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.devices.simulators import SIMULATOR_SPECS
from openqx.execution import runner
from openqx.execution.inline import InlineExecutor
from openqx.execution.port import ExecutionError, ExecutionRequest, JobExecutor, Started
from openqx.server import status_stream
from openqx.server.app import create_app
from openqx.server.service import Service
from openqx.server.settings import Settings
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.sql_store import SqlJobStore

with warnings.catch_warnings():
    # starlette 1.x prefers the httpx2 fork; the client speaks httpx, and with httpx the
    # TestClient's transport is one ApiClient can take, so keep httpx and skip the notice.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

__all__ = [
    "ADMIN_TOKEN",
    "BASE_URL",
    "Harness",
    "HeldExecutor",
    "bell",
    "open_harness",
    "qpy_b64",
    "small_catalog",
]

ADMIN_TOKEN = "admin-token-for-tests"
BASE_URL = "http://testserver"
MAX_PAYLOAD_BYTES = 256 * 1024
WAIT_SECONDS = 30.0
"""Upper bound on any wait for the dispatcher; tests finish far sooner."""

_names = itertools.count(1)


@functools.cache
def small_catalog() -> DeviceCatalog:
    """The ideal simulators and one small emulated device (``fake_manila``), built by the
    default catalog's loaders: listing backends then loads five qubits, not the 156-qubit
    devices."""
    full = default_catalog()
    catalog = DeviceCatalog()
    for name in [spec.name for spec in SIMULATOR_SPECS] + ["fake_manila"]:
        catalog.add_lazy(name, functools.partial(full.get, name))
    return catalog


def qpy_b64(*circuits: QuantumCircuit) -> str:
    """Circuits as the base64 QPY a submission carries."""
    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer)
    return wire.b64encode(buffer.getvalue())


def bell(name: str = "bell") -> QuantumCircuit:
    """A measured Bell pair in gates every backend of the catalog runs (fake_manila included:
    x, sx, rz, cx on coupled qubits 0-1)."""
    circuit = QuantumCircuit(2, name=name)
    circuit.sx(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def running_status_sent(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set once a status stream has sent a RUNNING status (``status_stream.sse``
    observed): a test that ends a job only then is sure its stream saw it run."""
    sent = threading.Event()
    sse = status_stream.sse

    def sending(event: str, data: str) -> str:
        if event == "status" and '"RUNNING"' in data:
            sent.set()
        return sse(event, data)

    monkeypatch.setattr(status_stream, "sse", sending)
    return sent


class HeldExecutor:
    """A ``JobExecutor`` whose jobs run only when the test calls ``finish`` (real runner) or
    ``fail``; ``next_job`` waits until the dispatcher hands one over."""

    def __init__(self, catalog: DeviceCatalog) -> None:
        self._catalog = catalog
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[ExecutionRequest, Future[dict[str, Any]]]] = {}
        self._submitted: queue.Queue[str] = queue.Queue()
        self._dropped: set[str] = set()
        """Jobs cancelled before ``next_job`` returned them."""
        self.closed = threading.Event()

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        """Hold ``request`` (begun at once); its future stays pending."""
        if started is not None:
            started()
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            self._jobs[request.job_id] = (request, future)
        self._submitted.put(request.job_id)
        return future

    def cancel(self, job_id: str) -> bool:
        """Cancel a held job's future."""
        with self._lock:
            held = self._jobs.pop(job_id, None)
            if held is not None:
                self._dropped.add(job_id)
        return held[1].cancel() if held else False

    def close(self) -> None:
        """Cancel every held job."""
        with self._lock:
            held, self._jobs = list(self._jobs.values()), {}
        for _request, future in held:
            future.cancel()
        self.closed.set()

    def next_job(self) -> str:
        """The id of the next job the dispatcher submits and does not cancel at once (waits
        for it): a job started early and dropped, its claim not taking it (a device in
        maintenance), was never the job's run."""
        while True:
            job_id = self._submitted.get(timeout=WAIT_SECONDS)
            with self._lock:
                if job_id not in self._dropped:
                    return job_id
                self._dropped.discard(job_id)

    def finish(self, job_id: str) -> None:
        """Run the held job with the real runner on this thread and complete its future."""
        request, future = self._take(job_id)
        future.set_result(runner.run_request(request, self._catalog))

    def complete(self, job_id: str, result: dict[str, Any]) -> None:
        """Complete the held job's future with ``result`` as the executor's answer."""
        _request, future = self._take(job_id)
        future.set_result(result)

    def fail(self, job_id: str, message: str, code: str = "execution_failed") -> None:
        """End the held job with an ``ExecutionError``."""
        _request, future = self._take(job_id)
        future.set_exception(ExecutionError(message, code))

    def _take(self, job_id: str) -> tuple[ExecutionRequest, Future[dict[str, Any]]]:
        with self._lock:
            return self._jobs.pop(job_id)


@dataclass
class Harness:
    """A running in-process service and an admin-authenticated ``TestClient`` for it."""

    service: Service
    client: TestClient
    store: SqlJobStore
    blobs: MemoryBlobStore

    def headers(self, token: str = ADMIN_TOKEN) -> dict[str, str]:
        """The ``Authorization`` header for ``token``."""
        return {"Authorization": f"Bearer {token}"}

    def new_user(self, *, is_admin: bool = False, instances: tuple[str, ...] = ()) -> str:
        """Create a user with a unique name; return its token."""
        name = f"user{next(_names)}"
        token = f"token-of-{name}"
        self.store.create_user(name, token, is_admin=is_admin, instances=instances)
        return token

    def api(self, token: str = ADMIN_TOKEN) -> ApiClient:
        """The real ``ApiClient``, speaking to this app through the TestClient's transport."""
        transport: httpx.BaseTransport = self.client._transport  # the in-process ASGI bridge
        return ApiClient(BASE_URL, token, transport=transport, retries=0)

    def provider(self) -> AccountProvider:
        """``OpenQX.enable_account`` for a new user, speaking to this app in-process (the
        active account: callers reset ``OpenQX._provider`` and the config folder)."""
        transport: httpx.BaseTransport = self.client._transport
        return OpenQX.enable_account(self.new_user(), BASE_URL, transport=transport, retries=0)

    def submit(
        self,
        token: str = ADMIN_TOKEN,
        *,
        backend: str = "ibmq_qasm_simulator",
        circuits: tuple[QuantumCircuit, ...] = (),
        **fields: Any,
    ) -> dict[str, Any]:
        """``POST /jobs`` (a Bell pair unless ``circuits``); asserts 201, returns the JobInfo."""
        body = {"backend": backend, "qpy": qpy_b64(*(circuits or (bell(),))), **fields}
        answer = self.client.post("/v1/jobs", json=body, headers=self.headers(token))
        assert answer.status_code == 201, answer.text
        info: dict[str, Any] = answer.json()
        return info

    def events(self, job_id: str, token: str = ADMIN_TOKEN) -> list[dict[str, Any]]:
        """Every ``status`` event of ``GET /jobs/{id}/events``; the stream ends when the job
        reaches a final status, so this is also how tests wait for a job."""
        answer = self.client.get(f"/v1/jobs/{job_id}/events", headers=self.headers(token))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/event-stream")
        events: list[dict[str, Any]] = []
        kind = ""
        for line in answer.text.splitlines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "status":
                events.append(json.loads(line.removeprefix("data: ")))
        return events

    def wait_final(self, job_id: str, token: str = ADMIN_TOKEN) -> str:
        """Wait (on the event stream) until the job is final; return its status."""
        status: str = self.events(job_id, token)[-1]["status"]
        return status


@contextmanager
def open_harness(
    *,
    executor: JobExecutor | None = None,
    catalog: DeviceCatalog | None = None,
    clock: Clock = SYSTEM_CLOCK,
    stop_timeout: float = 0.0,
    store: SqlJobStore | None = None,
    **settings: Any,
) -> Iterator[Harness]:
    """Start a service on in-memory parts; close it (and the store) on exit.

    Args:
        executor: default ``InlineExecutor(1)``.
        catalog: default: ``small_catalog()``.
        clock: the service's (and the store's) clock.
        stop_timeout: what closing gives running jobs (none: a held job is handed back).
        store: default: a new ``MemoryJobStore`` (closed on exit); a given store (e.g.
            ``SqlJobStore`` on SQLite or PostgreSQL) stays open.
        settings: ``Settings`` fields (defaults: 1 worker, ``ADMIN_TOKEN``, a 256 KiB body
            limit).
    """
    catalog = catalog or small_catalog()
    config = Settings(
        **{
            "workers": 1,
            "admin_token": ADMIN_TOKEN,
            "max_payload_bytes": MAX_PAYLOAD_BYTES,
            **settings,
        }
    )
    on_close: list[Callable[[], None]] = []
    if store is None:
        store = MemoryJobStore(clock=clock)
        on_close.append(store.close)
    blobs = MemoryBlobStore()
    service = Service(
        store=store,
        blobs=blobs,
        executor=executor or InlineExecutor(1, catalog),
        catalog=catalog,
        settings=config,
        clock=clock,
        on_close=on_close,
        stop_timeout=stop_timeout,
    )
    with TestClient(create_app(service), base_url=BASE_URL) as client:
        yield Harness(service=service, client=client, store=store, blobs=blobs)
