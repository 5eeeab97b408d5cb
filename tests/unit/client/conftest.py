"""A fake openqx server behind ``httpx.MockTransport``, following ``openqx.core.wire``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from openqx.client import ApiClient, OpenQX
from openqx.client.provider import AccountProvider
from openqx.core import wire
from openqx.core.status import JobStatus

TOKEN = "secret-token"
URL = "http://openqx.test"


def _fake_json(name: str) -> dict[str, Any]:
    folder = resources.files("qiskit_ibm_runtime.fake_provider.backends.manila")
    data: dict[str, Any] = json.loads((folder / name).read_text())
    return data


MANILA_CONF = _fake_json("conf_manila.json")
MANILA_PROPS = _fake_json("props_manila.json")
SIM_CONF: dict[str, Any] = {
    "backend_name": "simulator_statevector",
    "backend_version": "1.0.0",
    "n_qubits": 32,
    "basis_gates": ["u", "cx", "x", "h", "measure"],
    "gates": [],
    "local": False,
    "simulator": True,
    "conditional": True,
    "open_pulse": False,
    "memory": True,
    "max_shots": 100000,
    "max_experiments": 300,
    "coupling_map": None,
}


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "details": {}}})


class FakeServer:
    """In-memory server state plus an ``httpx`` handler."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.submissions: list[dict[str, Any]] = []
        self.queries: list[dict[str, Any]] = []
        self.scopes: list[str | None] = []
        """The ``scope`` parameter of each ``POST /jobs/search`` (None: not sent)."""
        self.jobs: dict[str, dict[str, Any]] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.partial_results: dict[str, dict[str, Any]] = {}
        self.scripts: dict[str, list[dict[str, Any]]] = {}
        self.sse = True
        self.job_limit_reached = False
        self.page_size = 1000
        self.fail_next: list[int] = []
        self.backends = {
            "ibmq_manila": (MANILA_CONF, MANILA_PROPS),
            "simulator_statevector": (SIM_CONF, None),
        }
        self._counter = 0

    # --- helpers for tests -----------------------------------------------------------

    def add_job(self, status: JobStatus = JobStatus.QUEUED, **fields: Any) -> str:
        self._counter += 1
        job_id = fields.pop("id", f"job-{self._counter:05d}")
        created = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=self._counter)
        info = {
            "id": job_id,
            "backend": "ibmq_manila",
            "status": status.value,
            "owner": "alice",
            "instance": "h/g/p",
            "created_at": created.isoformat(),
            "shots": 4000,
        }
        info.update(fields)
        self.jobs[job_id] = wire.JobInfo.model_validate(info).model_dump(mode="json")
        return str(job_id)

    def script(self, job_id: str, *steps: JobStatus | tuple[JobStatus, int]) -> None:
        """Statuses the job goes through, one per status request or SSE event."""
        events = []
        for step in steps:
            status, position = step if isinstance(step, tuple) else (step, None)
            events.append({"id": job_id, "status": status.value, "queue_position": position})
        self.scripts[job_id] = events

    def _advance(self, job_id: str) -> dict[str, Any]:
        script = self.scripts.get(job_id)
        job = self.jobs[job_id]
        if script:
            event = script.pop(0)
            job["status"] = event["status"]
            job["queue_position"] = event["queue_position"]
        return {
            "id": job_id,
            "status": job["status"],
            "queue_position": job.get("queue_position"),
            "error": job.get("error"),
        }

    # --- the handler -----------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next:
            return _error(self.fail_next.pop(0), "internal", "temporarily unavailable")
        path = request.url.path
        if path == "/v1/version":
            return httpx.Response(200, json={"name": "openqx", "version": "0.1.0"})
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "unauthenticated", "Invalid token.")
        method = request.method
        if path == "/v1/account":
            return httpx.Response(
                200, json={"user": "alice", "is_admin": False, "instances": ["h/g/p", "h/g/q"]}
            )
        if path == "/v1/backends":
            return httpx.Response(200, json=[self._summary(n) for n in self.backends])
        match = re.fullmatch(r"/v1/backends/([^/]+)(?:/(\w+))?", path)
        if match:
            return self._backend(match.group(1), match.group(2), request)
        if path == "/v1/jobs" and method == "POST":
            return self._submit(json.loads(request.content))
        if path == "/v1/jobs/search":
            return self._search(json.loads(request.content), request.url.params.get("scope"))
        match = re.fullmatch(r"/v1/jobs/([^/]+)(?:/(\w+))?", path)
        if match:
            job_id, what = match.groups()
            if job_id not in self.jobs:
                return _error(404, "job_not_found", f"Job {job_id} not found.")
            return self._job(job_id, what, request)
        return _error(404, "not_found", f"No route {method} {path}")

    def _summary(self, name: str) -> dict[str, Any]:
        conf, _ = self.backends[name]
        return {
            "name": name,
            "simulator": conf["simulator"],
            "num_qubits": conf["n_qubits"],
            "operational": True,
            "status_msg": "active",
            "pending_jobs": 3 if conf["simulator"] else 7,
            "backend_version": conf["backend_version"],
            "basis_gates": conf["basis_gates"],
            "max_shots": conf["max_shots"],
            "max_experiments": conf["max_experiments"],
        }

    def _backend(self, name: str, what: str | None, request: httpx.Request) -> httpx.Response:
        if name not in self.backends:
            return _error(404, "backend_not_found", f"Backend {name!r} not found.")
        conf, props = self.backends[name]
        if what is None:
            return httpx.Response(200, json=self._summary(name))
        if what == "configuration":
            return httpx.Response(200, json=conf)
        if what == "properties":
            return httpx.Response(200, json=props)
        if what == "status":
            summary = self._summary(name)
            return httpx.Response(
                200,
                json={
                    "backend_name": name,
                    "backend_version": summary["backend_version"],
                    "operational": True,
                    "pending_jobs": summary["pending_jobs"],
                    "status_msg": "active",
                },
            )
        if what == "job_limit":
            return httpx.Response(200, json={"maximum_jobs": 5, "active_jobs": 2})
        if what == "reservations":
            return httpx.Response(200, json=[])
        return _error(404, "not_found", "no such backend resource")

    def _submit(self, body: dict[str, Any]) -> httpx.Response:
        submission = wire.JobSubmission.model_validate(body)
        self.submissions.append(body)
        if submission.backend not in self.backends:
            return _error(404, "backend_not_found", f"Backend {submission.backend!r} not found.")
        if self.job_limit_reached:
            return _error(429, "job_limit_reached", "Maximum number of active jobs reached.")
        job_id = self.add_job(
            JobStatus.QUEUED,
            backend=submission.backend,
            name=submission.name,
            tags=submission.tags,
            share_level=submission.share_level or "none",
            experiment_id=submission.experiment_id,
            shots=submission.shots,
            memory=submission.memory,
            header=submission.header,
            options=submission.options,
            client_info=submission.client_info,
            live_data_enabled=submission.live_data_enabled,
            queue_position=1,
        )
        self.jobs[job_id]["_qpy"] = submission.qpy
        return httpx.Response(201, json=self._public(job_id))

    def _public(self, job_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.jobs[job_id].items() if not k.startswith("_")}

    def _search(self, body: dict[str, Any], scope: str | None) -> httpx.Response:
        query = wire.JobQuery.model_validate(body)
        self.queries.append(body)
        self.scopes.append(scope)
        jobs = list(self.jobs)
        # Like the real server: ``own`` (no parameter) lists alice's jobs, ``shared`` the
        # others' (all readable here), ``all`` both.
        if scope is None or scope == "own":
            jobs = [j for j in jobs if self.jobs[j]["owner"] == "alice"]
        elif scope == "shared":
            jobs = [j for j in jobs if self.jobs[j]["owner"] != "alice"]
        elif scope != "all":
            return _error(400, "invalid_filter", f"Unknown listing scope {scope!r}.")
        if query.backend:
            jobs = [j for j in jobs if self.jobs[j]["backend"] == query.backend]
        if query.kind:
            jobs = [j for j in jobs if self.jobs[j]["kind"] == query.kind]
        if query.program_id:
            jobs = [j for j in jobs if self.jobs[j]["program_id"] == query.program_id]
        if query.status:
            wanted = {s.value for s in query.status}
            jobs = [j for j in jobs if self.jobs[j]["status"] in wanted]
        if query.tags:
            tags = set(query.tags)
            if query.tags_operator == "AND":
                jobs = [j for j in jobs if tags <= set(self.jobs[j]["tags"])]
            else:
                jobs = [j for j in jobs if tags & set(self.jobs[j]["tags"])]
        if query.descending:
            jobs.reverse()
        # Like the real server, ``skip`` applies after the cursor.
        start = (int(query.cursor) if query.cursor else 0) + query.skip
        size = min(query.limit or self.page_size, self.page_size)
        page = jobs[start : start + size]
        next_cursor = str(start + size) if start + size < len(jobs) else None
        return httpx.Response(
            200, json={"jobs": [self._public(j) for j in page], "next_cursor": next_cursor}
        )

    def _job(self, job_id: str, what: str | None, request: httpx.Request) -> httpx.Response:
        job = self.jobs[job_id]
        if what is None and request.method == "GET":
            return httpx.Response(200, json=self._public(job_id))
        if what is None and request.method == "PATCH":
            update = wire.JobUpdate.model_validate(json.loads(request.content))
            if update.name is not None:
                job["name"] = update.name
            if update.tags is not None:
                job["tags"] = update.tags
            return httpx.Response(200, json=self._public(job_id))
        if what == "status":
            return httpx.Response(200, json=self._advance(job_id))
        if what == "events":
            if not self.sse:
                return _error(404, "not_found", "no event stream")
            lines = []
            while True:
                event = self._advance(job_id)
                lines.append(f"event: status\ndata: {json.dumps(event)}\n\n")
                if JobStatus(event["status"]).is_final or not self.scripts.get(job_id):
                    break
            return httpx.Response(
                200, content="".join(lines).encode(), headers={"content-type": "text/event-stream"}
            )
        if what == "result":
            partial = request.url.params.get("partial") == "true"
            if partial and job_id in self.partial_results:
                return httpx.Response(200, json=self.partial_results[job_id])
            if job_id in self.results:
                return httpx.Response(200, json=self.results[job_id])
            return _error(409, "result_not_available", "No result.")
        if what == "circuits":
            return httpx.Response(200, json={"qpy": job["_qpy"]})
        if what == "properties":
            return httpx.Response(200, json=MANILA_PROPS)
        if what == "queue_info":
            return httpx.Response(
                200,
                json={"job_id": job_id, "position": job.get("queue_position"), "status": "QUEUED"},
            )
        if what == "cancel":
            if JobStatus(job["status"]).is_final:
                return _error(409, "invalid_state", "Job is already final.")
            job["status"] = "CANCELLED"
            return httpx.Response(200, json={"cancelled": True, "status": "CANCELLED"})
        return _error(404, "not_found", "no such job resource")


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def transport(server: FakeServer) -> httpx.MockTransport:
    return httpx.MockTransport(server.handler)


@pytest.fixture
def api(transport: httpx.MockTransport) -> Iterator[ApiClient]:
    client = ApiClient(URL, TOKEN, transport=transport, backoff_factor=0)
    yield client
    client.close()


@pytest.fixture
def provider(api: ApiClient) -> AccountProvider:
    return AccountProvider(api, "h/g/p")


@pytest.fixture(autouse=True)
def _isolated_accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    OpenQX._provider = None
    yield
    OpenQX._provider = None


@pytest.fixture
def creds() -> tuple[str, str]:
    """``(token, url)`` the fake server accepts."""
    return TOKEN, URL
